package django_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/pyproc"
	"github.com/sessionkit/session/interop/django"
)

// A manager whose absolute timeout is shorter than SESSION_COOKIE_AGE,
// given to the store as Config.AbsoluteTimeout (CacheConfig's), ends a
// Django "remember me" session (set_expiry(30 days)) that long after its
// last save, as the README says it ends the sessions Django made; one
// saved within it is read. Before the fix the session's start read as the request's time
// whatever the timeouts, so Go accepted a session last saved 15 days ago
// under WithAbsoluteTimeout(8h).
func TestDjangoShortAbsoluteTimeoutEndsLongSetExpiry(t *testing.T) {
	const month = 30 * 24 * time.Hour
	run := func(t *testing.T, st session.Store, py *pyproc.Proc, saved func(key string, ago time.Duration)) {
		m := managerWith(t, st, session.WithIdleTimeout(8*time.Hour), session.WithAbsoluteTimeout(8*time.Hour))
		for _, tc := range []struct {
			savedAgo time.Duration
			alive    bool
		}{{time.Hour, true}, {9 * time.Hour, false}, {15 * 24 * time.Hour, false}} {
			key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
			py.Call(map[string]any{"op": "expiry", "key": key, "value": int(month.Seconds())})
			saved(key, tc.savedAgo)
			_, err := m.Lookup(context.Background(), key)
			if tc.alive && err != nil {
				t.Fatalf("saved %v ago: Go ends it under an 8-hour absolute timeout: %v", tc.savedAgo, err)
			}
			if !tc.alive && !errors.Is(err, session.ErrInvalidToken) {
				t.Fatalf("saved %v ago: Go accepts it under an 8-hour absolute timeout (%v)", tc.savedAgo, err)
			}
		}
	}
	t.Run("db", func(t *testing.T) {
		db, py, _ := sqliteDjango(t, "alice")
		st, err := django.NewStore(db, django.Config{Vendor: django.SQLite, Secret: secret, AbsoluteTimeout: 8 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		run(t, st, py, func(key string, ago time.Duration) {
			py.Call(map[string]any{"op": "expire_in", "key": key, "seconds": int((month - ago).Seconds())})
		})
	})
	t.Run("cache", func(t *testing.T) {
		c := djangoCache(t, django.CacheConfig{AbsoluteTimeout: 8 * time.Hour}, "alice")
		st, py, client, prefix := c.st, c.py, c.client, c.prefix
		run(t, st, py, func(key string, ago time.Duration) {
			if err := client.PExpire(context.Background(), prefix+":1:django.contrib.sessions.cache"+key, month-ago).Err(); err != nil {
				t.Fatal(err)
			}
		})
	})
}
