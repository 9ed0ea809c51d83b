package main_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session/internal/pyproc"
)

// sessionctl on a Django project's own database (django+sqlite: and
// django+postgres://): it counts Django's sessions and deletes the expired
// ones, as Django's clearsessions does, reading SECRET_KEY from the
// environment; a user's sessions cannot be listed there (no user column),
// and it says so.
func TestDjangoStore(t *testing.T) {
	const secret = "django-insecure-interop-fixture-secret-0123456789abcdef" // interop/django's Python side
	pgAdmin := env("SESSION_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	for _, vendor := range []string{"sqlite", "postgres"} {
		t.Run(vendor, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "django.db")
			url := "django+sqlite:" + name + "?secret_key_env=SESSIONCTL_DJANGO_SECRET"
			if vendor == "postgres" {
				name = "django_sessionctl" // not interop/django's database: the packages' tests run in parallel
				url = "django+" + strings.Replace(pgAdmin, "/test?", "/django_sessionctl?", 1) + "&secret_key_env=SESSIONCTL_DJANGO_SECRET"
				createPostgresDatabase(t, name)
			}
			cfg, _ := json.Marshal(map[string]string{"vendor": vendor, "name": name})
			py := pyproc.Start(t, "../../interop/django/testdata/djangoside.py", string(cfg))
			py.Call(map[string]any{"op": "setup", "users": []string{"alice", "bob"}})
			var keys []string
			for _, u := range []string{"alice", "bob"} {
				keys = append(keys, py.Call(map[string]any{"op": "login", "user": u})["key"].(string))
			}
			py.Call(map[string]any{"op": "age", "key": keys[0], "seconds": 60})
			t.Setenv("SESSIONCTL_DJANGO_SECRET", secret) // inherited by the sessionctl processes
			if out, errOut, code := sessionctl(t, "--store", url, "count"); code != 0 || strings.TrimSpace(out) != "1" {
				t.Fatalf("count: %d %q %q", code, out, errOut)
			}
			if out, errOut, code := sessionctl(t, "--store", url, "clear-expired"); code != 0 || !strings.Contains(out, "1") {
				t.Fatalf("clear-expired: %d %q %q", code, out, errOut)
			}
			if row := py.Call(map[string]any{"op": "raw", "key": keys[0]})["row"]; row != nil {
				t.Errorf("the expired row is still there: %v", row)
			}
			if row := py.Call(map[string]any{"op": "raw", "key": keys[1]})["row"]; row == nil {
				t.Error("clear-expired deleted a live session")
			}
			if _, errOut, code := sessionctl(t, "--store", url, "list", "--user", "1"); code != 1 || !strings.Contains(errOut, "does not support") {
				t.Fatalf("list: %d %q", code, errOut)
			}
			// Why, in the store's words: Django's table has no user column.
			if _, errOut, code := sessionctl(t, "--store", url, "revoke", "--user", "1"); code != 1 || !strings.Contains(errOut, "no user index") {
				t.Fatalf("revoke --user: %d %q", code, errOut)
			}
			// check names what to run on a Django SQLite file, not a
			// server (it said the "server checks its own storage").
			wantCheck := map[string]string{"sqlite": "PRAGMA quick_check", "postgres": "server checks its own storage"}[vendor]
			if _, errOut, code := sessionctl(t, "--store", url, "check"); code != 1 || !strings.Contains(errOut, wantCheck) {
				t.Fatalf("check: %d %q, want %q", code, errOut, wantCheck)
			}
			if _, errOut, code := sessionctl(t, "--store", strings.Replace(url, "secret_key_env=SESSIONCTL_DJANGO_SECRET", "secret_key="+secret, 1), "count"); code == 0 || strings.Contains(errOut, secret) {
				t.Fatalf("a secret in the URL: exit %d, %q", code, errOut)
			}
		})
	}
}

// createPostgresDatabase creates the database for Django's tables if it is
// not there (the interop tests share it).
func createPostgresDatabase(t *testing.T, name string) {
	t.Helper()
	admin, err := sql.Open("pgx", env("SESSION_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil && !strings.Contains(err.Error(), "42P04") {
		t.Fatalf("PostgreSQL: %v", err)
	}
}

// sessionctl on Django's cached_db backend (counting and cleanup on the
// rows) and on its cache backend on Redis (a cache counts nothing: it
// says so, exit status 1).
func TestDjangoCacheStores(t *testing.T) {
	const secret = "django-insecure-interop-fixture-secret-0123456789abcdef"
	name := filepath.Join(t.TempDir(), "django.db")
	var b [6]byte
	rand.Read(b[:])
	prefix := "sessionctldj" + hex.EncodeToString(b[:])
	client := redis.NewClient(&redis.Options{Addr: env("SESSION_TEST_REDIS_ADDR", "127.0.0.1:6379")})
	t.Cleanup(func() {
		ctx := context.Background()
		if keys, _ := client.Keys(ctx, prefix+":*").Result(); len(keys) > 0 {
			client.Del(ctx, keys...)
		}
		client.Close()
	})
	cfg, _ := json.Marshal(map[string]string{"vendor": "sqlite", "name": name, "engine": "django.contrib.sessions.backends.cached_db", "cache_prefix": prefix})
	py := pyproc.Start(t, "../../interop/django/testdata/djangoside.py", string(cfg))
	py.Call(map[string]any{"op": "setup", "users": []string{"alice"}})
	py.Call(map[string]any{"op": "login", "user": "alice"})
	t.Setenv("SESSIONCTL_DJANGO_SECRET", secret)
	t.Setenv("SESSIONCTL_DJANGO_CACHE", "redis://"+env("SESSION_TEST_REDIS_ADDR", "127.0.0.1:6379")+"/0")
	cachedDB := "django+sqlite:" + name + "?secret_key_env=SESSIONCTL_DJANGO_SECRET&cache_url_env=SESSIONCTL_DJANGO_CACHE&cache_key_prefix=" + prefix
	if out, errOut, code := sessionctl(t, "--store", cachedDB, "count"); code != 0 || strings.TrimSpace(out) != "1" {
		t.Fatalf("count on cached_db: %d %q %q", code, out, errOut)
	}
	cache := "django+redis://" + env("SESSION_TEST_REDIS_ADDR", "127.0.0.1:6379") + "/0?secret_key_env=SESSIONCTL_DJANGO_SECRET&key_prefix=" + prefix
	for _, cmd := range [][]string{{"count"}, {"clear-expired"}, {"list", "--user", "1"}} {
		if out, errOut, code := sessionctl(t, append([]string{"--store", cache}, cmd...)...); code != 1 || !strings.Contains(errOut, "cache") {
			t.Errorf("%s on the cache backend: %d %q %q", cmd[0], code, out, errOut)
		}
	}
}
