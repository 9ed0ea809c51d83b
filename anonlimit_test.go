package session_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

// Issue 18: with anonymous sessions kept server-side, WithAnonymousLimit
// caps their creation with a clear 503 and Retry-After; logins, logged-in
// users and existing anonymous sessions are never refused.
func TestAnonymousLimit(t *testing.T) {
	e := newEnv(t, session.WithAnonymousLimit(3, time.Minute))
	var anon []string
	for i := range 3 {
		w := e.do("/set?k=cart&v=1", "")
		if w.Code != http.StatusOK {
			t.Fatalf("anonymous creation %d within the limit: %d %q", i, w.Code, body(w))
		}
		anon = append(anon, mustToken(t, w))
	}
	creates := e.store.count("create")
	w := e.do("/set?k=cart&v=1", "")
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "20" || sessionCookie(w) != nil {
		t.Fatalf("anonymous creation beyond the limit: %d, Retry-After %q, cookie %v", w.Code, w.Header().Get("Retry-After"), sessionCookie(w))
	}
	if got := e.store.count("create"); got != creates {
		t.Fatalf("a refused anonymous creation reached the store (%d creates, want %d)", got, creates)
	}
	// Logged-in users and existing sessions are unaffected.
	if w := e.do("/login?u=bob", ""); w.Code != http.StatusOK {
		t.Fatalf("login without a session while the anonymous limit is reached: %d", w.Code)
	}
	if w := e.do("/set?k=cart&v=2", anon[0]); w.Code != http.StatusOK {
		t.Fatalf("write to an existing anonymous session: %d", w.Code)
	}
	alice := mustToken(t, e.do("/login?u=alice", anon[1]))
	if w := e.do("/set?k=x&v=1", alice); w.Code != http.StatusOK {
		t.Fatalf("logged-in write: %d", w.Code)
	}
	// One new anonymous session per 20 seconds after the burst.
	e.clock.Advance(20 * time.Second)
	if w := e.do("/set?k=cart&v=1", ""); w.Code != http.StatusOK {
		t.Fatalf("anonymous creation after the refill: %d", w.Code)
	}
	if w := e.do("/set?k=cart&v=1", ""); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("second anonymous creation within one refill: %d", w.Code)
	}
	// A failed store call uses no allowance.
	e.clock.Advance(time.Hour)
	e.store.setFail("create", errors.New("disk full"))
	for range 5 {
		if w := e.do("/set?k=cart&v=1", ""); w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "" {
			t.Fatalf("anonymous creation while the store fails: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
		}
	}
	e.store.setFail("create", nil)
	for i := range 3 {
		if w := e.do("/set?k=cart&v=1", ""); w.Code != http.StatusOK {
			t.Fatalf("anonymous creation %d after the store recovered: %d", i, w.Code)
		}
	}
	for _, bad := range [][2]int{{-1, 60}, {1, 0}, {1, -1}} {
		if _, err := session.New(e.store, session.WithAnonymousLimit(bad[0], time.Duration(bad[1])*time.Second)); !errors.Is(err, session.ErrConfig) {
			t.Fatalf("WithAnonymousLimit(%d, %ds) accepted: %v", bad[0], bad[1], err)
		}
	}
}

// The limit holds under concurrency: of 200 simultaneous cookieless
// writes, exactly the burst is stored, and every other one is a 503.
func TestAnonymousLimitConcurrent(t *testing.T) {
	const limit, requests = 25, 200
	for round := range 20 {
		e := newEnv(t, session.WithAnonymousLimit(limit, time.Hour))
		var ok, refused atomic.Int32
		var wg sync.WaitGroup
		for range requests {
			wg.Go(func() {
				switch w := e.do("/set?k=cart&v=1", ""); w.Code {
				case http.StatusOK:
					ok.Add(1)
				case http.StatusServiceUnavailable:
					refused.Add(1)
				default:
					t.Errorf("status %d", w.Code)
				}
			})
		}
		wg.Wait()
		if ok.Load() != limit || refused.Load() != requests-limit || e.store.count("create") != limit {
			t.Fatalf("round %d: %d stored, %d refused, %d creates; want %d, %d, %d", round, ok.Load(), refused.Load(), e.store.count("create"), limit, requests-limit, limit)
		}
	}
}

func ExampleWithAnonymousLimit() {
	store := memstore.New()
	defer store.Stop()
	// At most 2 new server-side anonymous sessions per minute (in bursts
	// of 2); beyond it, a cookieless write gets 503 with Retry-After while
	// logins and logged-in users go on.
	m, err := session.New(store, session.WithAnonymousLimit(2, time.Minute),
		session.WithAnonymousIdleTimeout(10*time.Minute))
	if err != nil {
		panic(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := session.FromContext(r.Context()).Set("cart", []string{"tea"}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	for range 3 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "https://example.com/cart", nil))
		if ra := w.Header().Get("Retry-After"); ra != "" {
			fmt.Println(w.Code, "Retry-After:", ra)
		} else {
			fmt.Println(w.Code)
		}
	}
	// Output:
	// 200
	// 200
	// 503 Retry-After: 30
}
