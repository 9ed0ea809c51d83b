package django_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/pyproc"
	"github.com/sessionkit/session/interop/django"
)

// loginBackend is a Django session backend with a real Django on it.
type loginBackend struct {
	name  string
	start func(t *testing.T) (*pyproc.Proc, session.Store, map[string]any)
}

func loginBackends() []loginBackend {
	var out []loginBackend
	for _, v := range vendors() {
		out = append(out, loginBackend{"db/" + v.name, func(t *testing.T) (*pyproc.Proc, session.Store, map[string]any) {
			py, ids, st := vendorDjango(t, v, "alice", "bob", "carol")
			return py, st, ids
		}})
	}
	out = append(out, loginBackend{"cache", func(t *testing.T) (*pyproc.Proc, session.Store, map[string]any) {
		c := djangoCache(t, django.CacheConfig{}, "alice", "bob", "carol")
		return c.py, c.st, c.ids
	}}, loginBackend{"cached_db", func(t *testing.T) (*pyproc.Proc, session.Store, map[string]any) {
		db, path := vendors()[0].open(t)
		t.Cleanup(func() { db.Close() })
		client, prefix := redisForDjango(t)
		py := startDjangoEngine(t, path, "django.contrib.sessions.backends.cached_db", prefix)
		ids := py.Call(map[string]any{"op": "setup", "users": []string{"alice", "bob", "carol"}})["users"].(map[string]any)
		table, err := django.NewStore(db, django.Config{Vendor: django.SQLite, Secret: secret})
		if err != nil {
			t.Fatal(err)
		}
		st, err := django.NewCachedDB(table, client, prefix, 1)
		if err != nil {
			t.Fatal(err)
		}
		return py, st, ids
	}})
	return out
}

// SPEC 3.11 / 7.2: a Go login into a session Django issued is Django's
// login: the key is cycled (the old key is dead for Django and for Go, the
// new one is a Django login of that user), an anonymous session's data is
// kept (cycle_key), and a session of another user is flushed first, its
// data gone. On the db backend (SQLite, PostgreSQL, MariaDB), the cache
// backend and cached_db (where Django has cached the old session first).
func TestGoLoginIntoDjangoSession(t *testing.T) {
	for _, b := range loginBackends() {
		t.Run(b.name, func(t *testing.T) {
			py, st, ids := b.start(t)
			m := newManager(t, st)
			alice := ids["alice"].(string)
			login := func(old string) string {
				t.Helper()
				// Django reads the session first (cached_db caches it).
				if got := py.Call(map[string]any{"op": "get", "key": old}); got["exists"] != true {
					t.Fatalf("Django does not know %s: %v", old, got)
				}
				_, key := serveGo(t, m, old, func(r *http.Request) error { return m.Login(r.Context(), alice) })
				if len(key) != django.KeyLength || key == old {
					t.Fatalf("Go login over %s set the cookie %q", old, key)
				}
				if got := py.Call(map[string]any{"op": "get", "key": old}); got["exists"] != false || got["user"] != nil {
					t.Fatalf("after a Go login Django still accepts the old key: %v", got)
				}
				if _, err := m.Lookup(context.Background(), old); !errors.Is(err, session.ErrInvalidToken) {
					t.Fatalf("after a Go login Go still accepts the old key: %v", err)
				}
				return key
			}

			// An anonymous Django session: cycled, its data kept.
			anon := py.Call(map[string]any{"op": "anon", "name": "cart", "value": []any{3, 1, 4}})["key"].(string)
			key := login(anon)
			got := py.Call(map[string]any{"op": "get", "key": key})
			if got["user"] != alice || fmt.Sprint(got["data"].(map[string]any)["cart"]) != "[3 1 4]" {
				t.Fatalf("Django sees the Go login as %v", got)
			}
			// SPEC 3.11: the user id as Django writes it, a string
			// (Django reads a number too, so only the bytes tell).
			if id, ok := got["data"].(map[string]any)[django.KeyUserID].(string); !ok || id != alice {
				t.Fatalf("the Go login wrote %s = %#v, want the string %q", django.KeyUserID, got["data"].(map[string]any)[django.KeyUserID], alice)
			}

			// Logged in again as the same user: cycled, data kept.
			key = login(key)
			if got := py.Call(map[string]any{"op": "get", "key": key}); got["user"] != alice || got["data"].(map[string]any)["cart"] == nil {
				t.Fatalf("Django sees the second Go login as %v", got)
			}

			// Bob's Django session: flushed by a login as alice, his
			// set_expiry with it (alice's session has the manager's idle
			// timeout, which is shorter than SESSION_COOKIE_AGE).
			bobs := py.Call(map[string]any{"op": "login", "user": "bob"})["key"].(string)
			py.Call(map[string]any{"op": "set", "key": bobs, "name": "bobs_secret", "value": "x"})
			py.Call(map[string]any{"op": "expiry", "key": bobs, "value": 7 * 24 * 3600})
			key = login(bobs)
			got = py.Call(map[string]any{"op": "get", "key": key})
			data := got["data"].(map[string]any)
			if got["user"] != alice || data["bobs_secret"] != nil {
				t.Fatalf("Django sees alice's login over bob's session as %v", got)
			}
			if data[django.KeyExpiry] != session.DefaultIdleTimeout.Seconds() {
				t.Fatalf("alice's login over bob's session has the expiry %v, want the manager's idle timeout", data[django.KeyExpiry])
			}
			for k := range data {
				if k != django.KeyUserID && k != django.KeyUserBackend && k != django.KeyUserHash && k != django.KeyExpiry {
					t.Fatalf("bob's session kept %q for alice: %v", k, data)
				}
			}

			// Carol's Django session after her account was deactivated:
			// anonymous for Django and for Go (neither honours the
			// login), but still hers: Django's login as alice flushes
			// it (its _auth_user_id is another user's), and so does Go's.
			// Before, Go took it for an anonymous visitor's and kept
			// carol's data for alice.
			carols := py.Call(map[string]any{"op": "login", "user": "carol"})["key"].(string)
			if res := py.Call(map[string]any{"op": "set", "key": carols, "name": "carols_secret", "value": "x"}); res["key"] != carols {
				t.Fatalf("Django's write to carol's session: %v", res)
			}
			if res := py.Call(map[string]any{"op": "deactivate", "user": "carol"}); res["updated"] != float64(1) {
				t.Fatalf("deactivating carol: %v", res)
			}
			if got := py.Call(map[string]any{"op": "get", "key": carols}); got["user"] != nil || got["exists"] != true || got["data"].(map[string]any)["carols_secret"] != "x" {
				t.Fatalf("Django sees carol's session after her deactivation as %v", got)
			}
			if s := lookupAs(t, m, carols, ""); s == nil {
				t.Fatal("no session")
			} else if v, ok, err := session.Get[string](s, "carols_secret"); err != nil || !ok || v != "x" {
				t.Fatalf("Go reads carol's data as %q, %v, %v", v, ok, err)
			}
			key = login(carols)
			got = py.Call(map[string]any{"op": "get", "key": key})
			if got["user"] != alice || got["data"].(map[string]any)["carols_secret"] != nil {
				t.Fatalf("Django sees alice's login over carol's session as %v", got)
			}

			// Bob's Django login through a backend neither side honours
			// (not in AUTHENTICATION_BACKENDS, nor in Config.Backends):
			// anonymous for both, his data kept. A Go login as bob himself
			// keeps it (Django's login cycles the key), unless his
			// password changed since that login: Django's login flushes a
			// session whose hash is not the user's, the same user's
			// included, and so does Go's.
			bob := ids["bob"].(string)
			for _, changed := range []bool{false, true} {
				his := py.Call(map[string]any{"op": "login", "user": "bob", "backend": "myproject.auth.TokenBackend"})["key"].(string)
				if res := py.Call(map[string]any{"op": "set", "key": his, "name": "bobs_cart", "value": "x"}); res["key"] != his {
					t.Fatalf("Django's write to bob's session: %v", res)
				}
				if changed {
					py.Call(map[string]any{"op": "passwd", "user": "bob", "password": "changed"})
				}
				if got := py.Call(map[string]any{"op": "get", "key": his}); got["exists"] != true || got["user"] != nil {
					t.Fatalf("Django reads bob's session through another backend as %v", got)
				}
				lookupAs(t, m, his, "")
				_, key := serveGo(t, m, his, func(r *http.Request) error { return m.Login(r.Context(), bob) })
				got := py.Call(map[string]any{"op": "get", "key": key})
				data, _ := got["data"].(map[string]any)
				if kept := data["bobs_cart"] != nil; got["user"] != bob || kept == changed {
					t.Fatalf("bob's Go login over his own session (password changed since: %v): Django sees %v", changed, got)
				}
			}
		})
	}
}

// SPEC 3.11: under CSRF_USE_SESSIONS Django keeps the CSRF secret in the
// session (_csrftoken) and its login rotates it, so a secret an attacker
// planted before the victim logged in is worthless after. A Go login
// drops it (Django makes a new one when a page asks); a Go write that is
// no login keeps it.
func TestGoLoginRotatesDjangoCSRFSecret(t *testing.T) {
	for _, b := range loginBackends() {
		t.Run(b.name, func(t *testing.T) {
			py, st, ids := b.start(t)
			m := newManager(t, st)
			alice := ids["alice"].(string)
			planted := py.Call(map[string]any{"op": "anon", "name": django.KeyCSRFToken, "value": "planted-by-the-attacker"})["key"].(string)
			py.Call(map[string]any{"op": "get", "key": planted}) // cached_db caches it
			_, key := serveGo(t, m, planted, func(r *http.Request) error { return m.Login(r.Context(), alice) })
			got := py.Call(map[string]any{"op": "get", "key": key})
			if got["user"] != alice {
				t.Fatalf("Django sees the Go login as %v", got)
			}
			if v, kept := got["data"].(map[string]any)[django.KeyCSRFToken]; kept {
				t.Fatalf("the CSRF secret planted before the login survived it: %v", v)
			}
			// Django's own secret on the logged-in session stays through
			// Go writes and renewals that are no login.
			py.Call(map[string]any{"op": "set", "key": key, "name": django.KeyCSRFToken, "value": "djangos-own"})
			serveGo(t, m, key, setFromGo("from_go", 1))
			got = py.Call(map[string]any{"op": "get", "key": key})
			if data := got["data"].(map[string]any); data[django.KeyCSRFToken] != "djangos-own" || data["from_go"] != float64(1) {
				t.Fatalf("after a Go write Django sees %v", data)
			}
			_, key = serveGo(t, m, key, func(r *http.Request) error { return m.Renew(r.Context()) })
			got = py.Call(map[string]any{"op": "get", "key": key})
			if data := got["data"].(map[string]any); got["user"] != alice || data[django.KeyCSRFToken] != "djangos-own" {
				t.Fatalf("after a Go renewal Django sees %v", got)
			}
			// A login again as the same user rotates it, as Django's does.
			_, key = serveGo(t, m, key, func(r *http.Request) error { return m.Login(r.Context(), alice) })
			got = py.Call(map[string]any{"op": "get", "key": key})
			if data := got["data"].(map[string]any); got["user"] != alice || data["from_go"] != float64(1) {
				t.Fatalf("after a second Go login Django sees %v", got)
			} else if v, kept := data[django.KeyCSRFToken]; kept {
				t.Fatalf("the CSRF secret survived a login again as the same user: %v", v)
			}
		})
	}
}

// A login again as the same user rotates the CSRF secret also when the
// session's creation reads as the instant Go loaded it: a set_expiry date
// beyond SESSION_COOKIE_AGE (django-redis stores the datetime) dates its
// last save after now. (Comparing the login's millisecond-truncated time
// with that instant as "later" missed nearly every such login.)
func TestSameUserLoginRotatesCSRFWithFarExpiry(t *testing.T) {
	c := djangoCache(t, django.CacheConfig{}, "alice")
	m := newManager(t, c.st)
	alice := c.ids["alice"].(string)
	// Five sessions: the creation instant and the login's time both move.
	// (Django itself cannot save such a session again: django-redis reads
	// the stored date back as a string, which it then fails to use as a
	// timeout; Django only reads it here.)
	for i := range 5 {
		key := c.py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
		c.py.Call(map[string]any{"op": "set", "key": key, "name": django.KeyCSRFToken, "value": "djangos-own"})
		if got := c.py.Call(map[string]any{"op": "expiry", "key": key, "value": map[string]any{"in": 30 * 24 * 3600}}); got["raised"] != nil {
			t.Fatalf("set_expiry(datetime): %v", got)
		}
		_, key = serveGo(t, m, key, func(r *http.Request) error { return m.Login(r.Context(), alice) })
		got := c.py.Call(map[string]any{"op": "get", "key": key})
		data, _ := got["data"].(map[string]any)
		if got["user"] != alice {
			t.Fatalf("login %d: Django sees %v", i, got)
		}
		if v, kept := data[django.KeyCSRFToken]; kept {
			t.Fatalf("login %d: the CSRF secret survived a login again as the same user: %v", i, v)
		}
	}
}
