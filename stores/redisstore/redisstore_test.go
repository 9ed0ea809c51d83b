package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/redisstore"
)

// addr of the shared test server; the tests fail (never skip) when it is
// down.
func addr() string {
	if v := os.Getenv("SESSION_TEST_REDIS_ADDR"); v != "" {
		return v
	}
	return "127.0.0.1:6379"
}

var (
	clientOnce sync.Once
	client     *redis.Client
	trips      atomic.Int64 // network round trips through client
)

// tripHook counts round trips: one per command, one per pipeline.
type tripHook struct{}

func (tripHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (tripHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { trips.Add(1); return next(ctx, cmd) }
}
func (tripHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { trips.Add(1); return next(ctx, cmds) }
}

func testClient(t testing.TB) *redis.Client {
	t.Helper()
	clientOnce.Do(func() {
		client = redis.NewClient(&redis.Options{Addr: addr()})
		client.AddHook(tripHook{})
	})
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Redis at %s is required (set SESSION_TEST_REDIS_ADDR): %v", addr(), err)
	}
	return client
}

func TestMain(m *testing.M) {
	code := m.Run()
	if client != nil {
		client.Close()
	}
	stopAll()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

func randomPrefix() string {
	var b [6]byte
	rand.Read(b[:])
	return "sessiontest:" + hex.EncodeToString(b[:]) + ":"
}

// deletePrefix removes every key under prefix (tests only: SCAN is fine
// here, never in the store).
func deletePrefix(c redis.UniversalClient, prefix string) error {
	ctx := context.Background()
	del := func(ctx context.Context, n *redis.Client) error {
		iter := n.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := n.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, del)
	}
	return del(ctx, c.(*redis.Client))
}

func newStore(t testing.TB, c redis.UniversalClient, opts ...redisstore.Option) *redisstore.Store {
	return newStoreCleanedBy(t, c, c, opts...)
}

func newStoreCleanedBy(t testing.TB, c, cleaner redis.UniversalClient, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	prefix := randomPrefix()
	s, err := redisstore.New(context.Background(), c, append([]redisstore.Option{redisstore.WithPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := deletePrefix(cleaner, prefix); err != nil {
			t.Errorf("cleaning %s: %v", prefix, err)
		}
	})
	return s
}

func TestConformanceStandalone(t *testing.T) {
	c := testClient(t)
	sessiontest.Run(t, func(t *testing.T) session.Store { return newStore(t, c) })
}

// cmdStat is one command's line of INFO commandstats.
type cmdStat struct {
	calls int64
	usec  float64
}

// commandStats reads INFO commandstats: calls and usec per command.
func commandStats(t testing.TB, c *redis.Client) map[string]cmdStat {
	t.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]cmdStat{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		var st cmdStat
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "calls":
				st.calls, _ = strconv.ParseInt(v, 10, 64)
			case "usec":
				st.usec, _ = strconv.ParseFloat(v, 64)
			}
		}
		out[strings.TrimPrefix(name, "cmdstat_")] = st
	}
	return out
}

// Round trips per request (go-redis hook) and the commands Redis executed
// (INFO commandstats deltas): read 1, write 2, new session 1, login from an
// anonymous session 2.
//
// It runs on a redis-server of its own: the shared server's commandstats
// also count the traffic of other test packages running in parallel.
func TestRoundTripsPerRequest(t *testing.T) {
	p := startRedis(t)
	c := redis.NewClient(&redis.Options{Addr: p.addr})
	t.Cleanup(func() { c.Close() }) // after newStore's cleanup, which uses c
	c.AddHook(tripHook{})
	st := newStore(t, c)
	clock := time.Now()
	m, err := session.New(st, session.WithClock(func() time.Time { return clock }))
	if err != nil {
		t.Fatal(err)
	}
	h := sessiontest.Handler(m)
	// Warm the connections up (handshake commands are not the request's):
	// go-redis keeps pipelines on a pool of their own, so warm both.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/new", nil))
	if _, err := c.Pipelined(context.Background(), func(p redis.Pipeliner) error { return p.Ping(context.Background()).Err() }); err != nil {
		t.Fatal(err)
	}
	var cookie *http.Cookie
	for _, tc := range []struct {
		path    string
		advance time.Duration
		trips   int64
		top     map[string]int64 // top-level commands Redis saw
		fresh   bool             // sent without the cookie
	}{
		{"/new", 0, 1, map[string]int64{"evalsha": 1}, false},
		{"/read", time.Second, 1, map[string]int64{"hgetall": 1}, false},
		{"/write", time.Second, 2, map[string]int64{"hgetall": 1, "evalsha": 1}, false},
		{"/read", 5 * time.Minute, 2, map[string]int64{"hgetall": 1, "evalsha": 1}, false},
		{"/read", time.Second, 1, map[string]int64{"hgetall": 1}, false},
		{"/login", time.Second, 2, map[string]int64{"hgetall": 1, "evalsha": 1}, false},
		// Logged in: a read and a write cost what they cost before.
		{"/read", time.Second, 1, map[string]int64{"hgetall": 1}, false},
		{"/write", time.Second, 2, map[string]int64{"hgetall": 1, "evalsha": 1}, false},
		// A login creating a session (no cookie): one script creates the
		// session, its expiry entry and its user-index entry.
		{"/login", time.Second, 1, map[string]int64{"evalsha": 1}, true},
	} {
		clock = clock.Add(tc.advance)
		r := httptest.NewRequest("GET", tc.path, nil)
		if cookie != nil && !tc.fresh {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		before := commandStats(t, c)
		trips.Store(0)
		h.ServeHTTP(w, r)
		got := trips.Load()
		after := commandStats(t, c)
		if got != tc.trips || w.Code != 200 {
			t.Errorf("%s: %d round trips (status %d), want %d", tc.path, got, w.Code, tc.trips)
		}
		for cmd, want := range tc.top {
			if d := after[cmd].calls - before[cmd].calls; d != want {
				t.Errorf("%s: %d %s calls, want %d", tc.path, d, cmd, want)
			}
		}
		for cmd := range after {
			if after[cmd].calls != before[cmd].calls && tc.top[cmd] == 0 && cmd != "info" && !scriptInner[cmd] {
				t.Errorf("%s: unexpected %s (%d calls)", tc.path, cmd, after[cmd].calls-before[cmd].calls)
			}
		}
		for _, ck := range w.Result().Cookies() {
			cookie = ck
		}
	}
}

// Commands that scripts call; Redis counts them in commandstats too.
var scriptInner = map[string]bool{"exists": true, "hset": true, "hget": true, "hdel": true, "hkeys": true, "hincrby": true,
	"pexpireat": true, "zadd": true, "zrem": true, "del": true, "hexists": true, "pttl": true, "hmget": true, "hlen": true}

// A record whose metadata does not parse is a security event: the record
// is deleted and the request is anonymous, never a 5xx loop or a panic.
func TestCorruptRecord(t *testing.T) {
	c := testClient(t)
	st := newStore(t, c)
	sessiontest.CheckCorruptRecords(t, st, func(d session.Digest, kind string) error {
		field, value, _ := strings.Cut(kind, "=")
		if value == "<none>" {
			return c.HDel(context.Background(), st.KeyOf(d), field).Err()
		}
		return c.HSet(context.Background(), st.KeyOf(d), field, value).Err()
	}, "_m=not a number", "_l=1,2", "_i=", "_a=x", "_m=1,x", "_m=1,9223372036854775807", "_o=-", "_v=x", "_v=", "_a=<none>", "_l=<none>")
}

func TestPrefixValidation(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: addr()})
	defer c.Close()
	if _, err := redisstore.New(context.Background(), c, redisstore.WithPrefix("a{b}")); err == nil {
		t.Fatal("prefix with braces accepted")
	}
}

// A store error is never "no session": when the client cannot reach Redis,
// requests fail through the error handler and no new session is issued.
func TestUnreachableRedisFailsRequests(t *testing.T) {
	testClient(t)
	c2 := redis.NewClient(&redis.Options{Addr: addr()})
	st := newStoreCleanedBy(t, c2, testClient(t))
	m, _ := session.New(st, session.WithLogger(slog.New(slog.DiscardHandler)))
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if _, _, err := session.Get[string](s, "a"); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		s.Set("a", "1")
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	cookie := w.Result().Cookies()[0]
	c2.Close() // every call now fails
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(cookie)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable || len(w.Result().Cookies()) != 0 {
		t.Fatalf("request with Redis unreachable: %d, cookies %v", w.Code, w.Result().Cookies())
	}
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	defer dead.Close()
	if _, err := redisstore.New(context.Background(), dead); err == nil {
		t.Fatal("New on an unreachable server succeeded")
	}
}

// 50 goroutines of mixed operations: nothing surfaces, no concurrent update
// of a distinct key is lost.
func TestFiftyConcurrentGoroutines(t *testing.T) {
	sessiontest.MixedConcurrentOperations(t, newStore(t, testClient(t)), 50, 16)
}

// The update script checks that the session exists through the version's
// increment: a result of 1 with nothing else in the hash means there was
// no session. A session stored with version 0 (which Create accepts)
// must still be updated, not taken for a missing one.
func TestUpdateOfVersionZero(t *testing.T) {
	c := testClient(t)
	st := newStore(t, c)
	ctx := context.Background()
	now := time.Now()
	d := sessiontest.NewDigest()
	rec := &session.Record{Values: map[string][]byte{"k": []byte(`1`)}, Created: now, LastSeen: now,
		IdleTimeout: time.Hour, IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(2 * time.Hour)}
	if err := st.Create(ctx, d, rec); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, d, &session.Change{Set: map[string][]byte{"k": []byte(`2`)}}); err != nil {
		t.Fatalf("Update of a version-0 session: %v", err)
	}
	got, err := st.Load(ctx, d)
	if err != nil || string(got.Values["k"]) != "2" || got.Version != 1 {
		t.Fatalf("after Update: %+v, %v; want k=2, version 1", got, err)
	}
}

// Sessions with more values than the scripts pass to one command (they
// write, delete and clear in chunks of 200 arguments, below Lua's unpack
// limit): create, update, clear and renew keep every value.
func TestLargeSessionsInChunks(t *testing.T) {
	c := testClient(t)
	st := newStore(t, c)
	ctx := context.Background()
	now := time.Now()
	values := func(prefix string, n int) map[string][]byte {
		v := make(map[string][]byte, n)
		for i := range n {
			v[fmt.Sprintf("%s%04d", prefix, i)] = []byte(strconv.Itoa(i))
		}
		return v
	}
	check := func(d session.Digest, want map[string][]byte) {
		t.Helper()
		got, err := st.Load(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Values) != len(want) {
			t.Fatalf("%d values, want %d", len(got.Values), len(want))
		}
		for k, v := range want {
			if string(got.Values[k]) != string(v) {
				t.Fatalf("value %q = %q, want %q", k, got.Values[k], v)
			}
		}
	}
	d := sessiontest.NewDigest()
	rec := &session.Record{Values: values("a", 1000), UserID: "big", Created: now, LastSeen: now, Version: 1,
		IdleTimeout: time.Hour, IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(2 * time.Hour)}
	if err := st.Create(ctx, d, rec); err != nil {
		t.Fatal(err)
	}
	check(d, rec.Values)

	// Delete 450 values and set 450 new ones in one change.
	want := values("a", 1000)
	ch := &session.Change{Set: values("b", 450)}
	for i := range 450 {
		k := fmt.Sprintf("a%04d", i)
		ch.Delete = append(ch.Delete, k)
		delete(want, k)
	}
	for k, v := range ch.Set {
		want[k] = v
	}
	if err := st.Update(ctx, d, ch); err != nil {
		t.Fatal(err)
	}
	check(d, want)

	nw := sessiontest.NewDigest()
	rec.Values = want
	if err := st.Renew(ctx, d, nw, rec); err != nil {
		t.Fatal(err)
	}
	check(nw, want)

	// Clear drops all 1,000 values, then one is set.
	if err := st.Update(ctx, nw, &session.Change{Clear: true, Set: map[string][]byte{"only": []byte(`1`)}}); err != nil {
		t.Fatal(err)
	}
	check(nw, map[string][]byte{"only": []byte(`1`)})
}

// Issue 17: once a revocation returns, no session it covered, nor a
// renewed continuation of one, is accepted again.
func TestRevocationRaceStandalone(t *testing.T) {
	sessiontest.RevocationRaceStore(t, newStore(t, testClient(t)), 300)
}

// Issue 18 (5): WithMaxSessionsPerUser holds under concurrent logins of
// one user: once they have answered, at most the limit are logged in.
func TestSessionLimitRaceStandalone(t *testing.T) {
	sessiontest.SessionLimitRace(t, newStore(t, testClient(t)), 3, 20, 30)
}

// Issue 17 (5): a double-submitted login form leaves a working login
// whichever response the browser processes last.
func TestDoubleLoginStandalone(t *testing.T) {
	sessiontest.DoubleLoginStore(t, newStore(t, testClient(t)), 300)
}

// Issue 17 (3): 200 parallel writes of 1 KB to one session never store more
// than the 64 KiB limit.
func TestConcurrentWritesHoldSizeLimitStandalone(t *testing.T) {
	sessiontest.ConcurrentSizeLimit(t, newStore(t, testClient(t)), 200, 1000, 64<<10)
}

// Issue 21: header tokens (login, use, renew, logout, revoke) on Redis.
func TestHeaderTokens(t *testing.T) {
	sessiontest.HeaderTokens(t, newStore(t, testClient(t)))
}
