package memcachedstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"go.uber.org/goleak"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/memcachedstore"
	"github.com/sessionkit/session/stores/memcachedstore/memcachedtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var prefixes atomic.Int64

// newStore returns a store over servers (two fresh ones unless given),
// under a prefix of its own.
func newStore(t testing.TB, servers ...*memcachedtest.Server) *memcachedstore.Store {
	t.Helper()
	if len(servers) == 0 {
		servers = []*memcachedtest.Server{memcachedtest.Start(t), memcachedtest.Start(t)}
	}
	addrs := make([]string, len(servers))
	for i, s := range servers {
		addrs[i] = s.Addr
	}
	sel, err := memcachedstore.NewServers(addrs...)
	if err != nil {
		t.Fatal(err)
	}
	client := memcache.NewFromSelector(sel)
	client.Timeout = 2 * time.Second
	client.MaxIdleConns = 64
	t.Cleanup(func() { client.Close() })
	st, err := memcachedstore.New(client, memcachedstore.WithPrefix(fmt.Sprintf("t%d:", prefixes.Add(1))))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// The conformance suite, on two servers (keys spread over both).
func TestConformance(t *testing.T) {
	servers := []*memcachedtest.Server{memcachedtest.Start(t), memcachedtest.Start(t)}
	sessiontest.Run(t, func(t *testing.T) session.Store { return newStore(t, servers...) })
}

func TestFiftyConcurrentWriters(t *testing.T) {
	sessiontest.MixedConcurrentOperations(t, newStore(t), 50, 40)
}

// Once a revocation returns, no session it covered, nor a renewed
// continuation of one, loads again (issue 17's guarantee, with the index
// kept by cas).
func TestRevocationRace(t *testing.T) {
	sessiontest.RevocationRaceStore(t, newStore(t), 300)
}

// Issue 18 (5): WithMaxSessionsPerUser holds under concurrent logins of
// one user: once they have answered, at most the limit are logged in.
func TestSessionLimitRace(t *testing.T) {
	sessiontest.SessionLimitRace(t, newStore(t), 3, 20, 30)
}

func TestDoubleLogin(t *testing.T) {
	sessiontest.DoubleLoginStore(t, newStore(t), 300)
}

func TestConcurrentWritesHoldSizeLimit(t *testing.T) {
	sessiontest.ConcurrentSizeLimit(t, newStore(t), 200, 1000, 64<<10)
}

func TestHeaderTokens(t *testing.T) {
	sessiontest.HeaderTokens(t, newStore(t))
}

// 200 concurrent writes of 200 different keys to one session, each from a
// stale view of it: none is lost (cas re-applies each change).
func TestNoLostUpdates(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	now := time.Now()
	d := sessiontest.NewDigest()
	base := &session.Record{Values: map[string][]byte{}, Created: now, LastSeen: now, IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(2 * time.Hour), Version: 1}
	if err := st.Create(ctx, d, base); err != nil {
		t.Fatal(err)
	}
	// Bases as requests have them: loaded through the store (they carry
	// the item's cas id, so the first write of each is one cas), shared by
	// half of the writers and loaded by each of the others, and for a few
	// the record as created (no cas id: the gets/cas path).
	loaded, err := st.Load(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			b := loaded
			switch {
			case i%10 == 0:
				b = base
			case i%2 == 1:
				own, err := st.Load(ctx, d)
				if err != nil {
					t.Error(err)
					return
				}
				b = own
			}
			c := &session.Change{Base: b, Set: map[string][]byte{fmt.Sprintf("k%d", i): []byte("1")}}
			if err := st.Update(ctx, d, c); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	rec, err := st.Load(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Values) != 200 {
		t.Fatalf("%d of 200 concurrent updates lost", 200-len(rec.Values))
	}
}

// A session whose stored form exceeds Memcached's item limit is refused
// before anything is written.
func TestItemSizeLimit(t *testing.T) {
	srv := memcachedtest.Start(t)
	client := memcache.New(srv.Addr)
	defer client.Close()
	// The user index is an item too: a limit under which a full index
	// would not fit is refused (Memcached answered the login that filled
	// it with "object too large").
	if _, err := memcachedstore.New(client, memcachedstore.WithMaxItemSize(64<<10)); err == nil || !strings.Contains(err.Error(), "WithIndexLimit") {
		t.Fatalf("an item size limit under the default index's size: %v", err)
	}
	st, err := memcachedstore.New(client, memcachedstore.WithMaxItemSize(64<<10), memcachedstore.WithIndexLimit(1000))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rec := &session.Record{Values: map[string][]byte{"big": []byte(`"` + strings.Repeat("x", 70<<10) + `"`)}, Created: now, LastSeen: now, IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(time.Hour), Version: 1}
	if err := st.Create(context.Background(), sessiontest.NewDigest(), rec); !errors.Is(err, session.ErrTooLarge) {
		t.Fatalf("oversized create: %v", err)
	}
	// An update that would take the item over the limit is refused the
	// same way, and the item stays as it was.
	ctx := context.Background()
	d := sessiontest.NewDigest()
	rec.Values = map[string][]byte{"half": []byte(`"` + strings.Repeat("x", 40<<10) + `"`)}
	if err := st.Create(ctx, d, rec); err != nil {
		t.Fatal(err)
	}
	err = st.Update(ctx, d, &session.Change{Set: map[string][]byte{"more": []byte(`"` + strings.Repeat("y", 30<<10) + `"`)}})
	if !errors.Is(err, session.ErrTooLarge) {
		t.Fatalf("an update over the item limit: %v, want ErrTooLarge", err)
	}
	got, err := st.Load(ctx, d)
	if err != nil || len(got.Values) != 1 || len(got.Values["half"]) != len(rec.Values["half"]) {
		t.Fatalf("after the refused update: %v, %v", got, err)
	}
	for _, bad := range []string{"a b", "x\n", strings.Repeat("p", 65)} {
		if _, err := memcachedstore.New(client, memcachedstore.WithPrefix(bad)); err == nil {
			t.Errorf("prefix %q accepted", bad)
		}
	}
}

// Expirations over Memcached's 30-day limit for relative times are sent
// as absolute Unix times, and the item lives that long.
func TestLongExpiry(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	now := time.Now()
	d := sessiontest.NewDigest()
	rec := &session.Record{Values: map[string][]byte{"a": []byte("1")}, Created: now, LastSeen: now, IdleExpiry: now.Add(90 * 24 * time.Hour), AbsExpiry: now.Add(100 * 24 * time.Hour), Version: 1}
	if err := st.Create(ctx, d, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx, d); err != nil {
		t.Fatalf("a 90-day session is gone at once (relative expiry misread): %v", err)
	}
}

// A memcached started with -C (no CAS) answers gets with a CAS id of 0 and
// accepts every cas: the store's conditional writes would overwrite
// concurrent changes silently. The store refuses such a server on its
// first read, with an error that names the flag.
func TestServerWithoutCASRefused(t *testing.T) {
	st := newStore(t, memcachedtest.Start(t, "-C"))
	ctx := context.Background()
	now := time.Now()
	d := sessiontest.NewDigest()
	rec := &session.Record{Values: map[string][]byte{"k": []byte(`"v"`)}, UserID: "alice", Created: now, LastSeen: now,
		IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(2 * time.Hour), Version: 1}
	if err := st.Create(ctx, d, rec); err != nil {
		t.Fatal(err)
	}
	_, err := st.Load(ctx, d)
	if err == nil || errors.Is(err, session.ErrNotFound) || !strings.Contains(err.Error(), "-C") {
		t.Fatalf("Load from a memcached without CAS: %v; want an error naming -C", err)
	}
	err = st.Update(ctx, d, &session.Change{Set: map[string][]byte{"k2": []byte("1")}})
	if err == nil || errors.Is(err, session.ErrNotFound) || !strings.Contains(err.Error(), "-C") {
		t.Fatalf("Update on a memcached without CAS: %v; want an error naming -C", err)
	}
	if _, err := st.DeleteByUser(ctx, "alice", session.Digest{}); err == nil {
		t.Fatal("a revocation on a memcached without CAS reported a count")
	}
}

// Logouts unlist their sessions: before, Delete left the entry behind, and
// a user with many logins (a service account) had an index growing towards
// its limit that every read of a logged-in session fetched whole.
func TestLogoutsUnlist(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	now := time.Now()
	var keep session.Digest
	for i := range 50 {
		d := sessiontest.NewDigest()
		rec := &session.Record{Values: map[string][]byte{}, UserID: "svc", Created: now, LastSeen: now,
			IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(2 * time.Hour), Version: 1}
		if err := st.Create(ctx, d, rec); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			keep = d
			continue
		}
		if ok, err := st.Delete(ctx, d); err != nil || !ok {
			t.Fatalf("Delete = %v, %v", ok, err)
		}
	}
	item, err := st.Client().Get(st.UserKey("svc"))
	if err != nil {
		t.Fatal(err)
	}
	list, err := st.ListByUser(ctx, "svc", now)
	if err != nil || len(list) != 1 || list[0].Digest != keep {
		t.Fatalf("ListByUser = %d sessions, %v", len(list), err)
	}
	// One entry left: the index is one entry's size, not fifty's.
	if one := len(item.Value); one > 2*56+16 {
		t.Fatalf("the index after 49 logouts of 50 logins holds %d bytes", one)
	}
	if _, err := st.Load(ctx, keep); err != nil {
		t.Fatalf("the session left: %v", err)
	}
	// An index this version cannot read (an earlier version's, which
	// processes still running it accept) is left as it is by a logout: a
	// write would empty it.
	old := []byte(`[{"d":"earlier format"}]`)
	if err := st.Client().Set(&memcache.Item{Key: st.UserKey("svc"), Value: old}); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.Delete(ctx, keep); err != nil || !ok {
		t.Fatalf("Delete under an unreadable index = %v, %v", ok, err)
	}
	if item, err := st.Client().Get(st.UserKey("svc")); err != nil || string(item.Value) != string(old) {
		t.Fatalf("a logout rewrote an unreadable index: %v, %v", item, err)
	}
}
