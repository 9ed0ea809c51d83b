package django_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session/internal/pyproc"
	"github.com/sessionkit/session/interop/django"
	"github.com/sessionkit/session/sessiontest"
)

// startRedisSessions runs a real Django on django-redis-sessions under a
// Redis prefix of the test's own, with extra settings, over a fresh
// SQLite user table with users; it returns Django, a Go store on the same
// sessions and the users' ids.
func startRedisSessions(t *testing.T, extra map[string]any, users ...string) (*pyproc.Proc, *django.CacheStore, map[string]any, *redis.Client, string) {
	t.Helper()
	db, path := vendors()[0].open(t)
	t.Cleanup(func() { db.Close() })
	client, prefix := redisForDjango(t)
	cfg := map[string]any{"vendor": "sqlite", "name": path, "engine": "redis_sessions.session", "redis_sessions_prefix": prefix}
	for k, v := range extra {
		cfg[k] = v
	}
	if p, ok := cfg["redis_sessions_prefix"].(string); ok {
		prefix = p
	}
	js, _ := json.Marshal(cfg)
	py := pyproc.Start(t, "testdata/djangoside.py", string(js))
	ids := py.Call(map[string]any{"op": "setup", "users": append([]string{}, users...)})["users"].(map[string]any)
	st, err := django.NewRedisSessionsStore(django.RedisSessionsConfig{Client: client, Prefix: prefix, Secret: secret, DB: db, Vendor: django.SQLite})
	if err != nil {
		t.Fatal(err)
	}
	return py, st, ids, client, prefix
}

// django-redis-sessions (SPEC 3.9), with a real Django: a Django login and
// its values read in Go, Go writes (concurrent ones to different keys all
// kept) read in Django, logouts and a password change crossing both ways,
// a Go login Django honours, the TTL as Django sets it, and a pickled
// session refused.
func TestDjangoRedisSessions(t *testing.T) {
	py, st, ids, client, prefix := startRedisSessions(t, nil, "alice", "bob")
	m := newManager(t, st)
	ctx := context.Background()

	key, s := djangoLogin(t, py, m, "alice")
	if uid, _ := s.UserID(); uid != ids["alice"] {
		t.Fatalf("Go sees user %q", uid)
	}
	if ttl := client.TTL(ctx, prefix+":"+key).Val(); ttl < 14*24*time.Hour-time.Minute || ttl > 14*24*time.Hour {
		t.Fatalf("Django's key %s:%s has TTL %v", prefix, key, ttl)
	}
	goWritesReachDjango(t, py, m, key, ids["alice"])
	if ttl := client.TTL(ctx, prefix+":"+key).Val(); ttl < 14*24*time.Hour-time.Minute {
		t.Fatalf("after Go's writes the TTL is %v", ttl)
	}
	logoutsAndLoginsCross(t, py, m, key, ids)

	// A session Django wrote with SESSION_SERIALIZER = PickleSerializer:
	// refused, naming the setting; logout still works.
	token, d, _ := django.Keys{}.NewToken(rand.Reader)
	signer := django.Signer{Secret: secret, Salt: django.SessionSalt("SessionStore")}
	client.Set(ctx, prefix+":"+token, signer.Sign([]byte("\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s."), false, time.Now()), time.Hour)
	var pe *django.PickleError
	if _, err := st.Load(ctx, d); !errors.As(err, &pe) || !strings.Contains(err.Error(), "SESSION_SERIALIZER") {
		t.Fatalf("pickled session: %v", err)
	}
	if ok, err := st.Delete(ctx, d); !ok || err != nil {
		t.Fatalf("deleting it: %v %v", ok, err)
	}
}

// Without a prefix (django-redis-sessions' default) a session's key is the
// session key itself; a key Django never wrote is no session for Go (it
// does not adopt it, where django-redis-sessions would save under it).
func TestDjangoRedisSessionsNoPrefix(t *testing.T) {
	py, st, _, client, _ := startRedisSessions(t, map[string]any{"redis_sessions_prefix": ""})
	m := newManager(t, st)
	key := py.Call(map[string]any{"op": "anon", "name": "cart", "value": "x"})["key"].(string)
	t.Cleanup(func() { client.Del(context.Background(), key) })
	if n := client.Exists(context.Background(), key).Val(); n != 1 {
		t.Fatalf("Django's key is not the bare session key")
	}
	sessiontest.Set(t, m, key, "from_go", 1)
	if got := py.Call(map[string]any{"op": "get", "key": key}); got["data"].(map[string]any)["from_go"] != float64(1) {
		t.Fatalf("Django reads %v", got)
	}
	unknown, _, _ := django.Keys{}.NewToken(rand.Reader)
	if s, err := m.Lookup(context.Background(), unknown); err == nil {
		t.Fatalf("a session key Django never wrote was adopted: %v", s)
	}
}
