package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

func TestCountDeleteExpiredAndRevokeAcrossInstances(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var alice []string
	for range 3 {
		alice = append(alice, mustToken(t, e.do("/login?u=alice", "")))
	}
	bob := mustToken(t, e.do("/login?u=bob", ""))
	for range 4 {
		mustToken(t, e.do("/set?k=a&v=1", ""))
	}
	if n, err := e.m.CountActive(ctx); err != nil || n != 8 {
		t.Fatalf("CountActive = %d, %v; want 8", n, err)
	}
	list, err := e.m.UserSessions(ctx, "alice")
	if err != nil || len(list) != 3 {
		t.Fatalf("UserSessions = %d, %v", len(list), err)
	}
	// A second manager instance sharing the store (another server) revokes.
	other, err := session.New(e.store, session.WithClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := other.RevokeUser(ctx, "alice"); err != nil || n != 3 {
		t.Fatalf("RevokeUser = %d, %v", n, err)
	}
	for _, tok := range alice {
		if got := body(e.do("/whoami", tok)); got != "" {
			t.Fatalf("revoked session still logged in as %q", got)
		}
	}
	if got := body(e.do("/whoami", bob)); got != "bob" {
		t.Fatalf("bob affected: %q", got)
	}
	// Idle expiry for everyone but bob, who stays active.
	e.clock.Advance(20 * time.Minute)
	e.do("/whoami", bob)
	e.clock.Advance(15 * time.Minute)
	if n, err := e.m.CountActive(ctx); err != nil || n != 1 {
		t.Fatalf("CountActive after expiry = %d, %v; want 1", n, err)
	}
	var progress []int
	n, err := e.m.DeleteExpired(ctx, 2, func(total int) { progress = append(progress, total) })
	if err != nil || n != 4 {
		t.Fatalf("DeleteExpired = %d, %v; want 4", n, err)
	}
	if len(progress) != 2 || progress[1] != 4 {
		t.Fatalf("progress %v", progress)
	}
	if e.store.inner.Len() != 1 {
		t.Fatalf("%d records left, want bob's", e.store.inner.Len())
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.m.DeleteExpired(cctx, 0, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("DeleteExpired with a canceled context = %v", err)
	}
}

// The middleware works unchanged under the standard library's router with
// path patterns and in front of it.
func TestWithStdlibMuxPatterns(t *testing.T) {
	e := newEnv(t)
	mux := http.NewServeMux()
	mux.Handle("GET /items/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session.FromContext(r.Context()).Set("last", r.PathValue("id"))
	}))
	h := e.m.Handler(mux)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/items/42", nil))
	tok := mustToken(t, w)
	if got := body(e.do("/get?k=last", tok)); got != "true:42" {
		t.Fatalf("last = %q", got)
	}
}

func TestCleanerDeletesExpiredAndStops(t *testing.T) {
	e := newEnv(t, session.WithIdleTimeout(time.Minute))
	for range 5 {
		mustToken(t, e.do("/set?k=a&v=1", ""))
	}
	e.clock.Advance(2 * time.Minute)
	c, err := e.m.StartCleaner(5 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.store.inner.Len() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	c.Stop()
	c.Stop()
	if n := e.store.inner.Len(); n != 0 {
		t.Fatalf("cleaner left %d expired records", n)
	}
	if _, err := e.m.StartCleaner(0); !errors.Is(err, session.ErrConfig) {
		t.Fatalf("StartCleaner(0) = %v", err)
	}
	m, _ := session.New(minimalStore{})
	if _, err := m.StartCleaner(time.Second); !errors.Is(err, session.ErrUnsupported) {
		t.Fatalf("StartCleaner without the capability = %v", err)
	}
}
