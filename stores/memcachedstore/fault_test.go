package memcachedstore_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/memcachedstore/memcachedtest"
)

// One of two nodes killed and restarted (empty) while 40 users' requests
// run: every response is the requesting user's own session, anonymous
// (its session was on the lost node, or its index was), or an error;
// never another user's session, and never a session that was logged out
// before (a resurrected logout).
func TestNodeKilledAndRestarted(t *testing.T) {
	a, b := memcachedtest.Start(t), memcachedtest.Start(t)
	st := newStore(t, a, b)
	m, err := session.New(st, session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uid, err := session.FromContext(r.Context()).UserID()
		if err != nil {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, uid)
	}))
	const users = 40
	live := make([]*http.Cookie, users)
	dead := make([]*http.Cookie, users)
	for i := range users {
		id := "user" + strconv.Itoa(i)
		dead[i] = sessiontest.LoginCookie(t, m, id, nil)
		live[i] = sessiontest.LoginCookie(t, m, id, nil)
		// Log the first session out: it must never come back.
		sessiontest.Logout(t, m, dead[i].Value)
	}
	var wrong, resurrected, served, failed, anonymous atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, c := range []struct {
					cookie *http.Cookie
					dead   bool
				}{{live[i], false}, {dead[i], true}} {
					req := httptest.NewRequest("GET", "https://example.test/", nil)
					req.AddCookie(c.cookie)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					body := rec.Body.String()
					switch {
					case rec.Code != http.StatusOK:
						failed.Add(1)
					case body == "":
						anonymous.Add(1)
					case c.dead:
						resurrected.Add(1)
					case body != "user"+strconv.Itoa(i):
						wrong.Add(1)
					default:
						served.Add(1)
					}
				}
			}
		})
	}
	loseNode(t, a)
	close(stop)
	wg.Wait()
	t.Logf("served %d, anonymous %d, failed %d", served.Load(), anonymous.Load(), failed.Load())
	if wrong.Load() != 0 || resurrected.Load() != 0 {
		t.Fatalf("%d responses with another user's session, %d logged-out sessions back", wrong.Load(), resurrected.Load())
	}
	if failed.Load() == 0 || served.Load() == 0 {
		t.Fatalf("the fault did not show (failed %d) or nothing was served (%d)", failed.Load(), served.Load())
	}
	// After the restart, the users whose session or index was on the lost
	// node are logged out; the others still are who they were.
	for i := range users {
		req := httptest.NewRequest("GET", "https://example.test/", nil)
		req.AddCookie(live[i])
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if body := rec.Body.String(); rec.Code != http.StatusOK || (body != "" && body != "user"+strconv.Itoa(i)) {
			t.Errorf("after the restart user %d gets %d %q", i, rec.Code, body)
		}
	}
}

// One of two nodes killed and restarted (empty) while 20 users write,
// log out and log in again: a logout answered as done never comes back
// (during the fault or after), a login answered as done always hands out a
// session cookie (never a deletion), a write answered as done was to the
// user's own session, and every failure is an error response, never a
// session silently read as empty.
func TestNodeLostDuringWritesLoginsLogouts(t *testing.T) {
	a, b := memcachedtest.Start(t), memcachedtest.Start(t)
	st := newStore(t, a, b)
	m, err := session.New(st, session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		s := session.FromContext(ctx)
		var err error
		switch r.URL.Path {
		case "/login":
			err = m.Login(ctx, r.URL.Query().Get("u"))
		case "/logout":
			err = m.Destroy(ctx)
		case "/write":
			var uid string
			if uid, err = s.UserID(); err == nil && uid != "" {
				if err = s.Set("n", time.Now().UnixNano()); err == nil {
					io.WriteString(w, uid)
				}
			}
		default:
			var uid string
			if uid, err = s.UserID(); err == nil {
				io.WriteString(w, uid)
			}
		}
		if err != nil {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		}
	}))
	do := func(path string, c *http.Cookie) (*httptest.ResponseRecorder, *http.Cookie) {
		req := httptest.NewRequest("GET", "https://example.test"+path, nil)
		if c != nil {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		for _, set := range rec.Result().Cookies() {
			if set.Name == m.CookieName() {
				return rec, set
			}
		}
		return rec, nil
	}
	const users = 20
	var (
		mu                                     sync.Mutex
		loggedOut                              = map[string]string{} // cookie value -> user
		resurrected, wrong, badLogin, failures atomic.Int64
		logouts, logins, writes                atomic.Int64
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range users {
		id := "user" + strconv.Itoa(i)
		cookie := sessiontest.LoginCookie(t, m, id, nil)
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				switch {
				case cookie == nil:
					rec, set := do("/login?u="+id, nil)
					switch {
					case rec.Code != http.StatusOK:
						failures.Add(1)
					case set == nil || set.MaxAge < 0:
						badLogin.Add(1)
					default:
						logins.Add(1)
						cookie = set
					}
				case n%8 == 7:
					rec, _ := do("/logout", cookie)
					if rec.Code != http.StatusOK {
						failures.Add(1)
						continue
					}
					logouts.Add(1)
					mu.Lock()
					loggedOut[cookie.Value] = id
					mu.Unlock()
					cookie = nil
				default:
					rec, _ := do("/write", cookie)
					switch {
					case rec.Code != http.StatusOK:
						failures.Add(1)
					case rec.Body.String() == "":
						cookie = nil // its session was on the lost node: log in again
					case rec.Body.String() != id:
						wrong.Add(1)
					default:
						writes.Add(1)
					}
				}
				// A logout of this user answered before must stay done.
				mu.Lock()
				var old string
				for v, u := range loggedOut {
					if u == id {
						old = v
						break
					}
				}
				mu.Unlock()
				if old != "" {
					if rec, _ := do("/", &http.Cookie{Name: m.CookieName(), Value: old}); rec.Code == http.StatusOK && rec.Body.String() != "" {
						resurrected.Add(1)
					}
				}
			}
		})
	}
	loseNode(t, a)
	close(stop)
	wg.Wait()
	t.Logf("writes %d, logouts %d, logins %d, failed %d", writes.Load(), logouts.Load(), logins.Load(), failures.Load())
	if resurrected.Load() != 0 || wrong.Load() != 0 || badLogin.Load() != 0 {
		t.Fatalf("%d logged-out sessions back, %d writes to another user's session, %d logins answered without a session cookie",
			resurrected.Load(), wrong.Load(), badLogin.Load())
	}
	if failures.Load() == 0 || writes.Load() == 0 || logouts.Load() == 0 || logins.Load() == 0 {
		t.Fatal("the fault did not show, or a kind of request never succeeded")
	}
	for v := range loggedOut {
		if rec, _ := do("/", &http.Cookie{Name: m.CookieName(), Value: v}); rec.Code != http.StatusOK || rec.Body.String() != "" {
			t.Errorf("after the restart a logged-out session answers %d %q", rec.Code, rec.Body.String())
		}
	}
}

// loseNode lets traffic run for 300 ms, kills a, and restarts it empty
// 500 ms later, then lets traffic run 500 ms more.
func loseNode(t *testing.T, a *memcachedtest.Server) {
	time.Sleep(300 * time.Millisecond)
	a.Stop()
	time.Sleep(500 * time.Millisecond)
	a.Restart(t)
	time.Sleep(500 * time.Millisecond)
}
