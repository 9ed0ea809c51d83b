package django_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/pyproc"
	"github.com/sessionkit/session/interop/django"
)

// A set_expiry that is a fixed end, a datetime Go reads or a value it does
// not (a naive datetime without TimeZone), bounds every Go write of the
// session: a Go login, a renewal with SetLifetime, SetIdleTimeout and
// SetExpireOnClose keep the stored value (so that Django's later saves
// still end the session there), and neither they nor Go's refreshes
// date the session past that end. Before the fix a login or SetLifetime
// replaced the value by the manager's lifetime (no _session_expiry, two
// weeks), and SetIdleTimeout or SetExpireOnClose by the seconds left as
// an integer, which Django's saves and Go's refreshes then slide forward.
func TestDjangoFixedExpiryBoundsGoWrites(t *testing.T) {
	type fixture struct {
		st       session.Store
		py       *pyproc.Proc
		user     string
		newKey   func() (key, stored string, end time.Time) // a session ending at end, its _session_expiry as stored
		endOf    func(key string) time.Time                 // when the row or entry ends
		slackEnd time.Duration
	}
	actions := []struct {
		name   string
		handle func(m *session.Manager, user string) func(r *http.Request) error
	}{
		{"login", func(m *session.Manager, user string) func(r *http.Request) error {
			return func(r *http.Request) error { return m.Login(r.Context(), user) }
		}},
		{"SetLifetime", func(m *session.Manager, _ string) func(r *http.Request) error {
			return func(r *http.Request) error {
				return session.FromContext(r.Context()).SetLifetime(10*time.Minute, time.Hour)
			}
		}},
		{"SetIdleTimeout", func(m *session.Manager, _ string) func(r *http.Request) error {
			return func(r *http.Request) error { return session.FromContext(r.Context()).SetIdleTimeout(10 * time.Minute) }
		}},
		{"SetIdleTimeout shorter", func(m *session.Manager, _ string) func(r *http.Request) error {
			return func(r *http.Request) error { return session.FromContext(r.Context()).SetIdleTimeout(time.Minute) }
		}},
		{"SetExpireOnClose", func(m *session.Manager, _ string) func(r *http.Request) error {
			return func(r *http.Request) error { return session.FromContext(r.Context()).SetExpireOnClose(true) }
		}},
	}
	run := func(t *testing.T, fx fixture) {
		m := djangoManager(t, fx.st)
		for _, a := range actions {
			t.Run(a.name, func(t *testing.T) {
				key, stored, end := fx.newKey()
				check := func(what, key string) {
					t.Helper()
					if _, _, data := expiryOf(t, fx.py, key); data["_session_expiry"] != stored {
						t.Fatalf("%s: _session_expiry %v, Django stored %q", what, data["_session_expiry"], stored)
					}
					if got := fx.endOf(key); got.After(end.Add(fx.slackEnd)) {
						t.Fatalf("%s: the session ends at %v, after its fixed end %v", what, got, end)
					}
				}
				_, newKey := serveGo(t, m, key, a.handle(m, fx.user))
				if newKey != "" {
					key = newKey
				}
				check("after the Go request", key)
				time.Sleep(5 * time.Millisecond) // past the (tiny) touch interval
				refreshGo(t, m, key, nil)
				check("after a Go refresh", key)
				serveGo(t, m, key, setFromGo("from_go", 1))
				check("after a Go write", key)
			})
		}
	}
	t.Run("db", func(t *testing.T) {
		_, py, ids, st := sqliteStore(t, "alice")
		run(t, fixture{st: st, py: py, user: ids["alice"].(string), endOf: func(key string) time.Time { return rowExpiry(t, py, key) },
			newKey: func() (string, string, time.Time) {
				iso := py.Call(map[string]any{"op": "iso_expiry", "in": 300})
				at, err := time.Parse("2006-01-02T15:04:05.999999999Z07:00", iso["at"].(string))
				if err != nil {
					t.Fatal(err)
				}
				return iso["key"].(string), iso["at"].(string), at
			}})
	})
	for _, tc := range []struct {
		name  string
		useTZ bool
	}{{"cache aware", true}, {"cache naive without TimeZone", false}} {
		t.Run(tc.name, func(t *testing.T) {
			db, path := vendors()[0].open(t)
			defer db.Close()
			client, prefix := redisForDjango(t)
			py := startDjangoCfg(t, map[string]any{"vendor": "sqlite", "name": path, "engine": "django.contrib.sessions.backends.cache",
				"cache_prefix": prefix, "use_tz": tc.useTZ, "time_zone": "America/Chicago"})
			ids := py.Call(map[string]any{"op": "setup", "users": []string{"alice"}})["users"].(map[string]any)
			st, err := django.NewCacheStore(django.CacheConfig{Client: client, KeyPrefix: prefix, Secret: secret, DB: db, Vendor: django.SQLite})
			if err != nil {
				t.Fatal(err)
			}
			run(t, fixture{st: st, py: py, user: ids["alice"].(string), slackEnd: time.Second,
				endOf: func(key string) time.Time { return time.Now().Add(cacheTTL(t, client, prefix, key)) },
				newKey: func() (string, string, time.Time) {
					key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
					if got := py.Call(map[string]any{"op": "expiry", "key": key, "value": map[string]any{"in": 300}}); got["raised"] != nil {
						t.Fatalf("Django's cache backend refused a datetime expiry: %v", got)
					}
					end := time.Now().Add(300 * time.Second)
					_, _, data := expiryOf(t, py, key)
					stored, _ := data["_session_expiry"].(string)
					if stored == "" {
						t.Fatalf("Django stored %v", data)
					}
					return key, stored, end
				}})
		})
	}
}
