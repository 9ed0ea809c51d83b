package websocket

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/stores/redisstore"
	"github.com/sessionkit/session/stores/sqlitestore"
)

// realStores returns the stores issue 21 asks the paths to be shown on: a
// SQLite database in t's temporary directory and the test Redis
// (SESSION_TEST_REDIS_ADDR, default 127.0.0.1:6379) under a key prefix of
// its own, removed afterwards. A Redis that does not answer fails the test.
func realStores(t *testing.T) map[string]session.Store {
	t.Helper()
	ctx := context.Background()
	sqlite, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlite.Close() })
	addr := os.Getenv("SESSION_TEST_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	rc := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rc.Close() })
	if err := rc.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis at %s is required (set SESSION_TEST_REDIS_ADDR): %v", addr, err)
	}
	var b [6]byte
	rand.Read(b[:])
	prefix := "websockettest:" + hex.EncodeToString(b[:]) + ":"
	rs, err := redisstore.New(ctx, rc, redisstore.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		iter := rc.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rc.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("removing the keys under %s: %v", prefix, err)
		}
	})
	return map[string]session.Store{"sqlite": sqlite, "redis": rs}
}
