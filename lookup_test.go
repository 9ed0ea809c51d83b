package session_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/sessiontest"
)

// Issue 21: sessions outside HTTP handlers (WebSocket re-checks, gRPC,
// jobs) with the middleware's checks and conditional writes.
func TestLookupAndSave(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/login?u=alice", ""))
	ctx := context.Background()
	s, err := e.m.Lookup(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := s.UserID(); err != nil || u != "alice" {
		t.Fatalf("UserID = %q, %v", u, err)
	}
	if err := s.Set("k", "from a job"); err != nil {
		t.Fatal(err)
	}
	if got, err := e.m.Save(s); err != nil || got != tok {
		t.Fatalf("Save = %q, %v; want the same token", got, err)
	}
	if got := body(e.do("/get?k=k", tok)); got != "true:from a job" {
		t.Fatalf("the job's write seen by a request: %q", got)
	}
	// Renewal outside a request: a new token, the old one ends.
	s, _ = e.m.Lookup(ctx, tok)
	if err := e.m.Renew(s.Context()); err != nil {
		t.Fatal(err)
	}
	renewed, err := e.m.Save(s)
	if err != nil || renewed == "" || renewed == tok {
		t.Fatalf("Save after Renew = %q, %v", renewed, err)
	}
	if _, err := e.m.Lookup(ctx, tok); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("the renewed-away token: %v", err)
	}
	// A session revoked meanwhile: the write is not applied, and Save
	// reports the session gone.
	s, _ = e.m.Lookup(ctx, renewed)
	s.Set("late", "x")
	if _, err := e.m.RevokeUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if got, err := e.m.Save(s); err != nil || got != "" {
		t.Fatalf("Save of a revoked session = %q, %v; want \"\"", got, err)
	}
	if _, err := e.m.Lookup(ctx, renewed); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("a revoked token: %v", err)
	}
	for _, bad := range []string{"", "nope", randomToken()} {
		if _, err := e.m.Lookup(ctx, bad); !errors.Is(err, session.ErrInvalidToken) {
			t.Fatalf("Lookup(%q) = %v", bad, err)
		}
	}
	// A store failure is its error, never "invalid token".
	tok = mustToken(t, e.do("/login?u=bob", ""))
	e.store.setFail("load", errBoom)
	var se *session.StoreError
	if _, err := e.m.Lookup(ctx, tok); !errors.As(err, &se) {
		t.Fatalf("Lookup with a failing store = %v, want a *StoreError", err)
	}
	e.store.setFail("load", nil)
	// Destroy outside a request.
	s, _ = e.m.Lookup(ctx, tok)
	if err := e.m.Destroy(s.Context()); err != nil {
		t.Fatal(err)
	}
	if got, err := e.m.Save(s); err != nil || got != "" {
		t.Fatalf("Save after Destroy = %q, %v", got, err)
	}
	if _, err := e.m.Lookup(ctx, tok); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("a destroyed token: %v", err)
	}
}

// A background job that reads and writes a user's session by its token,
// with the checks and conditional writes of a request.
func ExampleManager_Lookup() {
	store := memstore.New()
	defer store.Stop()
	m, _ := session.New(store)
	token := sessiontest.LoginCookie(&testing.T{}, m, "alice", nil).Value // in an app: the token a client presented

	s, err := m.Lookup(context.Background(), token)
	if err != nil { // session.ErrInvalidToken: logged out, revoked, expired
		fmt.Println(err)
		return
	}
	user, _ := s.UserID()
	s.Set("export", "ready")
	if _, err := m.Save(s); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(user)
	// Output: alice
}

// Lookup applies the deadlines a request does: a session idle past its
// idle timeout, or active until its absolute deadline, is an invalid
// token, and its record is deleted.
func TestLookupHonoursDeadlines(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	idle := mustToken(t, e.do("/login?u=carol", ""))
	e.clock.Advance(31 * time.Minute)
	if _, err := e.m.Lookup(ctx, idle); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("a session idle past its timeout: %v", err)
	}
	if d, _ := session.DigestOf(idle); !gone(ctx, e.store, d) {
		t.Fatal("the idle session's record was not deleted")
	}
	active := mustToken(t, e.do("/login?u=dave", ""))
	for range 12 * 3 { // a request every 20 minutes for 12 hours
		e.clock.Advance(20 * time.Minute)
		e.do("/get?k=a", active)
	}
	if _, err := e.m.Lookup(ctx, active); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("a session past its absolute deadline: %v", err)
	}
	if d, _ := session.DigestOf(active); !gone(ctx, e.store, d) {
		t.Fatal("the record of the session past its deadline was not deleted")
	}
}

// gone reports whether st has no record under d.
func gone(ctx context.Context, st session.Store, d session.Digest) bool {
	_, err := st.Load(ctx, d)
	return errors.Is(err, session.ErrNotFound)
}

// Abandon is the middleware's rule for a failed response (a 5xx) outside
// a request: nothing is saved, not even a Login or Renew; a Destroy that
// already happened is reported.
func TestLookupAndAbandon(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/login?u=alice", ""))
	ctx := context.Background()
	s, err := e.m.Lookup(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set("k", "lost"); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Login(s.Context(), "bob"); err != nil {
		t.Fatal(err)
	}
	e.store.reset()
	if got, err := e.m.Abandon(s); err != nil || got != tok {
		t.Fatalf("Abandon = %q, %v; want the token it was looked up with", got, err)
	}
	if n := e.store.total(); n != 0 {
		t.Fatalf("Abandon made %d store calls", n)
	}
	if got := body(e.do("/get?k=k", tok)); got != "false:" {
		t.Fatalf("an abandoned write was saved: %q", got)
	}
	s, err = e.m.Lookup(ctx, tok)
	if err != nil {
		t.Fatalf("the token after an abandoned Login: %v", err)
	}
	if u, err := s.UserID(); err != nil || u != "alice" {
		t.Fatalf("after an abandoned Login the user is %q, %v", u, err)
	}
	if err := e.m.Destroy(s.Context()); err != nil {
		t.Fatal(err)
	}
	if got, err := e.m.Abandon(s); err != nil || got != "" {
		t.Fatalf("Abandon after Destroy = %q, %v; want \"\"", got, err)
	}
	if _, err := e.m.Lookup(ctx, tok); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("a destroyed session after Abandon: %v", err)
	}
}

// strictContextStore refuses a call whose context has ended, as the
// database and Redis drivers do (the memory store does not look).
type strictContextStore struct{ *countingStore }

func (s strictContextStore) Update(ctx context.Context, d session.Digest, c *session.Change) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.countingStore.Update(ctx, d, c)
}

func (s strictContextStore) Renew(ctx context.Context, old, new session.Digest, r *session.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.countingStore.Renew(ctx, old, new, r)
}

// A session from Lookup is saved when its call ends, and a client ending
// the call (a gRPC stream it cancels, a WebSocket it closes) cancels the
// context it was looked up with: the save still happens, a renewal's too.
func TestSaveAfterTheClientEndedTheCall(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/login?u=alice", ""))
	m, err := session.New(strictContextStore{e.store}, session.WithClock(e.clock.Now), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := m.Lookup(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set("k", "kept"); err != nil {
		t.Fatal(err)
	}
	cancel() // the client goes away
	if got, err := m.Save(s); err != nil || got != tok {
		t.Fatalf("Save after the call's context ended = %q, %v; want the token", got, err)
	}
	if got := body(e.do("/get?k=k", tok)); got != "true:kept" {
		t.Fatalf("the value saved after the client left: %q", got)
	}

	ctx, cancel = context.WithCancel(context.Background())
	s, err = m.Lookup(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Renew(s.Context()); err != nil {
		t.Fatal(err)
	}
	cancel()
	renewed, err := m.Save(s)
	if err != nil || renewed == "" || renewed == tok {
		t.Fatalf("Save of a renewal after the call's context ended = %q, %v", renewed, err)
	}
	if got := body(e.do("/get?k=k", renewed)); got != "true:kept" {
		t.Fatalf("the renewed session: %q", got)
	}
}

// A session is saved once: a second Save or Abandon is an error, not the
// token the first one may have replaced.
func TestSaveTwice(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/login?u=alice", ""))
	s, err := e.m.Lookup(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.m.Renew(s.Context()); err != nil {
		t.Fatal(err)
	}
	renewed, err := e.m.Save(s)
	if err != nil || renewed == tok {
		t.Fatalf("Save = %q, %v", renewed, err)
	}
	for name, again := range map[string]func(*session.Session) (string, error){"Save": e.m.Save, "Abandon": e.m.Abandon} {
		if got, err := again(s); !errors.Is(err, session.ErrAlreadySaved) || got != "" {
			t.Errorf("second %s = %q, %v; want ErrAlreadySaved", name, got, err)
		}
	}
	if _, err := e.m.Lookup(context.Background(), renewed); err != nil {
		t.Fatalf("the renewed token after the refused second saves: %v", err)
	}
	// Concurrent saves: one saves, every other is refused.
	for range 20 {
		s, err := e.m.Lookup(context.Background(), renewed)
		if err != nil {
			t.Fatal(err)
		}
		s.Set("k", "v")
		var wg sync.WaitGroup
		var mu sync.Mutex
		saved := 0
		for range 4 {
			wg.Go(func() {
				_, err := e.m.Save(s)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					saved++
				case !errors.Is(err, session.ErrAlreadySaved):
					t.Errorf("a concurrent Save: %v", err)
				}
			})
		}
		wg.Wait()
		if saved != 1 {
			t.Fatalf("%d of 4 concurrent saves succeeded, want 1", saved)
		}
	}
}

// A malformed token given to Lookup is reported as the middleware reports
// a malformed cookie: guessing over gRPC or WebSocket shows in the events.
func TestLookupReportsMalformedTokens(t *testing.T) {
	var mu sync.Mutex
	var reasons []string
	e := newEnv(t, session.WithObserver(session.ObserverFunc(func(ctx context.Context, ev session.Event) {
		if ev.Kind == session.EventInvalidToken {
			mu.Lock()
			reasons = append(reasons, ev.Reason)
			mu.Unlock()
		}
	})))
	for _, tok := range []string{"garbage", "", randomToken()} {
		if _, err := e.m.Lookup(context.Background(), tok); !errors.Is(err, session.ErrInvalidToken) {
			t.Fatalf("Lookup(%q) = %v", tok, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reasons) != 3 || reasons[0] != "malformed" || reasons[1] != "malformed" {
		t.Fatalf("invalid-token events %q; want malformed, malformed and the unknown token's", reasons)
	}
}
