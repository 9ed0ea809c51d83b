package django_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/pyproc"
	"github.com/sessionkit/session/interop/django"
	"github.com/sessionkit/session/sessiontest"
)

// redisForDjango connects to the Redis on 127.0.0.1:6379 and returns a key
// prefix of this test's own, whose keys are deleted when it ends.
func redisForDjango(t *testing.T) (*redis.Client, string) {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Redis on 127.0.0.1:6379: %v", err)
	}
	var b [6]byte
	rand.Read(b[:])
	prefix := "djtest" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := client.Keys(ctx, prefix+":*").Result()
		if len(keys) > 0 {
			client.Del(ctx, keys...)
		}
		client.Close()
	})
	return client, prefix
}

// cacheSide is a Django whose sessions use the cache backend on a Redis
// key prefix of the test's own, and a Go CacheStore on the same sessions.
type cacheSide struct {
	st     *django.CacheStore
	py     *pyproc.Proc
	ids    map[string]any // the users' ids
	client *redis.Client
	prefix string
}

// djangoCache starts a cacheSide with users; cfg gives the store's other
// settings (its Client, KeyPrefix, Secret, DB and Vendor are filled in).
func djangoCache(t *testing.T, cfg django.CacheConfig, users ...string) cacheSide {
	t.Helper()
	db, path := vendors()[0].open(t)
	t.Cleanup(func() { db.Close() })
	c := cacheSide{}
	c.client, c.prefix = redisForDjango(t)
	c.py = startDjangoEngine(t, path, "django.contrib.sessions.backends.cache", c.prefix)
	c.ids = c.py.Call(map[string]any{"op": "setup", "users": users})["users"].(map[string]any)
	cfg.Client, cfg.KeyPrefix, cfg.Secret, cfg.DB, cfg.Vendor = c.client, c.prefix, secret, db, django.SQLite
	var err error
	if c.st, err = django.NewCacheStore(cfg); err != nil {
		t.Fatal(err)
	}
	return c
}

func startDjangoEngine(t *testing.T, path, engine, prefix string) *pyproc.Proc {
	cfg, _ := json.Marshal(map[string]string{"vendor": "sqlite", "name": path, "engine": engine, "cache_prefix": prefix})
	return pyproc.Start(t, "testdata/djangoside.py", string(cfg))
}

// loginHandler logs user in from Go and sets a value.
func loginHandler(t *testing.T, m *session.Manager, user string) string {
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := m.Login(r.Context(), user); err != nil {
			t.Error(err)
		}
		if err := session.FromContext(r.Context()).Set("cart", []int{3, 1, 4}); err != nil {
			t.Error(err)
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "https://example.test/login", nil))
	for _, c := range rec.Result().Cookies() {
		if c.Name == "sessionid" {
			return c.Value
		}
	}
	return ""
}

// Django's cache backend on Redis through django-redis (JSONSerializer),
// with a real Django: logins, values and logouts cross both ways,
// concurrent Go writes to different keys all survive, a password change in
// Django logs Go out, and a pickled value is refused.
func TestDjangoCache(t *testing.T) {
	c := djangoCache(t, django.CacheConfig{}, "alice", "bob")
	st, py, client, prefix, ids := c.st, c.py, c.client, c.prefix, c.ids
	m := newManager(t, st)
	ctx := context.Background()

	key, s := djangoLogin(t, py, m, "alice")
	if uid, _ := s.UserID(); uid != ids["alice"] {
		t.Fatalf("Go sees user %q", uid)
	}
	goWritesReachDjango(t, py, m, key, ids["alice"])
	// SPEC 2.4: the bytes Go stored are the bytes django-redis'
	// JSONSerializer writes for the same session (json.dumps' default
	// separators, ASCII with \u escapes, the dict's order), not only a
	// value Python can read (it reads compact JSON as well).
	if got := py.Call(map[string]any{"op": "cache_reserialize", "key": key}); got["raw"] != got["again"] || got["raw"] == nil {
		t.Fatalf("Go stored\n%v\ndjango-redis writes the same session as\n%v", got["raw"], got["again"])
	}
	logoutsAndLoginsCross(t, py, m, key, ids)

	// django-redis' default PickleSerializer: refused, naming the setting.
	token, d, _ := django.Keys{}.NewToken(rand.Reader)
	client.Set(ctx, prefix+":1:django.contrib.sessions.cache"+token, "\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00}\x94.", 0)
	refusedAsPickle(t, st, d, "JSONSerializer")
}

// refusedAsPickle checks that st refuses the session d, a pickle, with a
// *PickleError naming hint (the setting to change), and still deletes it.
func refusedAsPickle(t *testing.T, st session.Store, d session.Digest, hint string) {
	t.Helper()
	ctx := context.Background()
	var pe *django.PickleError
	if _, err := st.Load(ctx, d); !errors.As(err, &pe) || !strings.Contains(err.Error(), hint) {
		t.Fatalf("pickled session: %v", err)
	}
	if ok, err := st.Delete(ctx, d); !ok || err != nil {
		t.Fatalf("deleting it: %v %v", ok, err)
	}
}

// Django's cached_db backend with a real Django: Go reads and writes the
// row and deletes Django's cache copy each time, so Django never serves a
// stale copy: a Go write is seen at once, a Go logout ends the session.
func TestDjangoCachedDB(t *testing.T) {
	v := vendors()[0]
	db, path := v.open(t)
	defer db.Close()
	client, prefix := redisForDjango(t)
	py := startDjangoEngine(t, path, "django.contrib.sessions.backends.cached_db", prefix)
	ids := py.Call(map[string]any{"op": "setup", "users": []string{"alice"}})["users"].(map[string]any)
	table, err := django.NewStore(db, django.Config{Vendor: django.SQLite, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	st, err := django.NewCachedDB(table, client, prefix, 1)
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, st)
	key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
	if got := py.Call(map[string]any{"op": "get", "key": key}); got["user"] != ids["alice"] {
		t.Fatalf("Django: %v", got) // and Django now has its cache copy
	}
	if n, _ := client.Exists(context.Background(), prefix+":1:django.contrib.sessions.cached_db"+key).Result(); n != 1 {
		t.Fatal("Django did not cache the session: the test would prove nothing")
	}
	// Go reads the row, never the cache copy (SPEC 3.7): a copy that is
	// a pickle, or says another user, changes nothing for Go.
	for _, cached := range []string{"\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00}\x94.", `{"_auth_user_id": "999", "injected": 1}`} {
		client.Set(context.Background(), prefix+":1:django.contrib.sessions.cached_db"+key, cached, time.Hour)
		s := lookupAs(t, m, key, ids["alice"])
		if ok, _ := s.Has("injected"); ok {
			t.Fatal("Go read Django's cache copy instead of the row")
		}
	}
	sessiontest.Set(t, m, key, "from_go", 7)
	got := py.Call(map[string]any{"op": "get", "key": key})
	if data, _ := got["data"].(map[string]any); data["from_go"] != float64(7) {
		t.Fatalf("Django serves a stale copy: %v", got)
	}
	// A write that only moves the expiry (the manager's sliding refresh)
	// deletes Django's copy too, which would otherwise hold the old
	// expiry (SPEC 3.7).
	if n, _ := client.Exists(context.Background(), prefix+":1:django.contrib.sessions.cached_db"+key).Result(); n != 1 {
		t.Fatal("Django did not cache the session again")
	}
	d, _ := django.Keys{}.Key(key)
	before := py.Call(map[string]any{"op": "raw", "key": key})["row"].([]any)[1]
	time.Sleep(10 * time.Millisecond) // a later save, a later expire_date
	if err := st.Touch(context.Background(), d, time.Now(), time.Now().Add(30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if after := py.Call(map[string]any{"op": "raw", "key": key})["row"].([]any)[1]; after == before {
		t.Fatalf("the refresh did not move expire_date (%v): the test would prove nothing", after)
	}
	if n, _ := client.Exists(context.Background(), prefix+":1:django.contrib.sessions.cached_db"+key).Result(); n != 0 {
		t.Fatal("a Go refresh left Django's cache copy")
	}
	sessiontest.Logout(t, m, key)
	if got := py.Call(map[string]any{"op": "get", "key": key}); got["exists"] != false {
		t.Fatalf("after a Go logout Django still serves %v", got)
	}
	djangoEndsIt(t, py, m, ids["alice"])
}

// SPEC 3.6: the cache key carries CACHES' VERSION
// ("<KEY_PREFIX>:<VERSION>:..."): with VERSION = 2 on both sides, a Django
// login is Go's and a Go write is Django's, on the cache backend and on
// cached_db (whose Go writes delete Django's version-2 copy); a Go side
// left at version 1 finds nothing. A hard-coded ":1:" fails here.
func TestDjangoCacheVersion(t *testing.T) {
	for _, engine := range []string{"cache", "cached_db"} {
		t.Run(engine, func(t *testing.T) {
			v := vendors()[0]
			db, path := v.open(t)
			defer db.Close()
			client, prefix := redisForDjango(t)
			cfg, _ := json.Marshal(map[string]any{"vendor": "sqlite", "name": path, "engine": "django.contrib.sessions.backends." + engine,
				"cache_prefix": prefix, "cache_version": 2})
			py := pyproc.Start(t, "testdata/djangoside.py", string(cfg))
			ids := py.Call(map[string]any{"op": "setup", "users": []string{"alice"}})["users"].(map[string]any)
			open := func(version int) session.Store {
				if engine == "cache" {
					st, err := django.NewCacheStore(django.CacheConfig{Client: client, KeyPrefix: prefix, Version: version, Secret: secret, DB: db, Vendor: django.SQLite})
					if err != nil {
						t.Fatal(err)
					}
					return st
				}
				table, err := django.NewStore(db, django.Config{Vendor: django.SQLite, Secret: secret})
				if err != nil {
					t.Fatal(err)
				}
				st, err := django.NewCachedDB(table, client, prefix, version)
				if err != nil {
					t.Fatal(err)
				}
				return st
			}
			m := newManager(t, open(2))
			key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
			if got := py.Call(map[string]any{"op": "get", "key": key}); got["user"] != ids["alice"] {
				t.Fatalf("Django: %v", got) // and cached_db now has its copy
			}
			lookupAs(t, m, key, ids["alice"])
			sessiontest.Set(t, m, key, "from_go", 7)
			if data, _ := py.Call(map[string]any{"op": "get", "key": key})["data"].(map[string]any); data["from_go"] != float64(7) {
				t.Fatalf("Django reads %v after the Go write", data)
			}
			if engine == "cache" {
				if _, err := newManager(t, open(1)).Lookup(context.Background(), key); !errors.Is(err, session.ErrInvalidToken) {
					t.Fatalf("a Go side at VERSION 1 finds Django's version-2 session: %v", err)
				}
			}
		})
	}
}

// goWritesReachDjango writes from Go to the session under key, Django's
// login of the user aliceID: one value, then 20 keys from concurrent
// requests, all of which Django must read, with the login.
func goWritesReachDjango(t *testing.T, py *pyproc.Proc, m *session.Manager, key string, aliceID any) {
	t.Helper()
	sessiontest.Set(t, m, key, "from_go", "héllo ☃")
	writeKeysConcurrently(t, m, key, 20)
	got := py.Call(map[string]any{"op": "get", "key": key})
	data, _ := got["data"].(map[string]any)
	if got["user"] != aliceID || data["from_go"] != "héllo ☃" {
		t.Fatalf("Django reads %v", got)
	}
	for i := range 20 {
		if data[fmt.Sprintf("k%d", i)] != float64(i) {
			t.Errorf("k%d lost", i)
		}
	}
}

// logoutsAndLoginsCross checks that a Go logout of the session under key
// ends it for Django, that Django's logout and password change end
// Django's logins for Go (djangoEndsIt), and that Django honours a Go
// login of bob (ids maps the users' names to their ids).
func logoutsAndLoginsCross(t *testing.T, py *pyproc.Proc, m *session.Manager, key string, ids map[string]any) {
	t.Helper()
	sessiontest.Logout(t, m, key)
	if got := py.Call(map[string]any{"op": "get", "key": key}); got["exists"] != false {
		t.Fatalf("after a Go logout Django sees %v", got)
	}
	djangoEndsIt(t, py, m, ids["alice"])
	token := loginHandler(t, m, ids["bob"].(string))
	if got := py.Call(map[string]any{"op": "get", "key": token}); got["user"] != ids["bob"] {
		t.Fatalf("Django sees the Go login as %v", got)
	}
}

// djangoEndsIt checks that a logout in Django, and a password change in
// Django, end a Django login of alice (user id aliceID) for Go.
func djangoEndsIt(t *testing.T, py *pyproc.Proc, m *session.Manager, aliceID any) {
	t.Helper()
	for _, end := range []map[string]any{{"op": "logout"}, {"op": "passwd", "user": "alice", "password": "changed"}} {
		key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
		lookupAs(t, m, key, aliceID)
		if end["op"] == "logout" {
			end["key"] = key
		}
		py.Call(end)
		if _, err := m.Lookup(context.Background(), key); !errors.Is(err, session.ErrInvalidToken) {
			t.Fatalf("after a Django %s Go finds %v", end["op"], err)
		}
	}
}

// django-redis with its msgpack serializer and zlib compressor, with a
// real Django: a Django login and its values read in Go, a Go write read
// in Django with its types.
func TestDjangoCacheMsgpackZlib(t *testing.T) {
	v := vendors()[0]
	db, path := v.open(t)
	defer db.Close()
	client, prefix := redisForDjango(t)
	cfg, _ := json.Marshal(map[string]string{"vendor": "sqlite", "name": path, "engine": "django.contrib.sessions.backends.cache",
		"cache_prefix": prefix, "serializer": "msgpack.MSGPackSerializer", "compressor": "zlib.ZlibCompressor"})
	py := pyproc.Start(t, "testdata/djangoside.py", string(cfg))
	ids := py.Call(map[string]any{"op": "setup", "users": []string{"alice"}})["users"].(map[string]any)
	st, err := django.NewCacheStore(django.CacheConfig{Client: client, KeyPrefix: prefix, Secret: secret, DB: db, Vendor: django.SQLite, Msgpack: true, Zlib: true})
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, st)
	key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
	py.Call(map[string]any{"op": "set", "key": key, "name": "cart", "value": []any{3, 1.5, "Zoë"}})
	s := lookupAs(t, m, key, ids["alice"])
	if cart, _, err := session.Get[[]any](s, "cart"); err != nil || fmt.Sprint(cart) != "[3 1.5 Zoë]" {
		t.Fatalf("cart %v %v", cart, err)
	}
	sessiontest.Set(t, m, key, "from_go", map[string]any{"n": 7, "s": "☃"})
	got := py.Call(map[string]any{"op": "get", "key": key})
	data, _ := got["data"].(map[string]any)
	if got["user"] != ids["alice"] || fmt.Sprint(data["from_go"]) != "map[n:7 s:☃]" {
		t.Fatalf("Django reads %v", got)
	}
}

// SPEC 3.6: django-redis' ZlibCompressor compresses only values longer
// than 15 bytes and, reading, uses the raw bytes when they do not
// inflate; a short session Django stored uncompressed (`{"a": 1}`) reads
// in Go with CacheConfig.Zlib, and Go's write of it is read back by
// Django. A reader that insists on inflating refuses it.
func TestDjangoCacheZlibShortValueUncompressed(t *testing.T) {
	py, cfg, _ := startCacheDjango(t, map[string]any{"compressor": "zlib.ZlibCompressor"})
	cfg.Secret, cfg.Zlib = secret, true
	st, err := django.NewCacheStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client, prefix := cfg.Client, cfg.KeyPrefix
	key := py.Call(map[string]any{"op": "anon", "name": "a", "value": 1})["key"].(string)
	raw, err := client.Get(context.Background(), prefix+":1:django.contrib.sessions.cache"+key).Result()
	if err != nil || raw != `{"a": 1}` {
		t.Fatalf("Django stored %q (%v), want the short value uncompressed: the test would prove nothing", raw, err)
	}
	m := newManager(t, st)
	s, err := m.Lookup(context.Background(), key)
	if err != nil {
		t.Fatalf("Go refuses Django's uncompressed short value: %v", err)
	}
	if a, ok, err := session.Get[int](s, "a"); err != nil || !ok || a != 1 {
		t.Fatalf("a = %v, %v, %v", a, ok, err)
	}
	sessiontest.Set(t, m, key, "b", 2)
	if data, _ := py.Call(map[string]any{"op": "get", "key": key})["data"].(map[string]any); data["a"] != float64(1) || data["b"] != float64(2) {
		t.Fatalf("Django reads %v", data)
	}
}

// djangoOnRedis is a real Django whose sessions are in Redis under a key
// prefix of the test's own, over a fresh SQLite user table.
type djangoOnRedis struct {
	py     *pyproc.Proc
	ids    map[string]any // the users' ids
	db     *sql.DB
	client *redis.Client
	prefix string
}

// startDjangoOnRedis starts a djangoOnRedis with SESSION_ENGINE engine,
// the prefix passed as the setting prefixSetting of djangoside.py, extra
// settings (which may replace the prefix) and users.
func startDjangoOnRedis(t *testing.T, engine, prefixSetting string, extra map[string]any, users ...string) djangoOnRedis {
	t.Helper()
	db, path := vendors()[0].open(t)
	t.Cleanup(func() { db.Close() })
	client, prefix := redisForDjango(t)
	settings := map[string]any{"vendor": "sqlite", "name": path, "engine": engine, prefixSetting: prefix}
	for k, v := range extra {
		settings[k] = v
	}
	if p, ok := settings[prefixSetting].(string); ok {
		prefix = p
	}
	js, _ := json.Marshal(settings)
	py := pyproc.Start(t, "testdata/djangoside.py", string(js))
	ids := py.Call(map[string]any{"op": "setup", "users": append([]string{}, users...)})["users"].(map[string]any)
	return djangoOnRedis{py: py, ids: ids, db: db, client: client, prefix: prefix}
}
