package redisstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/stores/redisstore"
)

// Issue 18: a flood of anonymous sessions on a Redis with maxmemory and
// the recommended volatile-ttl policy, anonymous sessions having the
// shorter idle timeout (session.WithAnonymousIdleTimeout), makes Redis
// evict anonymous sessions, never the logged-in ones. (With volatile-lru
// the same flood logged every user out.)
func TestVolatileTTLEvictsAnonymousFirst(t *testing.T) {
	p := startRedis(t, "--maxmemory", "8mb", "--maxmemory-policy", "volatile-ttl")
	c := redis.NewClient(&redis.Options{Addr: p.addr})
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	var logs bytes.Buffer
	st, err := redisstore.New(ctx, c, redisstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	if logs.Len() != 0 {
		t.Fatalf("warning for volatile-ttl: %q", logs.String())
	}
	const users = 200
	var loggedIn []session.Digest
	for i := range users {
		loggedIn = append(loggedIn, createSessions(t, st, "user"+string(rune('a'+i%26))+strings.Repeat("x", i/26), 1, time.Now().Add(2*time.Hour))...)
	}
	// Anonymous sessions of 1 KiB expiring in 10 minutes, until Redis has
	// evicted thousands of them.
	cart := []byte(`"` + strings.Repeat("c", 1000) + `"`)
	evicted := func() int64 {
		info, err := c.Info(ctx, "stats").Result()
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.SplitSeq(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, "evicted_keys:"); ok {
				var n int64
				for _, ch := range v {
					n = n*10 + int64(ch-'0')
				}
				return n
			}
		}
		t.Fatal("no evicted_keys in INFO stats")
		return 0
	}
	anonymous := 0
	for ; evicted() < 5000; anonymous++ {
		if anonymous > 100_000 {
			t.Fatalf("100,000 anonymous sessions and only %d evictions", evicted())
		}
		var d session.Digest
		rand.Read(d[:])
		now := time.Now()
		rec := &session.Record{Values: map[string][]byte{"cart": cart}, Created: now, LastSeen: now,
			IdleExpiry: now.Add(10 * time.Minute), AbsExpiry: now.Add(12 * time.Hour), Version: 1}
		if err := st.Create(ctx, d, rec); err != nil {
			t.Fatalf("anonymous session %d: %v", anonymous, err)
		}
	}
	if n := alive(t, st, loggedIn); n != users {
		t.Fatalf("%d of %d logged-in sessions survived %d anonymous ones (%d evicted)", n, users, anonymous, evicted())
	}
	t.Logf("%d anonymous sessions, %d evicted, all %d logged-in sessions alive", anonymous, evicted(), users)
}

// An allkeys-* policy may evict the indexes force-logout relies on, and
// volatile-lru/-lfu/-random evict logged-in users' sessions as readily as
// anonymous ones: New refuses them unless WithUnsafeEviction (for tools
// that report it, or a deliberate choice) is given; only allkeys-* counts
// as unsafe for the indexes (UnsafeEviction).
func TestEvictionPolicyChecks(t *testing.T) {
	p := startRedis(t)
	c := redis.NewClient(&redis.Options{Addr: p.addr})
	defer c.Close()
	ctx := context.Background()
	newStore := func(opts ...redisstore.Option) (string, error) {
		var logs bytes.Buffer
		opts = append(opts, redisstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		_, err := redisstore.New(ctx, c, opts...)
		return logs.String(), err
	}
	for _, policy := range []string{"allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random"} {
		if err := c.ConfigSet(ctx, "maxmemory-policy", policy).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := newStore(); !errors.Is(err, redisstore.ErrUnsafeEviction) || !strings.Contains(err.Error(), policy) {
			t.Fatalf("%s: New = %v, want ErrUnsafeEviction naming the policy", policy, err)
		}
		if logs, err := newStore(redisstore.WithUnsafeEviction()); err != nil || !strings.Contains(logs, "unsafe maxmemory-policy") {
			t.Fatalf("%s with WithUnsafeEviction: %v, logs %q", policy, err, logs)
		}
		st, err := redisstore.New(ctx, c, redisstore.WithUnsafeEviction(), redisstore.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		unsafe, err := st.UnsafeEviction(ctx)
		if err != nil || (len(unsafe) == 1) != strings.HasPrefix(policy, "allkeys-") {
			t.Fatalf("%s: UnsafeEviction = %v, %v (only allkeys-* evicts indexes)", policy, unsafe, err)
		}
	}
	for _, policy := range []string{"noeviction", "volatile-ttl"} {
		c.ConfigSet(ctx, "maxmemory-policy", policy)
		if logs, err := newStore(); err != nil || logs != "" {
			t.Fatalf("%s: %v, logs %q", policy, err, logs)
		}
	}
}
