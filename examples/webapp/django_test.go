package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/session/internal/pyproc"
)

// The demo on a Django project's sessions (issue 23), on each of Django's
// server-side backends: the db backend (SQLite), the cache backend on
// Redis (django-redis, the users in SQLite through user_db_env) and
// cached_db. A Django user logs in through the demo's form with the
// password Django hashed, and Django sees that login; a Django login is
// seen by the demo; a logout in the demo ends the session for Django.
// "Your devices" answers 501: Django keeps no list of a user's sessions.
// Before, the demo on the cache backend checked its own --users and could
// log no Django user in.
func TestDemoOnDjangoDatabase(t *testing.T) {
	const secret = "django-insecure-interop-fixture-secret-0123456789abcdef" // interop/django's Python side
	t.Setenv("WEBAPP_TEST_DJANGO_SECRET", secret)
	for _, backend := range []string{"db", "cache", "cached_db"} {
		t.Run(backend, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "django.db")
			cfg := map[string]any{"vendor": "sqlite", "name": path, "cookie_age": 1440 * 3600}
			// SESSION_COOKIE_AGE (cookie_age) beyond the demo's 30-day
			// "remember me": the store's timeouts replace the demo's own.
			store := "django+sqlite:" + path + "?secret_key_env=WEBAPP_TEST_DJANGO_SECRET&cookie_age=1440h"
			if backend != "db" {
				prefix := redisPrefix(t)
				cfg["engine"], cfg["cache_prefix"] = "django.contrib.sessions.backends."+backend, prefix
				if backend == "cache" {
					t.Setenv("WEBAPP_TEST_DJANGO_USERS", "sqlite:"+path)
					store = "django+redis://127.0.0.1:6379/0?secret_key_env=WEBAPP_TEST_DJANGO_SECRET&cookie_age=1440h&key_prefix=" + prefix + "&user_db_env=WEBAPP_TEST_DJANGO_USERS"
				} else {
					t.Setenv("WEBAPP_TEST_DJANGO_CACHE", "redis://127.0.0.1:6379/0")
					store += "&cache_url_env=WEBAPP_TEST_DJANGO_CACHE&cache_key_prefix=" + prefix
				}
			}
			demoOnDjango(t, cfg, store)
		})
	}
}

// On Django's cache backend without the user table (no user_db_env=) the
// demo could log nobody in: it refuses to start, with a usage error that
// names the parameter. Before, every login answered 500.
func TestDemoOnDjangoCacheNeedsUserTable(t *testing.T) {
	t.Setenv("WEBAPP_TEST_DJANGO_SECRET", "django-insecure-interop-fixture-secret-0123456789abcdef")
	err := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--store",
		"django+redis://127.0.0.1:6379/0?secret_key_env=WEBAPP_TEST_DJANGO_SECRET&key_prefix=" + redisPrefix(t)}, io.Discard, nil)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "user_db_env") {
		t.Fatalf("run: %v, want a usage error naming user_db_env", err)
	}
}

func demoOnDjango(t *testing.T, cfg map[string]any, store string) {
	config, _ := json.Marshal(cfg)
	py := pyproc.Start(t, "../../interop/django/testdata/djangoside.py", string(config))
	ids := py.Call(map[string]any{"op": "setup", "users": []string{"ann", "md"}, "hashers": map[string]string{"ann": "pbkdf2_sha256", "md": "md5"}})["users"].(map[string]any)
	d := startDemo(t, "--store", store)
	defer d.stop()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path, key string, form url.Values) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, d.base+path, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if key != "" {
			req.AddCookie(&http.Cookie{Name: "sessionid", Value: key})
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(body)
	}
	if res, _ := do("POST", "/login", "", url.Values{"username": {"ann"}, "password": {"wrong"}}); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", res.StatusCode)
	}
	// An account whose hash the demo cannot check answers as a wrong
	// password does.
	if res, _ := do("POST", "/login", "", url.Values{"username": {"md"}, "password": {"pw-md"}}); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an MD5-hashed account: %d", res.StatusCode)
	}
	if _, body := do("GET", "/login", "", nil); strings.Contains(body, "remember") {
		t.Fatal(`the login page offers "remember me" on Django's table`)
	}
	res, _ := do("POST", "/login", "", url.Values{"username": {"ann"}, "password": {"pw-ann"}})
	var key string
	for _, c := range res.Cookies() {
		if c.Name == "sessionid" && c.MaxAge >= 0 {
			key = c.Value
		}
	}
	if res.StatusCode != http.StatusSeeOther || len(key) != 32 {
		t.Fatalf("login: %d, Django session key %q", res.StatusCode, key)
	}
	// SPEC 3.1: the login cookie has the attributes of the one Django's
	// SessionMiddleware sends (name, Path, Max-Age of SESSION_COOKIE_AGE,
	// HttpOnly, SameSite=Lax); Secure only where this plain-HTTP test run
	// asks the demo not to (Django's default is not Secure either).
	djangoCookie, err := http.ParseSetCookie(py.Call(map[string]any{"op": "middleware_cookie", "user": "ann"})["set_cookie"].(string))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies() {
		if c.Name == "sessionid" && (c.Path != djangoCookie.Path || c.MaxAge != djangoCookie.MaxAge || c.HttpOnly != djangoCookie.HttpOnly || c.SameSite != djangoCookie.SameSite) {
			t.Fatalf("the demo's login cookie %q; Django's %q", c.String(), djangoCookie.String())
		}
	}
	if got := py.Call(map[string]any{"op": "get", "key": key}); got["user"] != ids["ann"] {
		t.Fatalf("Django sees the demo's login as %v", got)
	}
	if res, body := do("GET", "/dashboard", key, nil); res.StatusCode != 200 || !strings.Contains(body, ">"+ids["ann"].(string)+"<") || !strings.Contains(body, "keeps no list") {
		t.Fatalf("dashboard: %d %s\n%s", res.StatusCode, body, d.out.String())
	}
	if res, _ := do("GET", "/sessions", key, nil); res.StatusCode != http.StatusNotImplemented {
		t.Fatalf("/sessions: %d, want 501", res.StatusCode)
	}
	if res, _ := do("POST", "/logout", key, url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	if got := py.Call(map[string]any{"op": "get", "key": key}); got["exists"] != false || got["user"] != nil {
		t.Fatalf("Django after the demo's logout: %v", got)
	}
	// Django logs ann in; the demo sees her.
	key = py.Call(map[string]any{"op": "login", "user": "ann"})["key"].(string)
	if res, body := do("GET", "/dashboard", key, nil); res.StatusCode != 200 || !strings.Contains(body, ">"+ids["ann"].(string)+"<") {
		t.Fatalf("dashboard with Django's login: %d %s", res.StatusCode, body)
	}
}

// redisPrefix returns a Redis key prefix of the test's own on the test
// Redis, whose keys are deleted when the test ends.
func redisPrefix(t *testing.T) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	prefix := "webappdj" + hex.EncodeToString(b[:])
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() {
		ctx := context.Background()
		if keys, err := client.Keys(ctx, prefix+":*").Result(); err == nil && len(keys) > 0 {
			client.Del(ctx, keys...)
		}
		client.Close()
	})
	return prefix
}
