package redisstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/redisstore"
)

// Redis is killed and restarted (same port, same append-only file) while 8
// clients keep writing: requests during the outage fail with 503, never as
// an anonymous session and never with a new cookie; afterwards every write
// the server acknowledged with 200 is in its session.
func TestRedisRestartMidTraffic(t *testing.T) {
	p := startRedis(t, "--appendonly", "yes", "--appendfsync", "always")
	dir, port := p.cmd.Dir, p.port
	client := redis.NewClient(&redis.Options{Addr: p.addr, MaxRetries: -1, DialTimeout: 300 * time.Millisecond,
		ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond})
	defer client.Close()
	st, err := redisstore.New(context.Background(), client)
	if err != nil {
		t.Fatal(err)
	}
	failed := sessiontest.WritesUnderFault(t, st, 8, func() {
		time.Sleep(300 * time.Millisecond)
		p.stop() // SIGKILL
		time.Sleep(500 * time.Millisecond)
		startProc(t, "redis-server", dir, port, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no", "--protected-mode", "no")
		time.Sleep(500 * time.Millisecond)
	})
	if failed == 0 {
		t.Fatal("no request failed while Redis was down: the test did not exercise the outage")
	}
	t.Logf("%d requests failed with 503 during the outage; every acknowledged write survived", failed)
}

// A server that lost its script cache (a restart, a failover to a replica
// that never loaded the scripts) answers NOSCRIPT: every operation that
// runs scripts in a pipeline reloads them and retries once, and reports
// what the retry did, not the first attempt's errors.
func TestScriptCacheLoss(t *testing.T) {
	p := startRedis(t)
	client := redis.NewClient(&redis.Options{Addr: p.addr})
	defer client.Close()
	ctx := context.Background()
	st, err := redisstore.New(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	flush := func() {
		t.Helper()
		if err := client.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-time.Hour)
	expired := createSessions(t, st, "eve", 3, past.Add(time.Minute))
	live := createSessions(t, st, "mallory", 4, time.Now().Add(time.Hour))

	flush()
	if n, err := st.DeleteExpired(ctx, time.Now(), 100); err != nil || n != len(expired) {
		t.Fatalf("DeleteExpired after SCRIPT FLUSH = %d, %v; want %d, nil", n, err, len(expired))
	}
	flush()
	if ok, err := st.Delete(ctx, live[0]); err != nil || !ok {
		t.Fatalf("Delete after SCRIPT FLUSH = %v, %v", ok, err)
	}
	flush()
	if n, err := st.DeleteByUser(ctx, "mallory", session.Digest{}); err != nil || n != len(live)-1 {
		t.Fatalf("DeleteByUser after SCRIPT FLUSH = %d, %v; want %d, nil", n, err, len(live)-1)
	}
	if n := alive(t, st, live); n != 0 {
		t.Fatalf("%d of mallory's sessions survived", n)
	}
}
