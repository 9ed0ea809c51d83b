package tieredstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/tieredstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func mem(t *testing.T) *memstore.Store {
	s := memstore.New(memstore.WithCleanupInterval(0))
	t.Cleanup(s.Stop)
	return s
}

func TestConformanceMemoryOverMemory(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T) session.Store {
		s, err := tieredstore.New(mem(t), mem(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// 50 goroutines of mixed operations through both tiers: nothing fails, no
// concurrent update of a distinct key is lost in either tier.
func TestFiftyConcurrentGoroutines(t *testing.T) {
	cache, durable := mem(t), mem(t)
	s, err := tieredstore.New(cache, durable)
	if err != nil {
		t.Fatal(err)
	}
	sessiontest.MixedConcurrentOperations(t, s, 50, 40)
}

// flaky is a cache whose calls fail while down is set.
type flaky struct {
	*memstore.Store
	down  atomic.Bool
	calls atomic.Int64
}

var errDown = errors.New("cache down")

func (f *flaky) Load(ctx context.Context, d session.Digest) (*session.Record, error) {
	f.calls.Add(1)
	if f.down.Load() {
		return nil, errDown
	}
	return f.Store.Load(ctx, d)
}
func (f *flaky) Create(ctx context.Context, d session.Digest, r *session.Record) error {
	if f.down.Load() {
		return errDown
	}
	return f.Store.Create(ctx, d, r)
}
func (f *flaky) Delete(ctx context.Context, d session.Digest) (bool, error) {
	if f.down.Load() {
		return false, errDown
	}
	return f.Store.Delete(ctx, d)
}

func record(user string) *session.Record {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return &session.Record{Values: map[string][]byte{"k": []byte(`"v"`)}, UserID: user, Created: now, LastSeen: now,
		IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(2 * time.Hour), Version: 1}
}

func TestCacheDownDuringReadsAndLogout(t *testing.T) {
	cache := &flaky{Store: mem(t)}
	durable := mem(t)
	var logs bytes.Buffer
	s, _ := tieredstore.New(cache, durable, tieredstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	ctx := context.Background()
	d := sessiontest.NewDigest()
	if err := s.Create(ctx, d, record("u")); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Store.Load(ctx, d); !errors.Is(err, session.ErrNotFound) {
		t.Fatal("create filled the cache (a revocation racing it could miss the copy)")
	}
	if _, err := s.Load(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Store.Load(ctx, d); err != nil {
		t.Fatal("the first read did not fill the cache")
	}
	// Reads during an outage come from the durable store: no lost session.
	cache.down.Store(true)
	rec, err := s.Load(ctx, d)
	if err != nil || rec.UserID != "u" {
		t.Fatalf("read with the cache down: %v, %v", rec, err)
	}
	if !bytes.Contains(logs.Bytes(), []byte("cache unavailable")) {
		t.Fatal("cache outage not logged")
	}
	// Writes still reach the durable store, but a write whose cached copy
	// cannot be invalidated fails rather than leaving a stale copy.
	err = s.Update(ctx, d, &session.Change{Set: map[string][]byte{"k": []byte(`"new"`)}, LastSeen: time.Now(), IdleExpiry: time.Now().Add(time.Hour)})
	if err == nil {
		t.Fatal("update with an un-invalidatable cache reported success")
	}
	// Logout with the cache down fails: the cached copy could outlive it.
	if _, err := s.Delete(ctx, d); err == nil {
		t.Fatal("logout with the cache down reported success")
	}
	if _, err := durable.Load(ctx, d); !errors.Is(err, session.ErrNotFound) {
		t.Fatal("logout did not delete from the durable store")
	}
	// When the cache is back, the retried logout removes the cached copy.
	cache.down.Store(false)
	if _, err := s.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, d); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("session readable after logout: %v", err)
	}
}

// A refill racing with a deletion cannot resurrect the session in the cache.
func TestRefillCannotResurrect(t *testing.T) {
	for range 200 {
		cache, durable := mem(t), mem(t)
		s, _ := tieredstore.New(cache, durable)
		ctx := context.Background()
		d := sessiontest.NewDigest()
		if err := durable.Create(ctx, d, record("u")); err != nil { // cached nowhere yet
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() { s.Load(ctx, d) }) // miss, durable read, refill
		wg.Go(func() {
			if _, err := s.Delete(ctx, d); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		if _, err := s.Load(ctx, d); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("deleted session came back through the cache: %v", err)
		}
		if _, err := cache.Load(ctx, d); !errors.Is(err, session.ErrNotFound) {
			t.Fatal("a cached copy of a deleted session remains")
		}
	}
}

func TestReadsServedByCache(t *testing.T) {
	cache := &flaky{Store: mem(t)}
	durable := mem(t)
	s, _ := tieredstore.New(cache, durable)
	ctx := context.Background()
	d := sessiontest.NewDigest()
	s.Create(ctx, d, record("u"))
	s.Load(ctx, d) // fills the cache
	// Change the durable copy behind the cache's back: reads still come
	// from the cache, proving it serves them.
	durable.Update(ctx, d, &session.Change{Set: map[string][]byte{"k": []byte(`"durable"`)}})
	rec, _ := s.Load(ctx, d)
	if string(rec.Values["k"]) != `"v"` {
		t.Fatalf("read %s, want the cached value", rec.Values["k"])
	}
	// A write invalidates; the next read refills from the durable store.
	s.Update(ctx, d, &session.Change{Set: map[string][]byte{"x": []byte(`1`)}})
	rec, _ = s.Load(ctx, d)
	if string(rec.Values["k"]) != `"durable"` || string(rec.Values["x"]) != "1" {
		t.Fatalf("after a write: %v", rec.Values)
	}
}

// Issue 17: once a revocation returns, no session it covered, nor a
// renewed continuation of one, is accepted again, in either tier.
func TestRevocationRace(t *testing.T) {
	s, err := tieredstore.New(mem(t), mem(t))
	if err != nil {
		t.Fatal(err)
	}
	sessiontest.RevocationRaceStore(t, s, 300)
}

// Issue 17 (5): a double-submitted login form leaves a working login
// whichever response the browser processes last.
func TestDoubleLogin(t *testing.T) {
	s, err := tieredstore.New(mem(t), mem(t))
	if err != nil {
		t.Fatal(err)
	}
	sessiontest.DoubleLoginStore(t, s, 300)
}

// WithMaxSessionsPerUser holds under 20 concurrent logins of one user:
// exactly the limit stays logged in.
func TestSessionLimitRace(t *testing.T) {
	s, err := tieredstore.New(mem(t), mem(t))
	if err != nil {
		t.Fatal(err)
	}
	sessiontest.SessionLimitRace(t, s, 3, 20, 30)
}

// Issue 17 (3): 200 parallel writes of 1 KB to one session never store more
// than the 64 KiB limit.
func TestConcurrentWritesHoldSizeLimit(t *testing.T) {
	s, err := tieredstore.New(mem(t), mem(t))
	if err != nil {
		t.Fatal(err)
	}
	sessiontest.ConcurrentSizeLimit(t, s, 200, 1000, 64<<10)
}

// stalling is a durable store whose next Load, once armed, runs a function
// after reading (the moment a refill has its record and has not yet filled
// the cache).
type stalling struct {
	*memstore.Store
	after atomic.Pointer[func()]
}

func (s *stalling) Load(ctx context.Context, d session.Digest) (*session.Record, error) {
	rec, err := s.Store.Load(ctx, d)
	if f := s.after.Swap(nil); f != nil {
		(*f)()
	}
	return rec, err
}

// A refill racing with a write cannot leave the version before the write in
// the cache (it used to, until the next write: reads then served the old
// values).
func TestRefillCannotCacheStaleVersion(t *testing.T) {
	cache, durable := mem(t), &stalling{Store: mem(t)}
	s, _ := tieredstore.New(cache, durable)
	ctx := context.Background()
	d := sessiontest.NewDigest()
	if err := durable.Create(ctx, d, record("u")); err != nil { // cached nowhere yet
		t.Fatal(err)
	}
	write := func() {
		if err := s.Update(ctx, d, &session.Change{Set: map[string][]byte{"k": []byte(`"new"`)}}); err != nil {
			t.Error(err)
		}
	}
	durable.after.Store(&write)
	if _, err := s.Load(ctx, d); err != nil { // miss, durable read, write, refill
		t.Fatal(err)
	}
	got, err := s.Load(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Values["k"]) != `"new"` {
		t.Fatalf("read after the write = %q, want the written value (a stale cached copy)", got.Values["k"])
	}
}

// noCleanupCache is a cache whose DeleteExpired says it has no cleanup, as
// storeurl's stand-in for Memcached does (the cache expires entries).
type noCleanupCache struct{ *memstore.Store }

func (noCleanupCache) DeleteExpired(context.Context, time.Time, int) (int, error) {
	return 0, fmt.Errorf("%w: expires entries itself", session.ErrUnsupported)
}

// A cache without cleanup is no cache failure: cleanup deletes from the
// durable store and logs nothing.
func TestCleanupOverCacheWithoutCleanup(t *testing.T) {
	cache, durable := memstore.New(memstore.WithCleanupInterval(0)), memstore.New(memstore.WithCleanupInterval(0))
	defer cache.Stop()
	defer durable.Stop()
	var logs bytes.Buffer
	st, err := tieredstore.New(noCleanupCache{cache}, durable, tieredstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	past := time.Now().Add(-time.Hour)
	if err := durable.Create(ctx, sessiontest.NewDigest(), &session.Record{Created: past, LastSeen: past, IdleExpiry: past, AbsExpiry: past, Version: 1}); err != nil {
		t.Fatal(err)
	}
	if n, err := st.DeleteExpired(ctx, time.Now(), 100); n != 1 || err != nil {
		t.Fatalf("DeleteExpired = %d, %v; want the durable store's 1", n, err)
	}
	if logs.Len() != 0 {
		t.Fatalf("cleanup over a cache without cleanup logged: %s", logs.String())
	}
}

// loadGate is a durable store whose Loads, once armed, each run the next
// armed pair of functions, one before reading and one after.
type loadGate struct {
	*memstore.Store
	mu    sync.Mutex
	armed []gate
}

type gate struct{ before, after func() }

func (s *loadGate) Load(ctx context.Context, d session.Digest) (*session.Record, error) {
	s.mu.Lock()
	var g gate
	if len(s.armed) > 0 {
		g, s.armed = s.armed[0], s.armed[1:]
	}
	s.mu.Unlock()
	if g.before != nil {
		g.before()
	}
	rec, err := s.Store.Load(ctx, d)
	if g.after != nil {
		g.after()
	}
	return rec, err
}

// Issue 17: a read that starts after RevokeUser returned is never served
// the revoked session. A refill that read the durable record just before
// the revocation used to put its copy in the cache after the revocation
// had emptied it, and serve it until its re-check removed it: here a read
// between the two got the revoked session. Now the copy is marked as
// being filled until the re-check, and reads ignore it.
func TestRefillNeverServesARevokedSession(t *testing.T) {
	cache, durable := mem(t), &loadGate{Store: mem(t)}
	s, _ := tieredstore.New(cache, durable)
	ctx := context.Background()
	d := sessiontest.NewDigest()
	if err := durable.Create(ctx, d, record("u")); err != nil { // cached nowhere yet
		t.Fatal(err)
	}
	var during error
	durable.armed = []gate{
		{after: func() { // the refill has read the session: the revocation runs and returns
			if _, err := s.DeleteByUser(ctx, "u", session.Digest{}); err != nil {
				t.Error(err)
			}
		}},
		{before: func() { // the refill has filled the cache; before its re-check, a later request
			_, during = s.Load(ctx, d)
		}},
	}
	if _, err := s.Load(ctx, d); err != nil { // miss, durable read, refill
		t.Fatal(err)
	}
	if !errors.Is(during, session.ErrNotFound) {
		t.Fatalf("a read after the revocation returned, during the refill: %v, want ErrNotFound", during)
	}
	if _, err := s.Load(ctx, d); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("after the refill: %v", err)
	}
	if _, err := cache.Load(ctx, d); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("a copy of the revoked session stayed in the cache: %v", err)
	}
}

// A marked copy serves reads with the durable version and without the
// fill values; a copy whose refill stopped before marking it, one without
// fill values (cached by the previous version) and one carrying another
// refill's mark are not served, and the first two are removed so that
// the session is cached again.
func TestFilledCopies(t *testing.T) {
	cache, durable := mem(t), mem(t)
	s, _ := tieredstore.New(cache, durable)
	ctx := context.Background()
	d := sessiontest.NewDigest()
	rec := record("u")
	rec.Values = map[string][]byte{"k": []byte(`"v"`)}
	if err := durable.Create(ctx, d, rec); err != nil {
		t.Fatal(err)
	}
	want, err := durable.Load(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, d); err != nil { // fills the cache
		t.Fatal(err)
	}
	got, err := s.Load(ctx, d) // from the cache
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != want.Version || len(got.Values) != 1 || string(got.Values["k"]) != `"v"` {
		t.Fatalf("the cached copy reads as version %d with %q, want version %d with k only", got.Version, got.Values, want.Version)
	}
	const idKey, markKey = "\x00tieredstore.fill", "\x00tieredstore.mark"
	cached := func() *session.Record {
		t.Helper()
		c, err := cache.Load(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := cached(); c.Values[idKey] == nil || c.Values[markKey] == nil {
		t.Fatalf("the cached copy has no fill values: %q", c.Values)
	}
	for _, bad := range []struct {
		name     string
		fill     map[string]string
		replaced bool
	}{
		{"stopped before its mark long ago", map[string]string{idKey: `"1 aaaa"`}, true},
		{"without fill values", nil, true},
		{"marked by another refill", map[string]string{idKey: fmt.Sprintf(`"%d bbbb"`, time.Now().UnixMilli()), markKey: `"1 aaaa"`}, false},
	} {
		if _, err := cache.Delete(ctx, d); err != nil {
			t.Fatal(err)
		}
		c := want.Clone()
		c.Values["k"] = []byte(`"stale"`)
		for k, v := range bad.fill {
			c.Values[k] = []byte(v)
		}
		if err := cache.Create(ctx, d, c); err != nil {
			t.Fatal(err)
		}
		got, err := s.Load(ctx, d)
		if err != nil || string(got.Values["k"]) != `"v"` {
			t.Fatalf("%s: served %q, %v; want the durable record", bad.name, got.Values, err)
		}
		s.Load(ctx, d)
		if c, err := cache.Load(ctx, d); bad.replaced && (err != nil || string(c.Values["k"]) != `"v"`) {
			t.Fatalf("%s: not replaced by a fresh copy: %v", bad.name, err)
		}
	}
}

// counted is a memory store counting every store call made on it.
type counted struct {
	*memstore.Store
	calls *atomic.Int64
}

func (s counted) Load(ctx context.Context, d session.Digest) (*session.Record, error) {
	s.calls.Add(1)
	return s.Store.Load(ctx, d)
}

func (s counted) Create(ctx context.Context, d session.Digest, rec *session.Record) error {
	s.calls.Add(1)
	return s.Store.Create(ctx, d, rec)
}

func (s counted) Update(ctx context.Context, d session.Digest, c *session.Change) error {
	s.calls.Add(1)
	return s.Store.Update(ctx, d, c)
}

func (s counted) Touch(ctx context.Context, d session.Digest, lastSeen, idleExpiry time.Time) error {
	s.calls.Add(1)
	return s.Store.Touch(ctx, d, lastSeen, idleExpiry)
}

func (s counted) Delete(ctx context.Context, d session.Digest) (bool, error) {
	s.calls.Add(1)
	return s.Store.Delete(ctx, d)
}

func (s counted) Renew(ctx context.Context, old, new session.Digest, rec *session.Record) error {
	s.calls.Add(1)
	return s.Store.Renew(ctx, old, new, rec)
}

func (s counted) ListByUser(ctx context.Context, userID string, now time.Time) ([]session.Entry, error) {
	s.calls.Add(1)
	return s.Store.ListByUser(ctx, userID, now)
}

func (s counted) DeleteByUser(ctx context.Context, userID string, keep session.Digest) (int, error) {
	s.calls.Add(1)
	return s.Store.DeleteByUser(ctx, userID, keep)
}

// Store calls per request, both tiers counted: a new session is one
// durable write; the first read of a session, and the first after each
// write (which invalidates the copy), costs five (a cache miss, the
// durable read, the copy marked as being filled, the durable re-check,
// the mark); a read served by the cache one; a write three (the cached
// read, the durable write, the invalidation); a due refresh two more; a
// login three.
func TestStoreCallsPerRequest(t *testing.T) {
	var calls atomic.Int64
	s, err := tieredstore.New(counted{mem(t), &calls}, counted{mem(t), &calls})
	if err != nil {
		t.Fatal(err)
	}
	sessiontest.CheckRequestCosts(t, s, calls.Load, []sessiontest.RequestCost{
		{Path: "/new", Want: 1},
		{Path: "/read", Advance: time.Second, Want: 5},
		{Path: "/read", Advance: time.Second, Want: 1},
		{Path: "/write", Advance: time.Second, Want: 3},
		{Path: "/read", Advance: time.Second, Want: 5},
		{Path: "/read", Advance: 5 * time.Minute, Want: 3},
		{Path: "/read", Advance: time.Second, Want: 5},
		{Path: "/login", Advance: time.Second, Want: 3},
		{Path: "/read", Advance: time.Second, Want: 5},
		{Path: "/read", Advance: time.Second, Want: 1},
	})
}

// A session deleted in the durable store behind the cache's back (by a
// tool that opens the durable store alone, such as sessionctl's
// force-logout) has its cached copy dropped by the next write, touch or
// renewal that finds it gone: before, the copy kept answering reads, and
// each request that tried to refresh it was still served as the session.
func TestDurableDeletionDropsTheCachedCopy(t *testing.T) {
	for _, op := range []string{"update", "touch", "renew"} {
		cache, durable := mem(t), mem(t)
		s, _ := tieredstore.New(cache, durable)
		ctx := context.Background()
		d := sessiontest.NewDigest()
		s.Create(ctx, d, record("u"))
		if _, err := s.Load(ctx, d); err != nil { // fills the cache
			t.Fatal(err)
		}
		if n, err := durable.DeleteByUser(ctx, "u", session.Digest{}); n != 1 || err != nil {
			t.Fatalf("durable DeleteByUser = %d, %v", n, err)
		}
		var err error
		switch op {
		case "update":
			err = s.Update(ctx, d, &session.Change{Set: map[string][]byte{"k": []byte(`"late"`)}})
		case "touch":
			err = s.Touch(ctx, d, time.Now(), time.Now().Add(time.Hour))
		case "renew":
			err = s.Renew(ctx, d, sessiontest.NewDigest(), record("u"))
		}
		if !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("%s of a session deleted durably: %v, want ErrNotFound", op, err)
		}
		if _, err := s.Load(ctx, d); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("after the %s found it gone, the cache still serves the session: %v", op, err)
		}
	}
}
