package cookiestore_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/cookiestore"
	"github.com/sessionkit/session/memstore"
)

// gatedStore is a memstore whose writes wait at the gate while it is
// closed: a revocation caught between taking its time and storing its
// marker.
type gatedStore struct {
	*memstore.Store
	mu       sync.Mutex
	closed   bool
	waiting  chan struct{} // gets a value when a write waits
	open     chan struct{} // closed to let waiting writes through
	openOnce sync.Once
}

// release lets every waiting and later write through.
func (g *gatedStore) release() { g.openOnce.Do(func() { close(g.open) }) }

// recv receives from ch, failing the test if nothing comes within 10 s
// (a step the test waits for did not happen).
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("waited 10 s for %s", what)
		panic("unreachable")
	}
}

func (g *gatedStore) gate() {
	g.mu.Lock()
	closed := g.closed
	g.mu.Unlock()
	if closed {
		g.waiting <- struct{}{}
		<-g.open
	}
}

func (g *gatedStore) Create(ctx context.Context, d session.Digest, rec *session.Record) error {
	g.gate()
	return g.Store.Create(ctx, d, rec)
}

func (g *gatedStore) Update(ctx context.Context, d session.Digest, c *session.Change) error {
	g.gate()
	return g.Store.Update(ctx, d, c)
}

// loginRace is a client-side manager with revocations on a gated store,
// on a clock the test moves, serving /login?u= and /created (the
// session's user and creation time) besides a login that waits: /relogin
// reads the session, waits for resume, then logs its user in again.
type loginRace struct {
	*app
	store  *gatedStore
	now    time.Time
	clock  sync.Mutex
	loaded chan struct{}
	resume chan struct{}
}

func newLoginRace(t *testing.T) *loginRace {
	lr := &loginRace{now: time.Now().UTC().Truncate(time.Millisecond), loaded: make(chan struct{}), resume: make(chan struct{})}
	clock := func() time.Time {
		lr.clock.Lock()
		defer lr.clock.Unlock()
		return lr.now
	}
	mem := memstore.New(memstore.WithCleanupInterval(0), memstore.WithClock(clock))
	t.Cleanup(mem.Stop)
	lr.store = &gatedStore{Store: mem, waiting: make(chan struct{}), open: make(chan struct{})}
	t.Cleanup(lr.store.release)
	rev, err := cookiestore.NewRevocations(lr.store, 12*time.Hour, cookiestore.WithRevocationsClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.NewClientSide(mustNew(t, [][]byte{key1}, cookiestore.WithRevocations(rev)), session.WithClock(clock), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) { m.Login(r.Context(), r.FormValue("u")) })
	mux.HandleFunc("/relogin", func(w http.ResponseWriter, r *http.Request) {
		user, err := session.FromContext(r.Context()).UserID()
		lr.loaded <- struct{}{}
		<-lr.resume
		if err == nil {
			err = m.Login(r.Context(), user)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/created", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		user, _ := s.UserID()
		created, _ := s.CreatedAt()
		io.WriteString(w, user+" "+created.Format(time.RFC3339Nano))
	})
	lr.app = &app{m: m, h: m.Handler(mux)}
	return lr
}

func (lr *loginRace) tick() {
	lr.clock.Lock()
	lr.now = lr.now.Add(time.Millisecond)
	lr.clock.Unlock()
}

// relogin sends /relogin with cookie in the background; it returns once
// the handler has read the session, and the returned function lets it
// log in and returns the response (at the test's end if the test does
// not call it).
func (lr *loginRace) relogin(t *testing.T, cookie string) func() *httptest.ResponseRecorder {
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() { done <- lr.do("/relogin", cookie) }()
	recv(t, lr.loaded, "the login to read its session")
	var once sync.Once
	var w *httptest.ResponseRecorder
	finish := func() *httptest.ResponseRecorder {
		once.Do(func() {
			lr.resume <- struct{}{}
			w = <-done
		})
		return w
	}
	t.Cleanup(func() { finish() })
	return finish
}

// Issue 17: a login that read its session before RevokeUser and logs the
// user in again after it must not continue the revoked session (the
// renewed cookie kept its lineage's creation time and had a new
// authentication time, so the user's "not before" did not cover it).
func TestLoginAfterRevokeUserDoesNotContinueTheSession(t *testing.T) {
	lr := newLoginRace(t)
	first := cookieOf(lr.do("/login?u=alice", ""))
	was := lr.do("/created", first).Body.String()
	lr.tick()
	finish := lr.relogin(t, first)
	if _, err := lr.m.RevokeUser(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	lr.tick()
	after := cookieOf(finish())
	if after == "" {
		t.Fatal("the login set no cookie")
	}
	// A new authentication after the revocation: logged in, as a new
	// session (another creation time), not the revoked one continued.
	now := lr.do("/created", after).Body.String()
	if !strings.HasPrefix(now, "alice ") || now == was {
		t.Fatalf("after a login that raced RevokeUser the session is %q; want alice on a new session (the revoked one was %q)", now, was)
	}
}

// Issue 17: a login that runs wholly while RevokeUser is between taking
// its time and storing the user's marker is covered by the revocation
// once it returns.
func TestLoginDuringRevokeUserIsCovered(t *testing.T) {
	lr := newLoginRace(t)
	first := cookieOf(lr.do("/login?u=alice", ""))
	was := lr.do("/created", first).Body.String()
	lr.tick()
	lr.store.mu.Lock()
	lr.store.closed = true
	lr.store.mu.Unlock()
	revoked := make(chan error)
	go func() {
		_, err := lr.m.RevokeUser(context.Background(), "alice")
		revoked <- err
	}()
	recv(t, lr.store.waiting, "RevokeUser to store its marker") // it has its time and waits
	lr.store.mu.Lock()
	lr.store.closed = false
	lr.store.mu.Unlock()
	lr.tick()
	finish := lr.relogin(t, first)
	lr.tick()
	after := cookieOf(finish())
	if after == "" {
		t.Fatal("the login set no cookie")
	}
	lr.tick()
	lr.store.release()
	if err := recv(t, revoked, "RevokeUser to return"); err != nil {
		t.Fatal(err)
	}
	// The login authenticated after RevokeUser's time but before it
	// returned, continuing the session: revoked with it.
	if now := lr.do("/created", after).Body.String(); now == was || strings.HasPrefix(now, "alice") {
		t.Fatalf("after RevokeUser returned, the login that ran during it still loads as %q (the revoked session was %q)", now, was)
	}
}
