// Package redistest gives tests a Redis store on the project's test server
// (SESSION_TEST_REDIS_ADDR, default 127.0.0.1:6379) under a key prefix of
// its own, so that tests of integrations (gin, echo, gRPC, OpenTelemetry,
// WebSocket) run on Redis without sharing keys or leaving any behind.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session/stores/redisstore"
)

// Addr returns the test server's address: SESSION_TEST_REDIS_ADDR, or
// 127.0.0.1:6379.
func Addr() string {
	if v := os.Getenv("SESSION_TEST_REDIS_ADDR"); v != "" {
		return v
	}
	return "127.0.0.1:6379"
}

// Store returns a store on the test server under a random key prefix,
// with opts; its keys are removed and its client closed when the test
// ends. A server that does not answer fails the test (never skips).
func Store(t testing.TB, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: Addr()})
	t.Cleanup(func() { rc.Close() })
	if err := rc.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis at %s is required (set SESSION_TEST_REDIS_ADDR): %v", Addr(), err)
	}
	var b [6]byte
	rand.Read(b[:])
	prefix := "test:" + hex.EncodeToString(b[:]) + ":"
	st, err := redisstore.New(ctx, rc, append([]redisstore.Option{redisstore.WithPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		iter := rc.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := rc.Del(ctx, iter.Val()).Err(); err != nil {
				t.Errorf("removing %q: %v", iter.Val(), err)
			}
		}
		if err := iter.Err(); err != nil {
			t.Errorf("removing the keys under %s: %v", prefix, err)
		}
	})
	return st
}
