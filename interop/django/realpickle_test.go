package django_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/pyproc"
	"github.com/sessionkit/session/interop/django"
)

// Issue 23, with pickles a real Django writes (not hand-made bytes): a
// login stored by Django's PickleSerializer (db backend) and by
// django-redis' default PickleSerializer (cache backend) is refused with
// a *PickleError naming the setting to change, never decoded; a Go logout
// of it still works, and Django then has no session.
func TestRealPicklesRefused(t *testing.T) {
	ctx := context.Background()
	t.Run("db", func(t *testing.T) {
		v := vendors()[0]
		db, name := v.open(t)
		t.Cleanup(func() { db.Close() })
		cfg, _ := json.Marshal(map[string]string{"vendor": v.name, "name": name,
			"session_serializer": "django.contrib.sessions.serializers.PickleSerializer"})
		py := pyproc.Start(t, "testdata/djangoside.py", string(cfg))
		py.Call(map[string]any{"op": "setup", "users": []string{"alice"}})
		key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
		st, err := django.NewStore(db, django.Config{Vendor: v.vendor, Secret: secret})
		if err != nil {
			t.Fatal(err)
		}
		checkPickleRefused(t, ctx, st, py, key, "SESSION_SERIALIZER")
	})
	t.Run("cache", func(t *testing.T) {
		db, path := vendors()[0].open(t)
		t.Cleanup(func() { db.Close() })
		client, prefix := redisForDjango(t)
		cfg, _ := json.Marshal(map[string]string{"vendor": "sqlite", "name": path, "engine": "django.contrib.sessions.backends.cache",
			"cache_prefix": prefix, "serializer": "pickle.PickleSerializer"})
		py := pyproc.Start(t, "testdata/djangoside.py", string(cfg))
		py.Call(map[string]any{"op": "setup", "users": []string{"alice"}})
		key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
		st, err := django.NewCacheStore(django.CacheConfig{Client: client, KeyPrefix: prefix, Secret: secret, DB: db, Vendor: django.SQLite})
		if err != nil {
			t.Fatal(err)
		}
		checkPickleRefused(t, ctx, st, py, key, "JSONSerializer")
	})
}

// checkPickleRefused loads Django's session key through st (a manager
// lookup and the store itself), expects a *PickleError naming setting,
// logs it out from Go and checks that Django no longer has it.
func checkPickleRefused(t *testing.T, ctx context.Context, st session.Store, py *pyproc.Proc, key, setting string) {
	t.Helper()
	if got := py.Call(map[string]any{"op": "get", "key": key}); got["exists"] != true {
		t.Fatalf("Django does not read its own pickled session: %v", got)
	}
	d, ok := django.Keys{}.Key(key)
	if !ok {
		t.Fatalf("Django's key %q is not a Django key", key)
	}
	var pe *django.PickleError
	if _, err := st.Load(ctx, d); !errors.As(err, &pe) || !strings.Contains(err.Error(), setting) {
		t.Fatalf("a session Django pickled: %v, want a *PickleError naming %s", err, setting)
	}
	m := newManager(t, st)
	if _, err := m.Lookup(ctx, key); !errors.As(err, &pe) {
		t.Fatalf("Lookup of a pickled session: %v, want the *PickleError (a store error, never an anonymous session)", err)
	}
	// A Go logout through the manager (which reads a session before it
	// deletes it, and before this deleted it only when it could read it).
	header, _ := serveGo(t, m, key, func(r *http.Request) error { return m.Destroy(r.Context()) })
	if !strings.Contains(header, "Max-Age=0") {
		t.Fatalf("the Go logout did not clear the cookie: %q", header)
	}
	if got := py.Call(map[string]any{"op": "get", "key": key}); got["exists"] != false || got["user"] != nil {
		t.Fatalf("after the Go logout Django still has the session: %v", got)
	}
	if ok, err := st.Delete(ctx, d); ok || err != nil {
		t.Fatalf("deleting it again: %v, %v", ok, err)
	}
}
