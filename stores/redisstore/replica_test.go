package redisstore_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/redisstore"
)

// A replica lags its master: reading sessions there could bring back one
// that was logged out or revoked, or miss one just created. New refuses
// clients that would read from replicas.
func TestClientsReadingReplicasRefused(t *testing.T) {
	for _, o := range []redis.ClusterOptions{{ReadOnly: true}, {RouteByLatency: true}, {RouteRandomly: true}} {
		o.Addrs = []string{"127.0.0.1:1"} // refused before any connection
		c := redis.NewClusterClient(&o)
		_, err := redisstore.New(context.Background(), c)
		c.Close()
		if err == nil || !strings.Contains(err.Error(), "replica") {
			t.Errorf("New on a cluster client with %+v: %v, want a refusal", o, err)
		}
	}

	master := startRedis(t)
	replica := startRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.port))
	rc := redis.NewClient(&redis.Options{Addr: replica.addr})
	defer rc.Close()
	if _, err := redisstore.New(context.Background(), rc); err == nil || !strings.Contains(err.Error(), "connected to a replica") {
		t.Errorf("New on a replica: %v, want a refusal", err)
	}
	mc := redis.NewClient(&redis.Options{Addr: master.addr})
	defer mc.Close()
	if _, err := redisstore.New(context.Background(), mc); err != nil {
		t.Errorf("New on the master: %v", err)
	}
}

// Issue 17: with WithWaitOnWrites, Create and Update wait for replicas as
// deletions do, so that the revocation markers of cookie sessions kept in
// Redis survive a failover; here the Redis has no replica, so each write
// is applied and fails with ErrNotReplicated, as a logout does. Without
// the option writes do not wait; the option without WithWait is refused.
func TestWaitOnWrites(t *testing.T) {
	p := startRedis(t)
	c := redis.NewClient(&redis.Options{Addr: p.addr})
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	rec := func() *session.Record {
		return &session.Record{Values: map[string][]byte{"a": []byte("1")}, UserID: "u", Created: now, LastSeen: now,
			IdleExpiry: now.Add(time.Minute), AbsExpiry: now.Add(time.Minute), Version: 1}
	}
	waiting := newStore(t, c, redisstore.WithWait(1, 50*time.Millisecond), redisstore.WithWaitOnWrites())
	d := sessiontest.NewDigest()
	if err := waiting.Create(ctx, d, rec()); !errors.Is(err, redisstore.ErrNotReplicated) {
		t.Fatalf("Create without replicas: %v, want ErrNotReplicated", err)
	}
	if _, err := waiting.Load(ctx, d); err != nil {
		t.Fatalf("the master applied the create: %v", err)
	}
	if err := waiting.Update(ctx, d, &session.Change{Set: map[string][]byte{"b": []byte("2")}}); !errors.Is(err, redisstore.ErrNotReplicated) {
		t.Fatalf("Update without replicas: %v, want ErrNotReplicated", err)
	}
	if err := waiting.Create(ctx, d, rec()); !errors.Is(err, session.ErrExists) {
		t.Fatalf("Create over an existing session: %v, want ErrExists", err)
	}
	plain := newStore(t, c, redisstore.WithWait(1, 50*time.Millisecond))
	d = sessiontest.NewDigest()
	if err := plain.Create(ctx, d, rec()); err != nil {
		t.Fatalf("Create with WithWait only: %v", err)
	}
	if err := plain.Update(ctx, d, &session.Change{Set: map[string][]byte{"b": []byte("2")}}); err != nil {
		t.Fatalf("Update with WithWait only: %v", err)
	}
	if _, err := redisstore.New(ctx, c, redisstore.WithWaitOnWrites()); err == nil {
		t.Fatal("WithWaitOnWrites without WithWait accepted")
	}
}

// Issue 17 (6): with WithWait, a renewal and both kinds of revocation are
// applied and then fail with ErrNotReplicated when fewer replicas than
// asked acknowledge them (this Redis has none), as a logout does: none is
// reported as done while a failover could undo it.
func TestWaitOnRenewAndRevocations(t *testing.T) {
	p := startRedis(t)
	c := redis.NewClient(&redis.Options{Addr: p.addr})
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	rec := func(created time.Time) *session.Record {
		return &session.Record{Values: map[string][]byte{"a": []byte("1")}, UserID: "u", Created: created, AuthTime: created, LastSeen: now,
			IdleExpiry: now.Add(time.Minute), AbsExpiry: now.Add(time.Minute), Version: 1}
	}
	waiting := newStore(t, c, redisstore.WithWait(1, 50*time.Millisecond))
	gone := func(d session.Digest) {
		t.Helper()
		if _, err := waiting.Load(ctx, d); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("the master did not apply it: Load = %v", err)
		}
	}
	old, renewed := sessiontest.NewDigest(), sessiontest.NewDigest()
	if err := waiting.Create(ctx, old, rec(now)); err != nil {
		t.Fatal(err)
	}
	if err := waiting.Renew(ctx, old, renewed, rec(now)); !errors.Is(err, redisstore.ErrNotReplicated) {
		t.Fatalf("Renew without replicas: %v, want ErrNotReplicated", err)
	}
	gone(old)
	if n, err := waiting.DeleteByUser(ctx, "u", session.Digest{}); !errors.Is(err, redisstore.ErrNotReplicated) || n != 1 {
		t.Fatalf("DeleteByUser without replicas: %d, %v; want 1, ErrNotReplicated", n, err)
	}
	gone(renewed)
	other := sessiontest.NewDigest()
	created := now.Add(-time.Second)
	if err := waiting.Create(ctx, other, rec(created)); err != nil {
		t.Fatal(err)
	}
	if n, err := waiting.DeleteLineage(ctx, "u", created); !errors.Is(err, redisstore.ErrNotReplicated) || n != 1 {
		t.Fatalf("DeleteLineage without replicas: %d, %v; want 1, ErrNotReplicated", n, err)
	}
	gone(other)
}
