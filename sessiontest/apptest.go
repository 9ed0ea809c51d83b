package sessiontest

import (
	"context"
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
	w := login(tb, m, userID, values)
	for _, c := range w.Result().Cookies() {
		if c.Name == m.CookieName() && c.MaxAge >= 0 && c.Value != "" {
			return c
		}
	}
	tb.Fatalf("sessiontest.LoginCookie(%q): no session cookie was set (a header-token manager? use LoginToken)", userID)
	return nil
}

// Logout ends the session token names as a logout elsewhere does, outside
// a request (Manager.Lookup, Destroy, Save), failing tb when it cannot.
func Logout(tb testing.TB, m *session.Manager, token string) {
	tb.Helper()
	s, err := m.Lookup(context.Background(), token)
	if err != nil {
		tb.Fatalf("sessiontest.Logout: %v", err)
	}
	if err := m.Destroy(s.Context()); err != nil {
		tb.Fatalf("sessiontest.Logout: %v", err)
	}
	if _, err := m.Save(s); err != nil {
		tb.Fatalf("sessiontest.Logout: %v", err)
	}
}

// Set sets key to value in the session token names as a request
// elsewhere does, outside a request (Manager.Lookup, Session.Set, Save),
// failing tb when it cannot.
func Set(tb testing.TB, m *session.Manager, token, key string, value any) {
	tb.Helper()
	s, err := m.Lookup(context.Background(), token)
	if err != nil {
		tb.Fatalf("sessiontest.Set: %v", err)
	}
	if err := s.Set(key, value); err != nil {
		tb.Fatalf("sessiontest.Set: %v", err)
	}
	if _, err := m.Save(s); err != nil {
		tb.Fatalf("sessiontest.Set: %v", err)
	}
}

// LoginToken is LoginCookie for any manager: it returns the session's
// token, the cookie's value or, for a header-token manager
// (session.WithHeaderToken), the bearer token.
func LoginToken(tb testing.TB, m *session.Manager, userID string, values map[string]any) string {
	tb.Helper()
	w := login(tb, m, userID, values)
	if tok := w.Header().Get(session.SessionTokenHeader); tok != "" {
		return tok
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == m.CookieName() && c.MaxAge >= 0 && c.Value != "" {
			return c.Value
		}
	}
	tb.Fatalf("sessiontest.LoginToken(%q): no token was issued (no user and no values?)", userID)
	return ""
}

// login makes the session of LoginCookie and LoginToken and returns the
// response that carried its token.
func login(tb testing.TB, m *session.Manager, userID string, values map[string]any) *httptest.ResponseRecorder {
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
	return w
}

// LoggedInRequest returns a request (as httptest.NewRequest makes it)
// carrying the token (cookie, or header for a header-token manager) of a
// new session of m logged in as userID and
// holding values (see LoginCookie), ready for the application's handler.
func LoggedInRequest(tb testing.TB, m *session.Manager, method, target, userID string, values map[string]any) *http.Request {
	tb.Helper()
	r := httptest.NewRequest(method, target, nil)
	tok := LoginToken(tb, m, userID, values)
	switch h := m.TokenHeader(); h {
	case "":
		r.AddCookie(&http.Cookie{Name: m.CookieName(), Value: tok})
	case "Authorization":
		r.Header.Set(h, "Bearer "+tok)
	default:
		r.Header.Set(h, tok)
	}
	return r
}
