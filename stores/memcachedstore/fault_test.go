package memcachedstore_test

import (
	"context"
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
		s, err := m.Lookup(context.Background(), dead[i].Value)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Destroy(s.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Save(s); err != nil {
			t.Fatal(err)
		}
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
	time.Sleep(300 * time.Millisecond)
	a.Stop()
	time.Sleep(500 * time.Millisecond)
	a.Restart(t)
	time.Sleep(500 * time.Millisecond)
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
