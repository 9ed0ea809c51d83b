package django_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/pyproc"
	"github.com/sessionkit/session/interop/django"
	"github.com/sessionkit/session/sessiontest"
)

// redisSessionsSide is a real Django on django-redis-sessions under a
// Redis prefix of the test's own, over a fresh SQLite user table, and a
// Go store on the same sessions with the configuration it was made from.
type redisSessionsSide struct {
	py     *pyproc.Proc
	st     *django.CacheStore
	cfg    django.RedisSessionsConfig
	ids    map[string]any // the users' ids
	client *redis.Client
	prefix string
}

// startRedisSessions starts a redisSessionsSide with extra Django settings
// and users.
func startRedisSessions(t *testing.T, extra map[string]any, users ...string) redisSessionsSide {
	t.Helper()
	d := startDjangoOnRedis(t, "redis_sessions.session", "redis_sessions_prefix", extra, users...)
	cfg := django.RedisSessionsConfig{Client: d.client, Prefix: d.prefix, Secret: secret, DB: d.db, Vendor: django.SQLite}
	st, err := django.NewRedisSessionsStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return redisSessionsSide{py: d.py, st: st, cfg: cfg, ids: d.ids, client: d.client, prefix: d.prefix}
}

// django-redis-sessions (SPEC 3.9), with a real Django: a Django login and
// its values read in Go, Go writes (concurrent ones to different keys all
// kept) read in Django, logouts and a password change crossing both ways,
// a Go login Django honours, the TTL as Django sets it, and a pickled
// session refused.
func TestDjangoRedisSessions(t *testing.T) {
	rs := startRedisSessions(t, nil, "alice", "bob")
	py, st, ids, client, prefix := rs.py, rs.st, rs.ids, rs.client, rs.prefix
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
	refusedAsPickle(t, st, d, "SESSION_SERIALIZER")
}

// Without a prefix (django-redis-sessions' default) a session's key is the
// session key itself; a key Django never wrote is no session for Go (it
// does not adopt it, where django-redis-sessions would save under it).
func TestDjangoRedisSessionsNoPrefix(t *testing.T) {
	rs := startRedisSessions(t, map[string]any{"redis_sessions_prefix": ""})
	py, client := rs.py, rs.client
	m := newManager(t, rs.st)
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

// Without a prefix a session's Redis key is the bare session key, so a
// cookie can name any key of the database that looks like one: a logout
// deletes it only if it holds session data signed under the project's
// secrets (the review found a logout deleting another application's
// string and hash keys); a session Go cannot read (a pickle) is still
// logged out.
func TestDjangoRedisSessionsLogoutDeletesSessionsOnly(t *testing.T) {
	rs := startRedisSessions(t, map[string]any{"redis_sessions_prefix": ""})
	client := rs.client
	m := newManager(t, rs.st)
	ctx := context.Background()
	foreign := map[string]func(k string) error{
		"a string": func(k string) error { return client.Set(ctx, k, "another application's value", time.Hour).Err() },
		"a hash":   func(k string) error { return client.HSet(ctx, k, "f", "v").Err() },
		"another secret's": func(k string) error {
			return client.Set(ctx, k, (&django.Signer{Secret: "another secret", Salt: django.SessionSalt("SessionStore")}).Sign([]byte(`{}`), false, time.Now()), time.Hour).Err()
		},
		"another secret's pre-3.1": func(k string) error {
			return client.Set(ctx, k, pre31Under("another secret", `{"a":1}`), time.Hour).Err()
		},
	}
	for name, put := range foreign {
		key, _, _ := django.Keys{}.NewToken(rand.Reader)
		t.Cleanup(func() { client.Del(context.Background(), key) })
		if err := put(key); err != nil {
			t.Fatal(err)
		}
		logoutWith(t, m, key)
		if client.Exists(ctx, key).Val() != 1 {
			t.Errorf("%s under a session key was deleted by a logout", name)
		}
	}
	key, _, _ := django.Keys{}.NewToken(rand.Reader)
	signer := django.Signer{Secret: secret, Salt: django.SessionSalt("SessionStore")}
	client.Set(ctx, key, signer.Sign([]byte("\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s."), false, time.Now()), time.Hour)
	logoutWith(t, m, key)
	if client.Exists(ctx, key).Val() != 0 {
		t.Error("a pickled session was not logged out")
	}
}

// logoutWith sends a logout request carrying the session cookie key,
// whatever the answer (a session that cannot be read may fail it).
func logoutWith(t *testing.T, m *session.Manager, key string) {
	t.Helper()
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Destroy(r.Context())
	}))
	r := httptest.NewRequest("POST", "https://example.test/logout", nil)
	r.AddCookie(&http.Cookie{Name: "sessionid", Value: key})
	h.ServeHTTP(httptest.NewRecorder(), r)
}

// SPEC 3.3 on django-redis-sessions: what a Django 3.2 site in
// DEFAULT_HASHING_ALGORITHM = "sha1" wrote (the pre-3.1 format, a SHA-1
// login hash) is refused without AcceptSHA1 and read with it.
func TestDjangoRedisSessionsSHA1Mode(t *testing.T) {
	rs := startRedisSessions(t, map[string]any{"sha1": true}, "alice")
	key := rs.py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
	rs.py.Call(map[string]any{"op": "set", "key": key, "name": "cart", "value": []int{3, 1, 4}})
	d, _ := django.Keys{}.Key(key)
	if _, err := rs.st.Load(context.Background(), d); !errors.Is(err, django.ErrLegacyFormat) {
		t.Fatalf("without AcceptSHA1: %v", err)
	}
	cfg := rs.cfg
	cfg.AcceptSHA1 = true
	st, err := django.NewRedisSessionsStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := lookupAs(t, newManager(t, st), key, rs.ids["alice"])
	if cart, ok, err := session.Get[[]int](s, "cart"); err != nil || !ok || len(cart) != 3 {
		t.Fatalf("the values in Go: %v %v %v", cart, ok, err)
	}
}

// pre31Under encodes payload in Django's pre-3.1 session format under
// secret (SPEC 3.3).
func pre31Under(secret, payload string) string {
	k := sha1.Sum([]byte("django.contrib.sessionsSessionStore" + secret))
	mac := hmac.New(sha1.New, k[:])
	mac.Write([]byte(payload))
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(mac.Sum(nil)) + ":" + payload))
}
