package storeurl_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/pyproc"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/storeurl"
)

// djangoSecret is the SECRET_KEY of interop/django's Python side.
const djangoSecret = "django-insecure-interop-fixture-secret-0123456789abcdef"

// djangoSQLite creates a SQLite database with a real Django's tables and a
// session of alice logged in by Django; it returns the database's path
// and the session key.
func djangoSQLite(t *testing.T) (path, key string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "django.db")
	cfg, _ := json.Marshal(map[string]string{"vendor": "sqlite", "name": path})
	py := pyproc.Start(t, "../../interop/django/testdata/djangoside.py", string(cfg))
	py.Call(map[string]any{"op": "setup", "users": []string{"alice"}})
	key = py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
	return path, key
}

// A django+sqlite: URL opens the Django project's own sessions: the
// manager built with Store.Options reads Django's login, and the secret
// comes from the environment or a file, never from the URL.
func TestOpenDjango(t *testing.T) {
	path, key := djangoSQLite(t)
	ctx := context.Background()
	t.Setenv("TEST_DJANGO_SECRET", djangoSecret)
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(djangoSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"secret_key_env=TEST_DJANGO_SECRET", "secret_key_file=" + secretFile} {
		st, err := storeurl.OpenExisting(ctx, "django+sqlite:"+path+"?"+ref)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if st.Kind != "django-sqlite" {
			t.Errorf("kind %q", st.Kind)
		}
		m, err := session.New(st, st.Options...)
		if err != nil {
			t.Fatal(err)
		}
		s, err := m.Lookup(ctx, key)
		if err != nil {
			t.Fatalf("%s: Lookup of Django's session: %v", ref, err)
		}
		if uid, err := s.UserID(); err != nil || uid == "" {
			t.Errorf("%s: Django's login not seen (user %q, %v)", ref, uid, err)
		}
		if n, err := st.CountActive(ctx, time.Now()); err != nil || n != 1 {
			t.Errorf("CountActive = %d, %v; want 1", n, err)
		}
		if _, err := st.ListByUser(ctx, "1", time.Now()); !errors.Is(err, session.ErrUnsupported) {
			t.Errorf("ListByUser = %v, want ErrUnsupported", err)
		}
		if _, err := st.DeleteByUser(ctx, "1", session.Digest{}); !errors.Is(err, session.ErrUnsupported) {
			t.Errorf("DeleteByUser = %v, want ErrUnsupported", err)
		}
		st.Close()
	}

	// A wrong secret reads no session (Django's signature does not verify).
	t.Setenv("TEST_DJANGO_WRONG", "not-the-secret")
	st, err := storeurl.OpenExisting(ctx, "django+sqlite:"+path+"?secret_key_env=TEST_DJANGO_WRONG")
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(st, append([]session.Option{session.WithLogger(slog.New(slog.DiscardHandler))}, st.Options...)...)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := m.Lookup(ctx, key); err == nil {
		if uid, _ := s.UserID(); uid != "" {
			t.Errorf("a wrong secret read Django's login of user %q", uid)
		}
	}
	st.Close()
}

func TestOpenDjangoRefusals(t *testing.T) {
	path, _ := djangoSQLite(t)
	ctx := context.Background()
	t.Setenv("TEST_DJANGO_SECRET", djangoSecret)
	t.Setenv("TEST_DJANGO_EMPTY", "")
	missing := filepath.Join(t.TempDir(), "missing.db")
	for _, tc := range []struct{ url, want string }{
		{"django+sqlite:" + path + "?secret_key=" + djangoSecret, "by reference"},
		{"django+sqlite:" + path + "?SECRET_KEY=" + djangoSecret, "by reference"},
		{"django+sqlite:" + path + "?secret_key=ab%g1" + djangoSecret, "by reference"},
		{"django+postgres://postgres@127.0.0.1:5432/test?sslmode=disable&secret%5Fkey=ab%g1" + djangoSecret + "#tail", "by reference"},
		{"django+sqlite:" + path, "secret_key_env (an environment variable"},
		{"django+sqlite:" + path + "?secret_key_env=TEST_DJANGO_EMPTY", "empty or unset"},
		{"django+sqlite:" + path + "?secret_key_env=TEST_DJANGO_SECRET&secret_key_file=/x", "not both"},
		{"django+sqlite:" + missing + "?secret_key_env=TEST_DJANGO_SECRET", "missing.db"},
		{"django+sqlite:" + path + "?secret_key_env=TEST_DJANGO_SECRET&table=no_such_table", "no_such_table"},
		{"django+sqlite:" + path + "?secret_key_env=TEST_DJANGO_SECRET&cookie_age=soon", "cookie_age"},
		{"django+memcached://127.0.0.1:11211?secret_key_env=TEST_DJANGO_SECRET", "unknown store URL scheme"},
		{"django+redis://:hunter2@127.0.0.1:1/0?secret_key_env=TEST_DJANGO_SECRET&dial_timeout=1s", "127.0.0.1:1"},
		{"django+postgres://postgres:hunter2@127.0.0.1:1/x?secret_key_env=TEST_DJANGO_SECRET", "127.0.0.1:1"},
	} {
		st, err := storeurl.Open(ctx, tc.url)
		if err == nil {
			st.Close()
			t.Errorf("%s: opened", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q, want it to mention %q", tc.url, err, tc.want)
		}
		for _, secret := range []string{djangoSecret, "hunter2"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the error shows a secret: %v", tc.url, err)
			}
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("opening a missing Django database created it (%v)", err)
	}
}

// A path with "#" or "%" in it opens that file, never another one nor a
// new one (SQLite URI filenames end at "#" and unescape "%"; a "?" ends
// the path of any sqlite: store URL).
func TestOpenDjangoOddPath(t *testing.T) {
	path, key := djangoSQLite(t)
	dir := t.TempDir()
	odd := filepath.Join(dir, "proj#1%41.db")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(odd, data, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_DJANGO_SECRET", djangoSecret)
	st, err := storeurl.OpenExisting(context.Background(), "django+sqlite:"+odd+"?secret_key_env=TEST_DJANGO_SECRET")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := session.New(st, st.Options...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Lookup(context.Background(), key); err != nil {
		t.Fatalf("the session in %s: %v", odd, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != filepath.Base(odd) && !strings.HasPrefix(e.Name(), filepath.Base(odd)+"-") {
			t.Errorf("opening %s created %s", odd, e.Name())
		}
	}
}

// djangoEngine starts a real Django on a new SQLite database whose
// sessions use engine, its cache on the local Redis under a fresh
// KEY_PREFIX, with the user alice; it returns the Python side, the
// database's path, the prefix and alice's id.
func djangoEngine(t *testing.T, engine string) (py *pyproc.Proc, path, prefix, alice string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "django.db")
	var b [6]byte
	rand.Read(b[:])
	prefix = "storeurldj" + hex.EncodeToString(b[:])
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() {
		ctx := context.Background()
		if keys, _ := client.Keys(ctx, prefix+":*").Result(); len(keys) > 0 {
			client.Del(ctx, keys...)
		}
		client.Close()
	})
	settings := map[string]string{"vendor": "sqlite", "name": path, "engine": engine, "cache_prefix": prefix}
	if engine == "redis_sessions.session" {
		settings["redis_sessions_prefix"] = prefix
	}
	cfg, _ := json.Marshal(settings)
	py = pyproc.Start(t, "../../interop/django/testdata/djangoside.py", string(cfg))
	alice = py.Call(map[string]any{"op": "setup", "users": []string{"alice"}})["users"].(map[string]any)["alice"].(string)
	return py, path, prefix, alice
}

// djangoManager builds the manager an application builds on st.
func djangoManager(t *testing.T, st *storeurl.Store) *session.Manager {
	t.Helper()
	m, err := session.New(st, append([]session.Option{session.WithLogger(slog.New(slog.DiscardHandler))}, st.Options...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// openDjangoRedis starts a Django on engine, a Redis backend, logs alice
// in there and opens the same sessions from a django+redis:// URL with
// the extra query params (ending in "&"), whose Kind must be kind; it
// checks that Go sees alice's login and that Django reads a Go write, and
// returns Django, the store, a manager on it, the session key, the Redis
// key prefix and alice's id.
func openDjangoRedis(t *testing.T, engine, params, kind string) (*pyproc.Proc, *storeurl.Store, *session.Manager, string, string, string) {
	t.Helper()
	py, path, prefix, alice := djangoEngine(t, engine)
	ctx := context.Background()
	t.Setenv("TEST_DJANGO_SECRET", djangoSecret)
	t.Setenv("TEST_DJANGO_DB", "sqlite:"+path)
	key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
	st, err := storeurl.OpenExisting(ctx, "django+redis://127.0.0.1:6379/0?"+params+"secret_key_env=TEST_DJANGO_SECRET&key_prefix="+prefix+"&user_db_env=TEST_DJANGO_DB")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if st.Kind != kind {
		t.Errorf("kind %q, want %q", st.Kind, kind)
	}
	m := djangoManager(t, st)
	s, err := m.Lookup(ctx, key)
	if err != nil {
		t.Fatalf("Lookup of Django's session: %v", err)
	}
	if uid, err := s.UserID(); err != nil || uid != alice {
		t.Fatalf("Go sees user %q (%v), want alice's %q", uid, err, alice)
	}
	sessiontest.Set(t, m, key, "from_go", "héllo")
	got := py.Call(map[string]any{"op": "get", "key": key})
	if data, _ := got["data"].(map[string]any); data["from_go"] != "héllo" || got["user"] != alice {
		t.Fatalf("Django reads %v", got)
	}
	return py, st, m, key, prefix, alice
}

// Issue 23: a django+redis:// URL opens Django's cache backend on Redis
// (django-redis, JSON serializer): Django's login is seen (the user table
// from user_db_env), a Go write reaches Django, a Go logout ends the
// session in Django, and what a cache cannot do is unsupported, saying so.
func TestOpenDjangoCache(t *testing.T) {
	py, st, m, key, prefix, alice := openDjangoRedis(t, "django.contrib.sessions.backends.cache", "", "django-cache")
	ctx := context.Background()
	for name, err := range map[string]error{
		"CountActive":   second(st.CountActive(ctx, time.Now())),
		"DeleteExpired": second(st.DeleteExpired(ctx, time.Now(), 10)),
		"ListByUser":    second(st.ListByUser(ctx, alice, time.Now())),
		"DeleteByUser":  second(st.DeleteByUser(ctx, alice, session.Digest{})),
	} {
		if !errors.Is(err, session.ErrUnsupported) {
			t.Errorf("%s = %v, want ErrUnsupported", name, err)
		}
	}
	if err := st.Unsupported("Counter"); !errors.Is(err, session.ErrUnsupported) {
		t.Errorf("Unsupported(Counter) = %v", err)
	}
	sessiontest.Logout(t, m, key)
	if got := py.Call(map[string]any{"op": "get", "key": key}); got["exists"] != false {
		t.Fatalf("after the Go logout Django still has the session: %v", got)
	}

	// Without the user table a Django login reads as anonymous (its
	// _auth_user_hash cannot be checked), never as the user.
	key = py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
	anon, err := storeurl.OpenExisting(ctx, "django+redis://127.0.0.1:6379/0?secret_key_env=TEST_DJANGO_SECRET&key_prefix="+prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	if s, err := djangoManager(t, anon).Lookup(ctx, key); err == nil {
		if uid, _ := s.UserID(); uid != "" {
			t.Errorf("without user_db_env the login of %q was taken", uid)
		}
	}
}

// backend=redis_sessions on a django+redis:// URL opens the sessions of
// django-redis-sessions: Django's login is seen, a Go write reaches
// Django, a Go logout ends the session in Django.
func TestOpenDjangoRedisSessions(t *testing.T) {
	py, _, m, key, _, _ := openDjangoRedis(t, "redis_sessions.session", "backend=redis_sessions&store_class=SessionStore&", "django-redis_sessions")
	ctx := context.Background()
	sessiontest.Logout(t, m, key)
	if got := py.Call(map[string]any{"op": "get", "key": key}); got["exists"] != false {
		t.Fatalf("after the Go logout Django still has the session: %v", got)
	}
	for _, bad := range []string{"backend=memcached", "backend=redis_sessions&serializer=json", "backend=redis_sessions&version=2", "store_class=X"} {
		if st, err := storeurl.OpenExisting(ctx, "django+redis://127.0.0.1:6379/0?secret_key_env=TEST_DJANGO_SECRET&"+bad); err == nil {
			st.Close()
			t.Errorf("%s accepted", bad)
		}
	}
}

// Issue 23: cache_url_env= on a django+ database URL opens the cached_db
// backend: the row is read, and a Go write or logout deletes Django's
// cache copy, so Django serves neither a stale value nor an ended login.
func TestOpenDjangoCachedDB(t *testing.T) {
	py, path, prefix, alice := djangoEngine(t, "django.contrib.sessions.backends.cached_db")
	ctx := context.Background()
	t.Setenv("TEST_DJANGO_SECRET", djangoSecret)
	t.Setenv("TEST_DJANGO_CACHE", "redis://127.0.0.1:6379/0")
	key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
	py.Call(map[string]any{"op": "get", "key": key}) // Django caches its copy

	st, err := storeurl.OpenExisting(ctx, "django+sqlite:"+path+"?secret_key_env=TEST_DJANGO_SECRET&cache_url_env=TEST_DJANGO_CACHE&cache_key_prefix="+prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Kind != "django-cached_db-sqlite" {
		t.Errorf("kind %q", st.Kind)
	}
	m := djangoManager(t, st)
	s, err := m.Lookup(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if uid, err := s.UserID(); err != nil || uid != alice {
		t.Fatalf("Go sees user %q (%v), want alice's %q", uid, err, alice)
	}
	if n, err := st.CountActive(ctx, time.Now()); err != nil || n != 1 {
		t.Errorf("CountActive = %d, %v; want 1 (the rows)", n, err)
	}
	sessiontest.Set(t, m, key, "from_go", 7.0)
	got := py.Call(map[string]any{"op": "get", "key": key})
	if data, _ := got["data"].(map[string]any); data["from_go"] != 7.0 {
		t.Fatalf("Django serves a stale copy: %v", got)
	}
	sessiontest.Logout(t, m, key)
	if got := py.Call(map[string]any{"op": "get", "key": key}); got["exists"] != false || got["user"] != nil {
		t.Fatalf("after the Go logout Django still serves the session: %v", got)
	}
}

// The cache backend's and cached_db's parameters are refused on the other
// kind of URL, and values they cannot mean are refused with what to give.
func TestOpenDjangoCacheRefusals(t *testing.T) {
	ctx := context.Background()
	path, _ := djangoSQLite(t)
	t.Setenv("TEST_DJANGO_SECRET", djangoSecret)
	t.Setenv("TEST_DJANGO_EMPTY", "")
	// Second servers' URLs by reference: wrong ones, and a variable
	// named by mistake that holds the secret, whose value must never
	// show in the error.
	t.Setenv("TEST_DJANGO_PG_BAD", "postgres://postgres:hunter2@127.0.0.1:notaport/test")
	t.Setenv("TEST_DJANGO_PG_DOWN", "postgres://postgres:hunter2@127.0.0.1:1/test?connect_timeout=1")
	t.Setenv("TEST_DJANGO_REDIS_DOWN", "redis://:hunter2@127.0.0.1:1/0?dial_timeout=1s")
	t.Setenv("TEST_DJANGO_CLUSTER", "redis-cluster://127.0.0.1:7000")
	for _, bad := range []string{
		"django+sqlite:" + path + "?secret_key_env=TEST_DJANGO_SECRET&cache_url_env=TEST_DJANGO_SECRET",
		"django+sqlite:" + path + "?secret_key_env=TEST_DJANGO_SECRET&cache_url_env=TEST_DJANGO_REDIS_DOWN",
		"django+sqlite:" + path + "?secret_key_env=TEST_DJANGO_SECRET&cache_url_env=TEST_DJANGO_CLUSTER",
		"django+redis://127.0.0.1:6379/0?secret_key_env=TEST_DJANGO_SECRET&user_db_env=TEST_DJANGO_SECRET",
		"django+redis://127.0.0.1:6379/0?secret_key_env=TEST_DJANGO_SECRET&user_db_env=TEST_DJANGO_PG_BAD",
		"django+redis://127.0.0.1:6379/0?secret_key_env=TEST_DJANGO_SECRET&user_db_env=TEST_DJANGO_PG_DOWN",
		"django+redis://127.0.0.1:6379/0?secret_key_env=TEST_DJANGO_SECRET&serializer=pickle",
		"django+redis://127.0.0.1:6379/0?secret_key_env=TEST_DJANGO_SECRET&compressor=lzma",
		"django+redis://127.0.0.1:6379/0?secret_key_env=TEST_DJANGO_SECRET&version=0",
		"django+redis://127.0.0.1:6379/0?secret_key_env=TEST_DJANGO_SECRET&table=django_session",
		"django+redis://127.0.0.1:6379/0?secret_key_env=TEST_DJANGO_SECRET&cache_url_env=TEST_DJANGO_SECRET",
		"django+redis://127.0.0.1:6379/0?secret_key_env=TEST_DJANGO_SECRET&user_db_env=TEST_DJANGO_EMPTY",
		"django+redis://127.0.0.1:6379/0",
		"django+sqlite:" + path + "?secret_key_env=TEST_DJANGO_SECRET&key_prefix=x",
		"django+sqlite:" + path + "?secret_key_env=TEST_DJANGO_SECRET&cache_key_prefix=x",
		"django+sqlite:" + path + "?secret_key_env=TEST_DJANGO_SECRET&cache_url_env=TEST_DJANGO_EMPTY",
		"django+sqlite:" + path + "?secret_key_env=TEST_DJANGO_SECRET&cache_url_env=TEST_DJANGO_SECRET&cache_version=x",
	} {
		if st, err := storeurl.OpenExisting(ctx, bad); err == nil {
			st.Close()
			t.Errorf("%s accepted", bad)
		} else {
			for _, secret := range []string{djangoSecret, "hunter2"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("%s: the error holds a secret: %v", bad, err)
				}
			}
		}
	}
}

func second[T any](_ T, err error) error { return err }
