package memstore_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/sessiontest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T) session.Store {
		s := memstore.New()
		t.Cleanup(s.Stop)
		return s
	})
}

// 50 goroutines of mixed operations: nothing fails, no concurrent update of
// a distinct key is lost.
func TestFiftyConcurrentGoroutines(t *testing.T) {
	s := memstore.New()
	defer s.Stop()
	sessiontest.MixedConcurrentOperations(t, s, 50, 40)
}

func TestJanitorRemovesExpired(t *testing.T) {
	now := time.Now().UTC()
	var clock = func() time.Time { return now.Add(time.Hour) }
	s := memstore.New(memstore.WithCleanupInterval(5*time.Millisecond), memstore.WithClock(clock))
	defer s.Stop()
	ctx := context.Background()
	live, dead := sessiontest.NewDigest(), sessiontest.NewDigest()
	rec := func(exp time.Time) *session.Record {
		return &session.Record{Created: now, LastSeen: now, IdleExpiry: exp, AbsExpiry: now.Add(24 * time.Hour), Version: 1}
	}
	if err := s.Create(ctx, live, rec(now.Add(2*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, dead, rec(now.Add(30*time.Minute))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Len() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("janitor left %d records, want 1", s.Len())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := s.Load(ctx, live); err != nil {
		t.Fatalf("janitor removed a live record: %v", err)
	}
}

func TestStopIsIdempotentAndStoreStaysUsable(t *testing.T) {
	s := memstore.New(memstore.WithCleanupInterval(time.Millisecond))
	s.Stop()
	s.Stop()
	d := sessiontest.NewDigest()
	now := time.Now()
	if err := s.Create(context.Background(), d, &session.Record{Created: now, LastSeen: now, IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	noJanitor := memstore.New(memstore.WithCleanupInterval(0))
	noJanitor.Stop()
}

func TestMaxSessionsEvictsSoonestExpiring(t *testing.T) {
	now := time.Now().UTC()
	s := memstore.New(memstore.WithCleanupInterval(0), memstore.WithMaxSessions(3), memstore.WithClock(func() time.Time { return now }))
	defer s.Stop()
	ctx := context.Background()
	rec := func(exp time.Duration) *session.Record {
		return &session.Record{Created: now, LastSeen: now, IdleExpiry: now.Add(exp), AbsExpiry: now.Add(24 * time.Hour), Version: 1}
	}
	var ds []session.Digest
	for _, exp := range []time.Duration{3 * time.Hour, time.Hour, 2 * time.Hour} {
		d := sessiontest.NewDigest()
		if err := s.Create(ctx, d, rec(exp)); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	newest := sessiontest.NewDigest()
	if err := s.Create(ctx, newest, rec(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 3 {
		t.Fatalf("%d records with a bound of 3", s.Len())
	}
	if _, err := s.Load(ctx, ds[1]); err == nil {
		t.Fatal("the soonest-expiring session was not the one evicted")
	}
	for _, d := range []session.Digest{ds[0], ds[2], newest} {
		if _, err := s.Load(ctx, d); err != nil {
			t.Fatal("a later-expiring session was evicted")
		}
	}
	// Expired records go first.
	expired := sessiontest.NewDigest()
	s.Delete(ctx, ds[0])
	s.Create(ctx, expired, rec(-time.Minute))
	s.Create(ctx, sessiontest.NewDigest(), rec(5*time.Hour))
	if _, err := s.Load(ctx, expired); err == nil || s.Len() != 3 {
		t.Fatalf("expired record kept while evicting (len %d)", s.Len())
	}
}

// Issue 17: once a revocation returns, no session it covered, nor a
// renewed continuation of one, is accepted again.
func TestRevocationRace(t *testing.T) {
	s := memstore.New()
	defer s.Stop()
	sessiontest.RevocationRaceStore(t, s, 300)
}

// Issue 18 (5): WithMaxSessionsPerUser holds under concurrent logins of
// one user: once they have answered, at most the limit are logged in.
func TestSessionLimitRace(t *testing.T) {
	s := memstore.New()
	defer s.Stop()
	sessiontest.SessionLimitRace(t, s, 3, 20, 30)
}

// Issue 17 (5): a double-submitted login form leaves a working login
// whichever response the browser processes last.
func TestDoubleLogin(t *testing.T) {
	s := memstore.New()
	defer s.Stop()
	sessiontest.DoubleLoginStore(t, s, 300)
}

// Issue 17 (3): 200 parallel writes of 1 KB to one session never store more
// than the 64 KiB limit.
func TestConcurrentWritesHoldSizeLimit(t *testing.T) {
	s := memstore.New()
	defer s.Stop()
	sessiontest.ConcurrentSizeLimit(t, s, 200, 1000, 64<<10)
}
