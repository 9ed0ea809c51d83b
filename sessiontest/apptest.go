package sessiontest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionkit/session"
)

// LoginCookie returns the cookie of a new session of m logged in as userID
// (anonymous when userID is empty) and holding values, each stored as
// Session.Set stores it: Django's force_login for an application's tests,
// without a login route or a password. The session is real: it is made by
// m's own middleware and Login, so it lives in m's store with m's token
// format, deadlines and user index, and the application's handlers, "your
// devices" lists and revocations see it like any other. values may be nil.
func LoginCookie(tb testing.TB, m *session.Manager, userID string, values map[string]any) *http.Cookie {
	tb.Helper()
	var failed error
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if userID != "" {
			if err := m.Login(r.Context(), userID); err != nil {
				failed = err
				return
			}
		}
		s := m.FromContext(r.Context())
		for k, v := range values {
			if err := s.Set(k, v); err != nil {
				failed = err
				return
			}
		}
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "https://example.com/sessiontest-login", nil))
	if failed != nil {
		tb.Fatalf("sessiontest.LoginCookie(%q): %v", userID, failed)
	}
	if w.Code != http.StatusOK {
		tb.Fatalf("sessiontest.LoginCookie(%q): the manager answered %d: %s", userID, w.Code, w.Body.String())
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == m.CookieName() && c.MaxAge >= 0 && c.Value != "" {
			return c
		}
	}
	tb.Fatalf("sessiontest.LoginCookie(%q): no session cookie was set (no user and no values?)", userID)
	return nil
}

// LoggedInRequest returns a request (as httptest.NewRequest makes it)
// carrying the cookie of a new session of m logged in as userID and
// holding values (see LoginCookie), ready for the application's handler.
func LoggedInRequest(tb testing.TB, m *session.Manager, method, target, userID string, values map[string]any) *http.Request {
	tb.Helper()
	r := httptest.NewRequest(method, target, nil)
	r.AddCookie(LoginCookie(tb, m, userID, values))
	return r
}
