// Package integration holds cross-store tests: the tiered store over real
// stores.
package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/memcachedstore"
	"github.com/sessionkit/session/stores/memcachedstore/memcachedtest"
	"github.com/sessionkit/session/stores/pgstore"
	"github.com/sessionkit/session/stores/redisstore"
	"github.com/sessionkit/session/stores/sqlitestore"
	"github.com/sessionkit/session/tieredstore"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func suffix() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func TestTieredMemoryOverSQLite(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T) session.Store {
		cache := memstore.New(memstore.WithCleanupInterval(0))
		t.Cleanup(cache.Stop)
		durable, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { durable.Close() })
		s, err := tieredstore.New(cache, durable)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestTieredRedisOverPostgreSQL(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, env("SESSION_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("PostgreSQL is required: %v", err)
	}
	client := redis.NewClient(&redis.Options{Addr: env("SESSION_TEST_REDIS_ADDR", "127.0.0.1:6379")})
	defer client.Close()
	sessiontest.Run(t, func(t *testing.T) session.Store {
		name := suffix()
		cache, err := redisstore.New(ctx, client, redisstore.WithPrefix("tiered-"+name+":"))
		if err != nil {
			t.Fatalf("Redis is required: %v", err)
		}
		t.Cleanup(func() {
			keys, _ := client.Keys(ctx, "tiered-"+name+":*").Result()
			for _, k := range keys {
				client.Del(ctx, k)
			}
		})
		durable, err := pgstore.New(ctx, pool, pgstore.WithTable("tiered_"+name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { durable.Close(); pool.Exec(ctx, `DROP TABLE "tiered_`+name+`"`) })
		s, err := tieredstore.New(cache, durable)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// Issue 17 on the tiered store over real servers: Redis in front of
// PostgreSQL.
func TestTieredRevocationRace(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, env("SESSION_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	client := redis.NewClient(&redis.Options{Addr: env("SESSION_TEST_REDIS_ADDR", "127.0.0.1:6379")})
	defer client.Close()
	name := suffix()
	cache, err := redisstore.New(ctx, client, redisstore.WithPrefix("tiered-"+name+":"))
	if err != nil {
		t.Fatalf("Redis is required: %v", err)
	}
	defer func() {
		keys, _ := client.Keys(ctx, "tiered-"+name+":*").Result()
		for _, k := range keys {
			client.Del(ctx, k)
		}
	}()
	durable, err := pgstore.New(ctx, pool, pgstore.WithTable("tiered_"+name))
	if err != nil {
		t.Fatalf("PostgreSQL is required: %v", err)
	}
	defer func() { durable.Close(); pool.Exec(ctx, `DROP TABLE "tiered_`+name+`"`) }()
	s, err := tieredstore.New(cache, durable)
	if err != nil {
		t.Fatal(err)
	}
	sessiontest.RevocationRaceStore(t, s, 300)
}

// Issue 24: Memcached in front of PostgreSQL (Django's cached_db on
// Memcached): the conformance suite, and sessions that survive the
// Memcached node being lost and replaced by an empty one.
func TestTieredMemcachedOverPostgreSQL(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, env("SESSION_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("PostgreSQL is required: %v", err)
	}
	node := memcachedtest.Start(t)
	client := memcache.New(node.Addr)
	defer client.Close()
	newTiered := func(t *testing.T) session.Store {
		name := suffix()
		cache, err := memcachedstore.New(client, memcachedstore.WithPrefix("tiered-"+name+":"))
		if err != nil {
			t.Fatal(err)
		}
		durable, err := pgstore.New(ctx, pool, pgstore.WithTable("tiered_"+name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { durable.Close(); pool.Exec(ctx, `DROP TABLE "tiered_`+name+`"`) })
		s, err := tieredstore.New(cache, durable)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// The suite without the cleanup capability: the cleaner deletes expired
	// rows from PostgreSQL, but Memcached cannot be swept, so an expired
	// copy stays in the cache until its TTL (the manager rejects it on its
	// deadline anyway).
	sessiontest.Run(t, func(t *testing.T) session.Store {
		s := newTiered(t).(*tieredstore.Store)
		return struct {
			session.Store
			session.Toucher
			session.Renewer
			session.UserIndex
			session.LineageDeleter
			session.Counter
		}{s, s, s, s, s, s}
	})

	st := newTiered(t)
	m, err := session.New(st, session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	token := sessiontest.LoginToken(t, m, "alice", map[string]any{"cart": 3})
	node.Stop()
	node.Restart(t) // the cache is empty now
	s, err := m.Lookup(ctx, token)
	if err != nil {
		t.Fatalf("a session lost with the Memcached node: %v", err)
	}
	if uid, _ := s.UserID(); uid != "alice" {
		t.Fatalf("user %q", uid)
	}
}
