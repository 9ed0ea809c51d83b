package redisstore_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/redisstore"
)

func TestConformanceCluster(t *testing.T) {
	cc := startCluster(t)
	sessiontest.Run(t, func(t *testing.T) session.Store { return newStore(t, cc) })
}

func TestConformanceSentinel(t *testing.T) {
	g := startSentinel(t)
	sessiontest.Run(t, func(t *testing.T) session.Store { return newStore(t, g.client) })
	t.Run("ReplicaOnlyClientRefused", func(t *testing.T) {
		var addrs []string
		for _, p := range g.sentinels {
			addrs = append(addrs, p.addr)
		}
		c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "mymaster", SentinelAddrs: addrs, ReplicaOnly: true})
		defer c.Close()
		if _, err := redisstore.New(context.Background(), c); err == nil || !strings.Contains(err.Error(), "connected to a replica") {
			t.Fatalf("New on a ReplicaOnly Sentinel client: %v, want a refusal", err)
		}
	})
}

// Failover: sessions written and replicated before the master dies are
// readable after the sentinels promote the replica; during the outage every
// request fails through the error handler (503), never as "no session"; the
// store serves again within a bounded time.
func TestSentinelFailover(t *testing.T) {
	g := startSentinel(t)
	do := sentinelApp(t, newStore(t, g.client, redisstore.WithWait(1, 2*time.Second)))
	var cookies []*http.Cookie
	for i := range 20 {
		w := do(fmt.Sprintf("/login?u=user%d", i), nil)
		if w.Code != 200 {
			t.Fatalf("login %d: %d", i, w.Code)
		}
		cookies = append(cookies, w.Result().Cookies()[0])
	}
	// Make sure the replica has everything (WAIT on the master).
	mc := redis.NewClient(&redis.Options{Addr: g.master.addr})
	if n, err := mc.Wait(context.Background(), 1, 5*time.Second).Result(); err != nil || n < 1 {
		t.Fatalf("WAIT: %d %v", n, err)
	}
	mc.Close()

	g.master.stop() // SIGKILL
	killed := time.Now()
	var outage int
	var recovered time.Duration
	for i := 0; ; i++ {
		if time.Since(killed) > 30*time.Second {
			t.Fatalf("store did not recover within 30 s (%d failed requests)", outage)
		}
		c := cookies[i%len(cookies)]
		w := do("/whoami", c)
		switch {
		case w.Code == http.StatusServiceUnavailable:
			outage++
			time.Sleep(50 * time.Millisecond)
			continue
		case w.Code != 200:
			t.Fatalf("during failover: status %d %q", w.Code, w.Body.String())
		case w.Body.String() != fmt.Sprintf("user%d", i%len(cookies)):
			t.Fatalf("during failover a session was read as %q (anonymous): never treat an outage as no session", w.Body.String())
		}
		recovered = time.Since(killed)
		break
	}
	t.Logf("failover: served again %v after the master was killed; %d requests failed with 503 meanwhile", recovered, outage)
	for i, c := range cookies {
		w := do("/whoami", c)
		if w.Code != 200 || w.Body.String() != fmt.Sprintf("user%d", i) {
			t.Fatalf("session %d after failover: %d %q", i, w.Code, w.Body.String())
		}
	}
	if outage == 0 {
		t.Log("no request failed: the client had already switched to the new master")
	}
}

// On Cluster the round trips are the same as on one node, the login
// included: its old and new keys live in different hash slots, and one
// pipeline takes the old session and creates the new one on both nodes at
// once.
func TestRoundTripsCluster(t *testing.T) {
	cc := startCluster(t)
	cc.AddHook(tripHook{})
	st := newStore(t, cc)
	clock := time.Now()
	m, err := session.New(st, session.WithClock(func() time.Time { return clock }), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		switch r.URL.Path {
		case "/read":
			session.Get[string](s, "name")
		case "/write":
			s.Set("name", "Grace")
		case "/new":
			s.Set("name", "Ada")
		case "/login":
			m.Login(r.Context(), "42")
		}
	}))
	var cookie *http.Cookie
	for _, tc := range []struct {
		path  string
		trips int64
	}{{"/new", 1}, {"/read", 1}, {"/write", 2}, {"/login", 3}, {"/read", 1}} { // a login takes the old session before creating the new one
		clock = clock.Add(time.Second)
		r := httptest.NewRequest("GET", tc.path, nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		trips.Store(0)
		h.ServeHTTP(w, r)
		if got := trips.Load(); got != tc.trips || w.Code != 200 {
			t.Errorf("%s on Cluster: %d round trips (status %d), want %d", tc.path, got, w.Code, tc.trips)
		}
		for _, c := range w.Result().Cookies() {
			cookie = c
		}
	}
	// The user's sessions are listed and revoked across slots.
	if n, err := m.RevokeUser(context.Background(), "42"); err != nil || n != 1 {
		t.Fatalf("RevokeUser on Cluster = %d, %v", n, err)
	}
}

// Operations whose keys live in different hash slots, on a real Cluster.
// A login (Renew across slots: a take, then a pipeline) that fails halfway is undone:
// the old session comes back as it was, in its user's index, and a new
// session is never left behind. The failure of the new session's node is
// real: it refuses writes (min-replicas-to-write with no replica). An
// index entry whose session does not exist yet (a login in flight) is
// neither pruned by listing nor dropped by a revocation.
func TestClusterAcrossSlots(t *testing.T) {
	cc := startCluster(t)
	ctx := context.Background()
	prefix := randomPrefix()
	st, err := redisstore.New(ctx, cc, redisstore.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Millisecond).UTC()
	record := func(user string) *session.Record {
		return &session.Record{
			Values:      map[string][]byte{"cart": []byte(`[1,2]`), "name": []byte(`"Ada"`)},
			UserID:      user,
			Created:     now.Add(-time.Minute),
			LastSeen:    now,
			IdleTimeout: 30 * time.Minute,
			IdleExpiry:  now.Add(30 * time.Minute),
			AbsExpiry:   now.Add(time.Hour),
			Version:     3,
			IP:          "192.0.2.1",
		}
	}
	node := func(t *testing.T, d session.Digest) *redis.Client {
		c, err := cc.MasterForKey(ctx, "{"+hex.EncodeToString(d[:1])+"}")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// apart returns an old and a new digest whose sessions live on
	// different nodes.
	apart := func(t *testing.T) (old, nw session.Digest) {
		old = sessiontest.NewDigest()
		for {
			nw = sessiontest.NewDigest()
			if node(t, nw).Options().Addr != node(t, old).Options().Addr {
				return old, nw
			}
		}
	}
	create := func(t *testing.T, d session.Digest, r *session.Record) *session.Record {
		t.Helper()
		if err := st.Create(ctx, d, r); err != nil {
			t.Fatal(err)
		}
		got, err := st.Load(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	listed := func(t *testing.T, user string) []session.Digest {
		t.Helper()
		entries, err := st.ListByUser(ctx, user, now)
		if err != nil {
			t.Fatal(err)
		}
		var ds []session.Digest
		for _, e := range entries {
			ds = append(ds, e.Digest)
		}
		return ds
	}
	restored := func(t *testing.T, d session.Digest, want *session.Record) {
		t.Helper()
		got, err := st.Load(ctx, d)
		if err != nil {
			t.Fatalf("old session after a failed renewal: %v", err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("old session after a failed renewal:\n got %+v\nwant %+v", got, want)
		}
		if ds := listed(t, want.UserID); !slices.Contains(ds, d) {
			t.Fatalf("old session missing from %s's index after a failed renewal", want.UserID)
		}
	}

	t.Run("RenewToAnotherUser", func(t *testing.T) {
		old, nw := apart(t)
		create(t, old, record("alice"))
		if err := st.Renew(ctx, old, nw, record("bob")); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Load(ctx, old); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("old session after renewal: %v", err)
		}
		// The previous user's index was cleaned up, not left to the lazy
		// pruning (which listing does).
		if n, err := cc.HLen(ctx, prefix+"user:alice").Result(); err != nil || n != 0 {
			t.Fatalf("alice's index holds %d members (%v), want 0", n, err)
		}
		if ds := listed(t, "alice"); len(ds) != 0 {
			t.Fatalf("alice still lists %d sessions", len(ds))
		}
		if ds := listed(t, "bob"); !slices.Equal(ds, []session.Digest{nw}) {
			t.Fatalf("bob lists %x, want the new session", ds)
		}
	})

	t.Run("RenewTargetExists", func(t *testing.T) {
		old, nw := apart(t)
		want := create(t, old, record("alice"))
		other := create(t, nw, record("carol"))
		if err := st.Renew(ctx, old, nw, record("alice")); !errors.Is(err, session.ErrExists) {
			t.Fatalf("Renew onto an existing digest = %v, want ErrExists", err)
		}
		restored(t, old, want)
		if got, err := st.Load(ctx, nw); err != nil || !reflect.DeepEqual(got, other) {
			t.Fatalf("existing target after a failed renewal: %+v, %v", got, err)
		}
	})

	// userOn returns a user name whose index lives (on) or does not live
	// (!on) on the node of d.
	userOn := func(t *testing.T, d session.Digest, on bool) string {
		for i := 0; ; i++ {
			user := fmt.Sprintf("dave%d", i)
			c, err := cc.MasterForKey(ctx, prefix+"user:"+user)
			if err != nil {
				t.Fatal(err)
			}
			if (c.Options().Addr == node(t, d).Options().Addr) == on {
				return user
			}
		}
	}
	refuseWrites := func(t *testing.T, d session.Digest, renew func() error) error {
		n := node(t, d)
		if err := n.ConfigSet(ctx, "min-replicas-to-write", "1").Err(); err != nil {
			t.Fatal(err)
		}
		err := renew()
		if err := n.ConfigSet(ctx, "min-replicas-to-write", "0").Err(); err != nil {
			t.Fatal(err)
		}
		return err
	}

	t.Run("RenewNewNodeRefusesWrites", func(t *testing.T) {
		old, nw := apart(t)
		user := userOn(t, nw, false)
		want := create(t, old, record(user))
		err := refuseWrites(t, nw, func() error { return st.Renew(ctx, old, nw, record(user)) })
		if err == nil || errors.Is(err, session.ErrNotFound) || errors.Is(err, session.ErrExists) {
			t.Fatalf("Renew with the new session's node refusing writes = %v, want its error", err)
		}
		restored(t, old, want)
		if _, err := st.Load(ctx, nw); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("new session after a failed renewal: %v", err)
		}
	})

	// When the user's index cannot be written either, nothing can tell
	// whether a revocation claimed the session meanwhile: the renewal fails
	// closed, with the error, and the old session is not put back.
	t.Run("RenewIndexNodeRefusesWrites", func(t *testing.T) {
		old, nw := apart(t)
		user := userOn(t, nw, true)
		create(t, old, record(user))
		err := refuseWrites(t, nw, func() error { return st.Renew(ctx, old, nw, record(user)) })
		if err == nil || errors.Is(err, session.ErrNotFound) {
			t.Fatalf("Renew with the index's node refusing writes = %v, want its error", err)
		}
		for _, d := range []session.Digest{old, nw} {
			if _, err := st.Load(ctx, d); !errors.Is(err, session.ErrNotFound) {
				t.Fatalf("session after a renewal that failed closed: %v", err)
			}
		}
	})

	// The old session's node refuses the take: nothing else is changed,
	// so the old session stays as it was, listed in its user's index (a
	// revocation finds it). Before, the index entry could move in the same
	// pipeline while the take failed, and with the clean-up failing too the
	// old session lived on unindexed, out of every revocation's reach.
	t.Run("RenewOldNodeRefusesWrites", func(t *testing.T) {
		old, nw := apart(t)
		user := userOn(t, old, false)
		want := create(t, old, record(user))
		err := refuseWrites(t, old, func() error { return st.Renew(ctx, old, nw, record(user)) })
		if err == nil || errors.Is(err, session.ErrNotFound) {
			t.Fatalf("Renew with the old session's node refusing writes = %v, want its error", err)
		}
		restored(t, old, want)
		if _, err := st.Load(ctx, nw); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("new session after a renewal whose take failed: %v", err)
		}
		if n, err := st.DeleteByUser(ctx, user, session.Digest{}); err != nil || n < 1 {
			t.Fatalf("revoking after a renewal whose take failed = %d, %v; want the old session", n, err)
		}
		if _, err := st.Load(ctx, old); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("the old session after its user's revocation: %v", err)
		}
	})

	// The request ends (its context cancelled) right after the take: the
	// renewal still completes (or is undone) instead of leaving the old
	// session taken and never put back.
	t.Run("RenewCancelledAfterTheTake", func(t *testing.T) {
		old, nw := apart(t)
		user := userOn(t, nw, false)
		create(t, old, record(user))
		oldKey := prefix + "{" + hex.EncodeToString(old[:1]) + "}"
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		hook := &cancelAfter{match: func(cmd redis.Cmder) bool {
			args := cmd.Args()
			return len(args) > 3 && strings.EqualFold(fmt.Sprint(args[0]), "eval") && strings.HasPrefix(fmt.Sprint(args[3]), oldKey)
		}, cancel: cancel}
		hook.armed.Store(true)
		cc.AddHook(hook)
		defer hook.armed.Store(false)
		err := st.Renew(rctx, old, nw, record(user))
		if !hook.fired.Load() {
			t.Fatal("the take was not seen")
		}
		_, oldErr := st.Load(ctx, old)
		_, newErr := st.Load(ctx, nw)
		switch {
		case err == nil && newErr == nil && errors.Is(oldErr, session.ErrNotFound):
		case err != nil && oldErr == nil && errors.Is(newErr, session.ErrNotFound):
		default:
			t.Fatalf("a renewal cancelled after its take: %v; old session %v, new session %v (one of them must load)", err, oldErr, newErr)
		}
	})

	// A login over an anonymous session whose creation time is that of a
	// lineage of the user being revoked (markLineageScript's marker): the
	// index entry is not written, so the login must not stand either
	// (before, it succeeded with its session out of the user's index,
	// beyond every revocation's reach).
	t.Run("LoginIntoLineageBeingRevoked", func(t *testing.T) {
		old, nw := apart(t)
		create(t, old, record(""))
		rec := record("frank")
		if err := cc.HSet(ctx, prefix+"user:frank", "L:"+strconv.FormatInt(rec.Created.UnixMilli(), 10), "").Err(); err != nil {
			t.Fatal(err)
		}
		if err := st.Renew(ctx, old, nw, rec); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("a login into a lineage being revoked = %v, want ErrNotFound", err)
		}
		if _, err := st.Load(ctx, nw); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("the new session of a login into a lineage being revoked: %v", err)
		}
	})

	t.Run("RenewOldGone", func(t *testing.T) {
		old, nw := apart(t)
		if err := st.Renew(ctx, old, nw, record("erin")); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("Renew of a missing session = %v, want ErrNotFound", err)
		}
		if _, err := st.Load(ctx, nw); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("new session after renewing a missing one: %v", err)
		}
		if ds := listed(t, "erin"); len(ds) != 0 {
			t.Fatalf("erin lists %d sessions after a failed renewal", len(ds))
		}
	})

	// A login in flight when a revocation runs: its index entry was
	// written, its session not yet. The revocation claims the entry and
	// leaves a tombstone where the session will land, so the creation fails
	// (the manager retries a fresh login with a new token) instead of
	// leaving a session the revocation did not see.
	t.Run("IndexEntryInFlight", func(t *testing.T) {
		idx := prefix + "user:zoe"
		live, inflight := apart(t)
		create(t, live, record("zoe"))
		if err := cc.HSet(ctx, idx, string(inflight[:]), "").Err(); err != nil {
			t.Fatal(err)
		}
		if ds := listed(t, "zoe"); !slices.Equal(ds, []session.Digest{live}) {
			t.Fatalf("zoe lists %x, want the live session only", ds)
		}
		if n, err := st.DeleteByUser(ctx, "zoe", session.Digest{}); err != nil || n != 1 {
			t.Fatalf("DeleteByUser = %d, %v; want 1", n, err)
		}
		if n, err := cc.HLen(ctx, idx).Result(); err != nil || n != 0 {
			t.Fatalf("zoe's index holds %d members (%v) after the revocation, want 0", n, err)
		}
		if err := st.Create(ctx, inflight, record("zoe")); !errors.Is(err, session.ErrExists) {
			t.Fatalf("creation in flight after the revocation = %v, want ErrExists (a tombstone)", err)
		}
		for _, d := range []session.Digest{live, inflight} {
			if _, err := st.Load(ctx, d); !errors.Is(err, session.ErrNotFound) {
				t.Fatalf("Load after the revocation = %v, want ErrNotFound", err)
			}
			if err := st.Update(ctx, d, &session.Change{Set: map[string][]byte{"a": []byte("1")}}); !errors.Is(err, session.ErrNotFound) {
				t.Fatalf("Update after the revocation = %v, want ErrNotFound", err)
			}
			if err := st.Touch(ctx, d, time.Now(), time.Now().Add(time.Hour)); !errors.Is(err, session.ErrNotFound) {
				t.Fatalf("Touch after the revocation = %v, want ErrNotFound", err)
			}
			if err := st.Renew(ctx, d, sessiontest.NewDigest(), record("zoe")); !errors.Is(err, session.ErrNotFound) {
				t.Fatalf("Renew after the revocation = %v, want ErrNotFound", err)
			}
		}
		// The tombstone survives a Delete and expires on its own.
		if existed, err := st.Delete(ctx, inflight); err != nil || existed {
			t.Fatalf("Delete of a tombstone = %v, %v; want false, nil", existed, err)
		}
		if ttl, err := cc.PTTL(ctx, st.KeyOf(inflight)).Result(); err != nil || ttl <= 0 || ttl > redisstore.TombstoneTTL {
			t.Fatalf("tombstone TTL = %v, %v", ttl, err)
		}
		fresh := sessiontest.NewDigest()
		create(t, fresh, record("zoe"))
		if ds := listed(t, "zoe"); !slices.Equal(ds, []session.Digest{fresh}) {
			t.Fatalf("zoe lists %x after a fresh login, want it", ds)
		}
	})
}

// Issue 17 on Cluster: the user index and the sessions live in different
// slots.
func TestRevocationRaceCluster(t *testing.T) {
	sessiontest.RevocationRaceStore(t, newStore(t, startCluster(t)), 300)
}

func TestDoubleLoginCluster(t *testing.T) {
	sessiontest.DoubleLoginStore(t, newStore(t, startCluster(t)), 300)
}

func TestSessionLimitRaceCluster(t *testing.T) {
	sessiontest.SessionLimitRace(t, newStore(t, startCluster(t)), 3, 20, 30)
}

func TestConcurrentWritesHoldSizeLimitCluster(t *testing.T) {
	sessiontest.ConcurrentSizeLimit(t, newStore(t, startCluster(t)), 200, 1000, 64<<10)
}

// Issue 17 (6): with WithWait (wait=1 in a store URL: storeurl's
// TestRedisWaitFromURL shows the URL turns it on), a logout during which
// the replica cannot acknowledge fails (503, the session is not reported
// as ended), and logouts that succeeded survive a failover: the master is
// killed right after the last one and none of the 30 logged-out sessions
// answers again on the promoted replica, while a session that was not
// logged out does. Three runs, each on a topology of its own reached
// through a redis-sentinel:// URL (0 resurrections over 90 logouts).
func TestSentinelWaitedLogout(t *testing.T) {
	for run := range 3 {
		t.Run(fmt.Sprint("run", run), func(t *testing.T) {
			t.Parallel()
			sentinelWaitedLogout(t)
		})
	}
}

func sentinelWaitedLogout(t *testing.T) {
	g := startSentinel(t)
	addrs := make([]string, len(g.sentinels))
	for i, p := range g.sentinels {
		addrs[i] = p.addr
	}
	client, err := redisstore.NewClient("redis-sentinel://" + strings.Join(addrs, ",") + "/mymaster?dial_timeout=500ms&read_timeout=1s&write_timeout=1s&max_retries=-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	do := sentinelApp(t, newStore(t, client, redisstore.WithWait(1, 300*time.Millisecond)))
	login := func(user string) *http.Cookie {
		w := do("/login?u="+user, nil)
		if w.Code != 200 || len(w.Result().Cookies()) == 0 {
			t.Fatalf("login: %d", w.Code)
		}
		return w.Result().Cookies()[0]
	}

	// The replica cannot acknowledge: the logout fails loudly.
	c := login("paused")
	g.replica.pause(t)
	w := do("/logout", c)
	g.replica.resume(t)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("logout with the replica unreachable: status %d, want 503", w.Code)
	}
	for _, sc := range w.Result().Cookies() {
		if sc.MaxAge < 0 {
			t.Fatal("a logout that may be undone cleared the cookie as if it had succeeded")
		}
	}

	kept := login("kept")
	var out []*http.Cookie
	for i := range 30 {
		out = append(out, login(fmt.Sprintf("gone%d", i)))
	}
	for i, c := range out {
		if w := do("/logout", c); w.Code != 200 {
			t.Fatalf("logout %d: status %d", i, w.Code)
		}
	}
	g.master.stop() // SIGKILL, right after the last confirmed logout
	deadline := time.Now().Add(30 * time.Second)
	for {
		w := do("/whoami", kept)
		if w.Code == 200 && w.Body.String() == "kept" {
			break
		}
		if w.Code == 200 {
			t.Fatalf("a session that was not logged out reads as %q after the failover", w.Body.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failover within 30 s (last status %d)", w.Code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	resurrected := 0
	for _, c := range out {
		if w := do("/whoami", c); w.Code != 200 || w.Body.String() != "" {
			resurrected++
		}
	}
	if resurrected > 0 {
		t.Fatalf("%d of %d confirmed logouts were undone by the failover", resurrected, len(out))
	}
}

// WAIT cannot follow keyed commands to their node on Cluster: New refuses
// WithWait there rather than ignoring it; a wait without a timeout (WAIT
// would block forever) is refused everywhere.
func TestWaitRefusedWhereItCannotHold(t *testing.T) {
	ctx := context.Background()
	if _, err := redisstore.New(ctx, startCluster(t), redisstore.WithWait(1, time.Second)); err == nil {
		t.Error("WithWait accepted on Cluster")
	}
	if _, err := redisstore.New(ctx, testClient(t), redisstore.WithWait(1, 0)); err == nil {
		t.Error("WithWait without a timeout accepted")
	}
}

// sentinelApp serves /login?u=, /logout and /whoami (the default) behind a
// manager on st, and returns a function sending one request with a cookie
// (nil: none). Errors are answered by the middleware's error handler.
func sentinelApp(t *testing.T, st session.Store) func(path string, c *http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	m, err := session.New(st, session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			m.Login(r.Context(), r.FormValue("u"))
		case "/logout":
			m.Destroy(r.Context())
		default:
			u, err := session.FromContext(r.Context()).UserID()
			if err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, u)
		}
	}))
	return func(path string, c *http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		if c != nil {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
}

// cancelAfter cancels a context once a command it matches has run, while
// armed.
type cancelAfter struct {
	armed, fired atomic.Bool
	match        func(redis.Cmder) bool
	cancel       context.CancelFunc
}

func (h *cancelAfter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *cancelAfter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if h.armed.Load() && h.match(cmd) && h.fired.CompareAndSwap(false, true) {
			h.cancel()
		}
		return err
	}
}
func (h *cancelAfter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
