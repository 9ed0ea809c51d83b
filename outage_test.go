package session_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionkit/session"
)

// Issue 20, gap 6: an error the handler was given is the handler's to
// handle. A page that tolerates a store outage (GetOr, or Get and Set
// whose error it checks) is sent as it answered, and nothing is saved over
// the error; errors the handler never saw (a failed save at commit, a
// failed logout) still replace its response with the error handler's.
func TestHandlerToleratesStoreOutage(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/login?u=alice", ""))
	m := e.m
	tolerant := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		switch r.URL.Path {
		case "/page": // read path: render with defaults
			io.WriteString(w, "theme="+session.GetOr(s, "theme", "light"))
		case "/save": // write path: the handler checks the error
			if err := s.Set("theme", "dark"); err != nil {
				w.WriteHeader(http.StatusAccepted)
				io.WriteString(w, "preferences are not available right now")
				return
			}
			io.WriteString(w, "saved")
		case "/logout": // a failed logout must never look done
			m.Destroy(r.Context())
			io.WriteString(w, "logged out")
		case "/logout-page": // not even when the page then reads the session
			m.Destroy(r.Context())
			io.WriteString(w, "logged out; theme="+session.GetOr(s, "theme", "light"))
		case "/revoke-others":
			m.RevokeOtherSessions(r.Context())
			session.GetOr(s, "theme", "light")
			io.WriteString(w, "other devices logged out")
		case "/login":
			m.Login(r.Context(), "alice")
			session.GetOr(s, "theme", "light")
			io.WriteString(w, "welcome")
		case "/renew":
			m.Renew(r.Context())
			io.WriteString(w, "renewed")
		}
	}))
	do := func(path string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "http://example.test"+path, nil)
		r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: tok})
		w := httptest.NewRecorder()
		tolerant.ServeHTTP(w, r)
		return w
	}
	e.store.setFail("load", errBoom)
	e.store.reset()
	if w := do("/page"); w.Code != http.StatusOK || body(w) != "theme=light" || len(w.Result().Cookies()) != 0 {
		t.Fatalf("a page rendered without the session: %d %q %v", w.Code, body(w), w.Result().Cookies())
	}
	if w := do("/save"); w.Code != http.StatusAccepted || body(w) != "preferences are not available right now" || len(w.Result().Cookies()) != 0 {
		t.Fatalf("a write whose error the handler answered: %d %q %v", w.Code, body(w), w.Result().Cookies())
	}
	for _, path := range []string{"/revoke-others", "/login", "/renew"} {
		if w := do(path); w.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s could not happen but answered %d %q", path, w.Code, body(w))
		}
	}
	if n := e.store.writes(); n != 0 {
		t.Fatalf("%d store writes over a load error", n)
	}
	// A logout deletes the session by its token even when it cannot read
	// it; when it can neither read nor delete it, it fails.
	e.store.setFail("delete", errBoom)
	for _, path := range []string{"/logout", "/logout-page"} {
		if w := do(path); w.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s could not happen but answered %d %q", path, w.Code, body(w))
		}
	}
	e.store.setFail("delete", nil)
	e.store.setFail("load", nil)
	if got := body(e.do("/whoami", tok)); got != "alice" {
		t.Fatalf("the session after the failed logouts: %q", got)
	}
	e.store.setFail("load", errBoom)
	if w := do("/logout-page"); w.Code != http.StatusOK || body(w) != "logged out; theme=light" || !clearsCookie(w) {
		t.Fatalf("a logout over an unreadable session that could be deleted: %d %q %v", w.Code, body(w), w.Result().Cookies())
	}
	// Neither read nor found: a renewal may have moved it, so this
	// logout cannot be shown done.
	if w := do("/logout"); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("a logout of a session it can neither read nor find: %d %q", w.Code, body(w))
	}
	e.store.setFail("load", nil)
	if got := body(e.do("/whoami", tok)); got != "" {
		t.Fatalf("the session after its logout: %q", got)
	}
	tok = mustToken(t, e.do("/login?u=alice", ""))
	e.store.setFail("load", errBoom)
	e.store.reset()
	// The store reads again but cannot write: the handler never sees that
	// error (it happens at commit), so the error handler answers.
	e.store.setFail("load", nil)
	e.store.setFail("update", errBoom)
	if w := do("/save"); w.Code != http.StatusServiceUnavailable || body(w) == "saved" {
		t.Fatalf("a failed save at commit: %d %q", w.Code, body(w))
	}
	e.store.setFail("update", nil)
	if w := do("/page"); body(w) != "theme=light" {
		t.Fatalf("after the outage: %q", body(w))
	}
	if got := body(e.do("/whoami", tok)); got != "alice" {
		t.Fatalf("the session after the outage: %q", got)
	}
}

// clearsCookie reports whether the response deletes the session cookie.
func clearsCookie(w *httptest.ResponseRecorder) bool {
	for _, c := range w.Result().Cookies() {
		if c.Name == session.DefaultCookieName && c.MaxAge < 0 {
			return true
		}
	}
	return false
}

// A logout whose read finds a corrupt record, and fails to delete it, is
// not reported done (the record may still be stored); once the delete
// works, the logout ends the session.
func TestLogoutOfCorruptRecordThatCannotBeDeleted(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/login?u=alice", ""))
	e.mux.HandleFunc("/logout-corrupt", func(w http.ResponseWriter, r *http.Request) {
		if err := e.m.Destroy(r.Context()); err != nil {
			return // the error handler answers
		}
		io.WriteString(w, "logged out")
	})
	e.store.setFail("load", fmt.Errorf("%w: garbled", session.ErrCorrupt))
	e.store.setFail("delete", errBoom)
	if w := e.do("/logout-corrupt", tok); w.Code != http.StatusServiceUnavailable || body(w) == "logged out" {
		t.Fatalf("a logout that could not delete the record: %d %q", w.Code, body(w))
	}
	// The read's own deletion fails (a client gone away cancels it), the
	// logout's second one, detached, succeeds: the logout is done.
	deletes := 0
	e.store.mu.Lock()
	e.store.before = func(op string) {
		if op == "delete" {
			if deletes++; deletes == 2 {
				e.store.setFail("delete", nil)
			}
		}
	}
	e.store.mu.Unlock()
	if w := e.do("/logout-corrupt", tok); w.Code != http.StatusOK || deletes != 2 {
		t.Fatalf("the logout whose second deletion works: %d %q after %d deletions", w.Code, body(w), deletes)
	}
	e.store.setFail("load", nil)
	if got := body(e.do("/whoami", tok)); got != "" {
		t.Fatalf("the session after its logout: %q", got)
	}
}
