package redisstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/redisstore"
)

// storeWithPrefix returns a store on c under a fresh prefix, removed after
// the test, and that prefix.
func storeWithPrefix(t *testing.T, c *redis.Client) (*redisstore.Store, string) {
	t.Helper()
	prefix := randomPrefix()
	st, err := redisstore.New(context.Background(), c, redisstore.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := deletePrefix(c, prefix); err != nil {
			t.Errorf("cleaning %s: %v", prefix, err)
		}
	})
	return st, prefix
}

// createSessions stores n sessions of user expiring at exp and returns
// their digests.
func createSessions(t *testing.T, st *redisstore.Store, user string, n int, exp time.Time) []session.Digest {
	t.Helper()
	now := time.Now()
	out := make([]session.Digest, n)
	for i := range out {
		rand.Read(out[i][:])
		rec := &session.Record{Values: map[string][]byte{"k": []byte(`"v"`)}, UserID: user, Created: now, LastSeen: now,
			IdleTimeout: exp.Sub(now), IdleExpiry: exp, AbsExpiry: now.Add(24 * time.Hour), Version: 1}
		if err := st.Create(context.Background(), out[i], rec); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// alive counts the digests whose session can still be loaded.
func alive(t *testing.T, st *redisstore.Store, ds []session.Digest) int {
	t.Helper()
	n := 0
	for _, d := range ds {
		_, err := st.Load(context.Background(), d)
		switch {
		case err == nil:
			n++
		case !errors.Is(err, session.ErrNotFound):
			t.Fatal(err)
		}
	}
	return n
}

// R27: force-logout must not depend on what Redis evicts under memory
// pressure. Only sessions carry a TTL, so a volatile-* policy evicts
// sessions (here the filler keys, whose TTL is shorter) but never the user
// index; an index with a TTL would be a candidate like any session.
func TestUserIndexSurvivesEviction(t *testing.T) {
	p := startRedis(t, "--maxmemory", "4mb", "--maxmemory-policy", "volatile-ttl", "--maxmemory-samples", "10")
	c := redis.NewClient(&redis.Options{Addr: p.addr})
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	st, prefix := storeWithPrefix(t, c)
	ds := createSessions(t, st, "alice", 20, time.Now().Add(12*time.Hour))
	index := prefix + "user:alice"
	if ttl, err := c.PTTL(ctx, index).Result(); err != nil || ttl != -1 {
		t.Fatalf("user index PTTL = %v, %v; want no TTL (-1)", ttl, err)
	}
	filler := strings.Repeat("x", 1024)
	for batch := range 100 { // 20,000 keys of 1 KiB: five times maxmemory
		_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := range 200 {
				p.Set(ctx, "filler:"+strconv.Itoa(batch*200+i), filler, time.Hour)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	info, err := c.Info(ctx, "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info, "evicted_keys:") || strings.Contains(info, "evicted_keys:0\r") {
		t.Fatalf("no eviction happened; the test proves nothing:\n%s", info)
	}
	if n, err := c.Exists(ctx, index).Result(); err != nil || n != 1 {
		t.Fatalf("user index evicted (exists = %d, %v)", n, err)
	}
	survivors := alive(t, st, ds)
	if survivors == 0 {
		t.Fatal("every session was evicted; the test proves nothing")
	}
	t.Logf("%d of %d sessions survived the eviction", survivors, len(ds))
	if _, err := st.DeleteByUser(ctx, "alice", session.Digest{}); err != nil {
		t.Fatal(err)
	}
	if n := alive(t, st, ds); n != 0 {
		t.Fatalf("%d of %d surviving sessions outlived force-logout", n, survivors)
	}
}

// An index lost anyway (manual DEL, allkeys-* eviction, partial restore) is
// rebuilt from the expiry shards, after which force-logout finds every
// session again; other users' indexes are untouched.
func TestRebuildUserIndex(t *testing.T) {
	c := testClient(t)
	ctx := context.Background()
	st, prefix := storeWithPrefix(t, c)
	exp := time.Now().Add(time.Hour)
	alice := createSessions(t, st, "alice", 5, exp)
	bob := createSessions(t, st, "bob", 3, exp)
	createSessions(t, st, "", 2, exp) // anonymous: in no index
	if err := c.Del(ctx, prefix+"user:alice").Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := st.DeleteByUser(ctx, "alice", session.Digest{}); err != nil || n != 0 {
		t.Fatalf("revoke with the index lost: %d, %v (want 0: nothing to find)", n, err)
	}
	added, err := st.RebuildUserIndex(ctx, 2) // small pages: several ZSCAN calls per shard
	if err != nil || added != 5 {
		t.Fatalf("RebuildUserIndex = %d, %v; want 5 (alice's, bob's were present)", added, err)
	}
	if n, err := st.DeleteByUser(ctx, "alice", session.Digest{}); err != nil || n != 5 {
		t.Fatalf("revoke after the rebuild: %d, %v", n, err)
	}
	if alive(t, st, alice) != 0 || alive(t, st, bob) != 3 {
		t.Fatal("rebuild and revoke touched the wrong sessions")
	}
	list, err := st.ListByUser(ctx, "bob", time.Now())
	if err != nil || len(list) != 3 {
		t.Fatalf("bob's list: %d, %v", len(list), err)
	}
}

// Sessions that Redis expires by TTL leave their index entries behind;
// the cleaner (DeleteExpired) removes them, so indexes without a TTL do not
// grow with users who never come back.
func TestDeleteExpiredPrunesUserIndex(t *testing.T) {
	c := testClient(t)
	ctx := context.Background()
	st, prefix := storeWithPrefix(t, c)
	short := createSessions(t, st, "carol", 3, time.Now().Add(200*time.Millisecond))
	long := createSessions(t, st, "carol", 1, time.Now().Add(time.Hour))
	deadline := time.Now().Add(5 * time.Second)
	for alive(t, st, short) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("Redis did not expire the sessions")
		}
		time.Sleep(50 * time.Millisecond)
	}
	index := prefix + "user:carol"
	if n, _ := c.HLen(ctx, index).Result(); n != 4 {
		t.Fatalf("index holds %d members before cleanup, want 4", n)
	}
	removed, err := st.DeleteExpired(ctx, time.Now(), 1000)
	if err != nil || removed != 3 {
		t.Fatalf("DeleteExpired = %d, %v; want 3", removed, err)
	}
	members, err := c.HKeys(ctx, index).Result()
	if err != nil || len(members) != 1 || members[0] != string(long[0][:]) {
		t.Fatalf("index after cleanup: %d members, %v; want only the live session", len(members), err)
	}
}

// A login racing a force-logout, injected by a pipeline hook between the
// revocation's claim of the user's index and its deletions (the moment the
// old code, which read the index and then deleted, lost renewed sessions):
// the session created then did not exist when the index was claimed; it
// stays, and stays indexed, so it is listed and the next revocation ends
// it.
func TestDeleteByUserKeepsLoginAfterClaim(t *testing.T) {
	c := testClient(t)
	st, prefix := storeWithPrefix(t, c)
	old := createSessions(t, st, "trent", 2, time.Now().Add(time.Hour))

	racing := redis.NewClient(&redis.Options{Addr: addr()})
	defer racing.Close()
	var fresh []session.Digest
	armed := false // from the revocation on, not while New loads scripts
	racing.AddHook(pipelineHook(func() {
		if armed && fresh == nil {
			fresh = createSessions(t, st, "trent", 1, time.Now().Add(time.Hour))
		}
	}))
	rst, err := redisstore.New(context.Background(), racing, redisstore.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	armed = true
	n, err := rst.DeleteByUser(context.Background(), "trent", session.Digest{})
	if err != nil || n != len(old) {
		t.Fatalf("DeleteByUser = %d, %v; want %d", n, err, len(old))
	}
	if alive(t, st, old) != 0 || alive(t, st, fresh) != 1 {
		t.Fatalf("after the race: %d old and %d new sessions alive, want 0 and 1", alive(t, st, old), alive(t, st, fresh))
	}
	entries, err := st.ListByUser(context.Background(), "trent", time.Now())
	if err != nil || len(entries) != 1 || entries[0].Digest != fresh[0] {
		t.Fatalf("ListByUser after the race = %d entries, %v; want the new session", len(entries), err)
	}
	if n, err := st.DeleteByUser(context.Background(), "trent", session.Digest{}); err != nil || n != 1 {
		t.Fatalf("second DeleteByUser = %d, %v; want 1", n, err)
	}
	if n, err := c.HLen(context.Background(), prefix+"user:trent").Result(); err != nil || n != 0 {
		t.Fatalf("index after DeleteByUser: %d members, %v", n, err)
	}
}

// A renewal whose index entry a revocation has claimed does not happen, on
// one node as on Cluster: the old session stays where it is (for the
// revocation to delete) and no new one is created.
func TestRenewAfterClaimRefused(t *testing.T) {
	c := testClient(t)
	st, prefix := storeWithPrefix(t, c)
	old := createSessions(t, st, "ursula", 1, time.Now().Add(time.Hour))[0]
	if err := c.HDel(context.Background(), prefix+"user:ursula", string(old[:])).Err(); err != nil { // as the claim does
		t.Fatal(err)
	}
	nw := sessiontest.NewDigest()
	rec, err := st.Load(context.Background(), old)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Renew(context.Background(), old, nw, rec); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Renew after the claim = %v, want ErrNotFound", err)
	}
	if alive(t, st, []session.Digest{nw}) != 0 || alive(t, st, []session.Digest{old}) != 1 {
		t.Fatal("a renewal after the claim changed the sessions")
	}
}

// pipelineHook runs a function ahead of every pipeline.
type pipelineHook func()

func (h pipelineHook) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h pipelineHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h pipelineHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h()
		return next(ctx, cmds)
	}
}

// On one node a session and its index entry are written by one script, so
// an entry without a session is dead: listing prunes it, and a revocation
// drops every entry it read.
func TestIndexPrunedOnOneNode(t *testing.T) {
	c := testClient(t)
	st, prefix := storeWithPrefix(t, c)
	ctx := context.Background()
	idx := prefix + "user:walter"
	live := createSessions(t, st, "walter", 1, time.Now().Add(time.Hour))
	var dead [2][32]byte
	rand.Read(dead[0][:])
	rand.Read(dead[1][:])
	if err := c.HSet(ctx, idx, string(dead[0][:]), "", "malformed", "").Err(); err != nil {
		t.Fatal(err)
	}
	entries, err := st.ListByUser(ctx, "walter", time.Now())
	if err != nil || len(entries) != 1 || entries[0].Digest != live[0] {
		t.Fatalf("ListByUser = %d entries, %v; want the live session", len(entries), err)
	}
	if ok, err := c.HExists(ctx, idx, string(dead[0][:])).Result(); err != nil || ok {
		t.Fatalf("dead entry still indexed after listing (%v)", err)
	}
	if err := c.HSet(ctx, idx, string(dead[1][:]), "").Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := st.DeleteByUser(ctx, "walter", session.Digest{}); err != nil || n != 1 {
		t.Fatalf("DeleteByUser = %d, %v; want 1", n, err)
	}
	if n, err := c.HLen(ctx, idx).Result(); err != nil || n != 0 {
		t.Fatalf("walter's index holds %d members (%v) after revocation, want 0", n, err)
	}
}

// Issue 17: revoking many sessions is not bounded by a per-session round
// trip. 131,072 sessions of one user (the old code reached 25,280 of them
// before the 10-second deadline of a revocation) go in one call, on one
// node and on Cluster.
func TestRevokeManySessions(t *testing.T) {
	const n = 131072
	for _, topo := range []string{"standalone", "cluster"} {
		t.Run(topo, func(t *testing.T) {
			var c redis.UniversalClient
			if topo == "cluster" {
				c = startCluster(t)
			} else {
				c = testClient(t)
			}
			st := newStore(t, c)
			ctx := context.Background()
			now := time.Now()
			rec := &session.Record{Values: map[string][]byte{"k": []byte(`"v"`)}, UserID: "many", Created: now, LastSeen: now,
				IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(time.Hour), Version: 1}
			var wg sync.WaitGroup
			for g := range 16 {
				wg.Go(func() {
					for i := g; i < n; i += 16 {
						var d session.Digest
						rand.Read(d[:])
						if err := st.Create(ctx, d, rec); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			m, err := session.New(st, session.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			start := time.Now()
			deleted, err := m.RevokeUser(rctx, "many")
			took := time.Since(start)
			if err != nil || deleted != n {
				t.Fatalf("RevokeUser = %d, %v after %v; want %d", deleted, err, took, n)
			}
			t.Logf("%s: %d sessions revoked in %v", topo, n, took)
			if left, err := st.ListByUser(ctx, "many", time.Time{}); err != nil || len(left) != 0 {
				t.Fatalf("after the revocation: %d sessions listed, %v", len(left), err)
			}
		})
	}
}
