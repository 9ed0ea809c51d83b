package session_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/sessiontest"
)

// Issue 21: an application's tests get a logged-in request without a login
// route. The session is a real one: the user index lists it and a
// revocation ends it.
func TestLoginCookieHelper(t *testing.T) {
	e := newEnv(t)
	c := sessiontest.LoginCookie(t, e.m, "alice", map[string]any{"cart": "3"})
	if got := body(e.do("/whoami", c.Value)); got != "alice" {
		t.Fatalf("whoami with the helper's cookie: %q", got)
	}
	if got := body(e.do("/get?k=cart", c.Value)); got != "true:3" {
		t.Fatalf("cart: %q", got)
	}
	list, err := e.m.UserSessions(context.Background(), "alice")
	if err != nil || len(list) != 1 {
		t.Fatalf("the helper's session in the user index: %v %v", list, err)
	}
	if _, err := e.m.RevokeUser(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	if got := body(e.do("/whoami", c.Value)); got != "" {
		t.Fatalf("the helper's session after a revocation: %q", got)
	}
	anon := sessiontest.LoginCookie(t, e.m, "", map[string]any{"theme": "dark"})
	if got := body(e.do("/whoami", anon.Value)); got != "" {
		t.Fatalf("an anonymous helper session has a user: %q", got)
	}
}

// LoggedInRequest carries the session the way the manager reads it: a
// cookie, the Authorization header, or a header of the application's.
func TestLoggedInRequestEveryTransport(t *testing.T) {
	st := memstore.New()
	defer st.Stop()
	for name, opts := range map[string][]session.Option{
		"cookie":        nil,
		"authorization": {session.WithHeaderToken("")},
		"own header":    {session.WithHeaderToken("X-Session")},
	} {
		m, err := session.New(st, opts...)
		if err != nil {
			t.Fatal(err)
		}
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.FromContext(r.Context())
			user, _ := s.UserID()
			theme := session.GetOr(s, "theme", "")
			io.WriteString(w, user+" "+theme)
		}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, sessiontest.LoggedInRequest(t, m, "GET", "https://example.com/", "alice", map[string]any{"theme": "dark"}))
		if got := w.Body.String(); got != "alice dark" {
			t.Errorf("%s: the handler saw %q", name, got)
		}
	}
}
