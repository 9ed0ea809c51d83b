package session_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

// month is the "remember me" lifetime of these tests.
const month = 30 * 24 * time.Hour

// rememberEnv is an env allowing a month's lifetime, whose /remember?u=
// logs u in and remembers the session for a month.
func rememberEnv(t *testing.T) *env {
	e := newEnv(t, session.WithMaxLifetime(month))
	e.mux.HandleFunc("/remember", func(w http.ResponseWriter, r *http.Request) {
		if err := e.m.Login(r.Context(), r.FormValue("u")); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if err := session.FromContext(r.Context()).SetLifetime(month, month); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	return e
}

// Issue 20, gap 2: "remember me" outlives the manager's absolute timeout,
// up to WithMaxLifetime, for the sessions that ask for it only. Before,
// SetIdleTimeout(720h) gave a cookie of 12 hours and a logout at 12h+1s.
func TestRememberMe(t *testing.T) {
	e := rememberEnv(t)
	w := e.do("/remember?u=alice", "")
	alice := mustToken(t, w)
	if c := sessionCookie(w); c.MaxAge != int(month/time.Second) {
		t.Fatalf("remember-me cookie Max-Age %d, want %d", c.MaxAge, int(month/time.Second))
	}
	bob := mustToken(t, e.do("/login?u=bob", ""))
	e.clock.Advance(12*time.Hour + time.Second)
	if got := body(e.do("/whoami", alice)); got != "alice" {
		t.Fatalf("remembered session after 12h: %q", got)
	}
	if got := body(e.do("/whoami", bob)); got != "" {
		t.Fatalf("an ordinary session after 12h: %q", got)
	}
	e.clock.Advance(month - 12*time.Hour)
	if got := body(e.do("/whoami", alice)); got != "" {
		t.Fatalf("remembered session after its month: %q", got)
	}

	// On a stored session the new lifetime comes with a new token.
	e.mux.HandleFunc("/extend", func(w http.ResponseWriter, r *http.Request) {
		if err := session.FromContext(r.Context()).SetLifetime(time.Hour, 7*24*time.Hour); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	carol := mustToken(t, e.do("/login?u=carol", ""))
	w = e.do("/extend", carol)
	renewed := mustToken(t, w)
	if renewed == carol || sessionCookie(w).MaxAge != 3600 {
		t.Fatalf("SetLifetime on a stored session: token renewed %v, Max-Age %d", renewed != carol, sessionCookie(w).MaxAge)
	}
	if body(e.do("/whoami", carol)) != "" || body(e.do("/whoami", renewed)) != "carol" {
		t.Fatal("the old token still works, or the new one does not")
	}

	// Bounds: never beyond WithMaxLifetime, idle within absolute.
	e.mux.HandleFunc("/bad", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		for _, l := range [][2]time.Duration{{time.Hour, month + time.Second}, {2 * time.Hour, time.Hour}, {0, time.Hour}} {
			if err := s.SetLifetime(l[0], l[1]); err == nil {
				t.Errorf("SetLifetime(%v, %v) accepted", l[0], l[1])
			}
		}
	})
	e.do("/bad", renewed)
	if _, err := session.New(e.store, session.WithAbsoluteTimeout(24*time.Hour), session.WithMaxLifetime(time.Hour)); err == nil {
		t.Fatal("a max lifetime shorter than the absolute timeout accepted")
	}
}

// Issue 20, gap 3: handlers can ask a session when it was created and last
// seen, when it expires, and its handle.
func TestSessionGetters(t *testing.T) {
	e := newEnv(t)
	var created, seen, idle, abs time.Time
	var handle, user string
	var err error
	e.mux.HandleFunc("/info", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if user, err = s.UserID(); err != nil {
			return
		}
		if created, err = s.CreatedAt(); err != nil {
			return
		}
		if seen, err = s.LastSeen(); err != nil {
			return
		}
		if idle, abs, err = s.ExpiresAt(); err != nil {
			return
		}
		handle, err = s.Handle()
	})
	e.do("/info", "")
	if err != nil || !created.IsZero() || !idle.IsZero() || handle != "" || user != "" {
		t.Fatalf("a visitor without a session: %v %v %v %q %q", err, created, idle, handle, user)
	}
	start := e.clock.Now().UTC().Truncate(time.Millisecond)
	tok := mustToken(t, e.do("/login?u=alice", ""))
	e.clock.Advance(10 * time.Minute)
	e.do("/info", tok)
	if err != nil || user != "alice" || !created.Equal(start) || !seen.Equal(start) || !idle.Equal(start.Add(30*time.Minute)) || !abs.Equal(start.Add(12*time.Hour)) {
		t.Fatalf("getters: %v user %q created %v seen %v idle %v abs %v (start %v)", err, user, created, seen, idle, abs, start)
	}
	list, _ := e.m.UserSessions(context.Background(), "alice")
	if len(list) != 1 || handle == "" || list[0].Handle != handle {
		t.Fatalf("handle %q, devices %v", handle, list)
	}
}

// "Remember me": the box ticked at login keeps the user logged in for 30
// days, beyond the absolute timeout every other session keeps.
func ExampleSession_SetLifetime() {
	store := memstore.New()
	defer store.Stop()
	const month = 30 * 24 * time.Hour
	m, _ := session.New(store, session.WithMaxLifetime(month))
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ... verify the password ...
		if err := m.Login(r.Context(), "alice"); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		if r.FormValue("remember") == "on" {
			session.FromContext(r.Context()).SetLifetime(month, month)
		}
	}))
	for _, form := range []string{"remember=on", ""} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "https://example.com/login?"+form, nil))
		fmt.Println(time.Duration(w.Result().Cookies()[0].MaxAge) * time.Second)
	}
	// Output:
	// 720h0m0s
	// 30m0s
}

// A remembered session keeps its lifetime when its user logs in again (a
// password asked again before a sensitive action, as Django's login keeps
// set_expiry): before, the re-login cut the month to the manager's 12
// hours while keeping the month's idle timeout. A login whose "remember
// me" box is left unticked says so with SetLifetime(0, 0); another user's
// login never inherits the lifetime.
func TestReloginKeepsRememberMe(t *testing.T) {
	e := rememberEnv(t)
	e.mux.HandleFunc("/forget", func(w http.ResponseWriter, r *http.Request) {
		if err := e.m.Login(r.Context(), r.FormValue("u")); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if err := session.FromContext(r.Context()).SetLifetime(0, 0); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	ordinary := sessionCookie(e.do("/login?u=carol", "")).MaxAge
	if ordinary <= 0 || ordinary >= int(month/time.Second) {
		t.Fatalf("an ordinary login's Max-Age %d", ordinary)
	}

	remembered := mustToken(t, e.do("/remember?u=alice", ""))
	e.clock.Advance(time.Hour)
	w := e.do("/login?u=alice", remembered)
	if got := sessionCookie(w).MaxAge; got != int(month/time.Second) {
		t.Fatalf("re-login of a remembered session: Max-Age %d, want the month's %d", got, int(month/time.Second))
	}
	e.clock.Advance(20 * 24 * time.Hour)
	if got := body(e.do("/whoami", mustToken(t, w))); got != "alice" {
		t.Fatalf("the remembered session 20 days after its user logged in again: %q", got)
	}

	for _, c := range []struct{ what, path string }{
		{"its user, box unticked (SetLifetime(0, 0))", "/forget?u=alice"},
		{"another user", "/login?u=bob"},
	} {
		remembered := mustToken(t, e.do("/remember?u=alice", ""))
		e.clock.Advance(time.Hour)
		w := e.do(c.path, remembered)
		tok := mustToken(t, w)
		if got := sessionCookie(w).MaxAge; got != ordinary {
			t.Fatalf("%s on a remembered session: Max-Age %d, an ordinary login's %d", c.what, got, ordinary)
		}
		e.clock.Advance(time.Duration(ordinary)*time.Second + time.Second)
		if got := body(e.do("/whoami", tok)); got != "" {
			t.Fatalf("%s kept the remembered lifetime: %q after %d s idle", c.what, got, ordinary)
		}
	}
}
