package django_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/pyproc"
	"github.com/sessionkit/session/interop/django"
	"github.com/sessionkit/session/sessiontest"
)

// oldSecret is the SECRET_KEY before a rotation.
const oldSecret = "django-insecure-the-secret-before-the-rotation-0123456789"

// startCacheDjango runs a real Django on the cache backend (django-redis,
// JSON) over a fresh SQLite user table, with extra settings (secret,
// sha1), and the users alice and bob.
func startCacheDjango(t *testing.T, extra map[string]any) (*pyproc.Proc, django.CacheConfig, map[string]any) {
	t.Helper()
	d := startDjangoOnRedis(t, "django.contrib.sessions.backends.cache", "cache_prefix", extra, "alice", "bob")
	return d.py, django.CacheConfig{Client: d.client, KeyPrefix: d.prefix, DB: d.db, Vendor: django.SQLite}, d.ids
}

// After a SECRET_KEY rotation the cache store honours logins under the
// old key listed in CacheConfig.Fallbacks (Django 4.1's
// SECRET_KEY_FALLBACKS; Django 3.2, installed here, has none, so the
// logins are made by a Django still on the old key, whose
// _auth_user_hash is what a 4.1 site with the fallback accepts): Go sees
// the user, and neither its read nor its write ends the session for
// Django. Without the fallback the login's hash does not verify and the
// session is flushed, as Django without it would.
func TestDjangoCacheSecretFallbacks(t *testing.T) {
	py, cfg, ids := startCacheDjango(t, map[string]any{"secret": oldSecret})
	cfg.Secret, cfg.Fallbacks = "a-new-secret-key-after-the-rotation", []string{oldSecret}
	st, err := django.NewCacheStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, st)
	key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
	lookupAs(t, m, key, ids["alice"])
	sessiontest.Set(t, m, key, "from_go", 1)
	if got := py.Call(map[string]any{"op": "get", "key": key}); got["user"] != ids["alice"] || got["data"].(map[string]any)["from_go"] != float64(1) {
		t.Fatalf("after a Go write Django sees %v", got)
	}

	cfg.Fallbacks = nil
	strict, err := django.NewCacheStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newManager(t, strict).Lookup(context.Background(), key); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("without the fallback: %v", err)
	}
	if got := py.Call(map[string]any{"op": "get", "key": key}); got["exists"] != false {
		t.Fatalf("without the fallback the session stays: %v", got)
	}
}

// A Django 3.2 site in DEFAULT_HASHING_ALGORITHM = "sha1" writes SHA-1
// login hashes; the cache store honours them with CacheConfig.AcceptSHA1
// (as 3.2 does) and flushes them without it (as 4.0 does).
func TestDjangoCacheAcceptSHA1(t *testing.T) {
	py, cfg, ids := startCacheDjango(t, map[string]any{"sha1": true})
	cfg.Secret, cfg.AcceptSHA1 = secret, true
	st, err := django.NewCacheStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
	lookupAs(t, newManager(t, st), key, ids["alice"])
	cfg.AcceptSHA1 = false
	strict, err := django.NewCacheStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newManager(t, strict).Lookup(context.Background(), key); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("a SHA-1 login without AcceptSHA1: %v", err)
	}
}
