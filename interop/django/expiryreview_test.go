package django_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/pyproc"
	"github.com/sessionkit/session/interop/django"
)

// startDjangoCfg runs djangoside.py with the whole configuration.
func startDjangoCfg(t *testing.T, cfg map[string]any) *pyproc.Proc {
	t.Helper()
	b, _ := json.Marshal(cfg)
	return pyproc.Start(t, "testdata/djangoside.py", string(b))
}

// cacheTTL returns the TTL of the cache entry of key.
func cacheTTL(t *testing.T, client *redis.Client, prefix, key string) time.Duration {
	t.Helper()
	ttl, err := client.PTTL(context.Background(), prefix+":1:django.contrib.sessions.cache"+key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return ttl
}

// managerWith is djangoManager with other timeouts.
func managerWith(t *testing.T, st session.Store, opts ...session.Option) *session.Manager {
	t.Helper()
	m, err := session.New(st, append([]session.Option{session.WithTokenScheme(django.Keys{}), session.WithCookieName("sessionid"),
		session.WithTouchFraction(1e-9), session.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A Django "remember me" session, set_expiry(30 days) under a two-week
// SESSION_COOKIE_AGE, lives 30 days after its last save for Go too: on day
// 15 a manager with the README's settings (SESSION_COOKIE_AGE as the idle
// and absolute timeouts) reads it, writes to it, and Django still has it.
// Before the fix Go dated its login at the last save, found it past the
// two-week absolute timeout and deleted it, logging the user out of
// Django.
func TestDjangoLongSetExpiry(t *testing.T) {
	const month = 30 * 24 * time.Hour
	t.Run("db", func(t *testing.T) {
		_, py, ids, st := sqliteStore(t, "alice")
		m := djangoManager(t, st)
		key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
		py.Call(map[string]any{"op": "expiry", "key": key, "value": int(month.Seconds())})
		// The last save was 15 days ago.
		py.Call(map[string]any{"op": "expire_in", "key": key, "seconds": 15 * 24 * 3600})
		s, err := m.Lookup(context.Background(), key)
		if err != nil {
			t.Fatalf("Go ends a Django session set to 30 days on day 15: %v", err)
		}
		if uid, _ := s.UserID(); uid != ids["alice"] {
			t.Fatalf("user %q", uid)
		}
		if got := py.Call(map[string]any{"op": "get", "key": key}); got["user"] != ids["alice"] {
			t.Fatalf("Django after Go's read: %v", got)
		}
		serveGo(t, m, key, setFromGo("from_go", 1))
		within(t, "expire_date after a Go write", rowExpiry(t, py, key), time.Now().Add(month), 10*time.Second)
		if age, _, data := expiryOf(t, py, key); age != month.Seconds() || data["from_go"] != float64(1) {
			t.Fatalf("Django: age %v, data %v", age, data)
		}
	})
	t.Run("cache", func(t *testing.T) {
		c := djangoCache(t, django.CacheConfig{}, "alice")
		st, py, client, prefix := c.st, c.py, c.client, c.prefix
		m := djangoManager(t, st)
		key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
		py.Call(map[string]any{"op": "expiry", "key": key, "value": int(month.Seconds())})
		if err := client.PExpire(context.Background(), prefix+":1:django.contrib.sessions.cache"+key, 15*24*time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Lookup(context.Background(), key); err != nil {
			t.Fatalf("Go ends a Django session set to 30 days on day 15: %v", err)
		}
		serveGo(t, m, key, setFromGo("from_go", 1))
		if ttl := cacheTTL(t, client, prefix, key); ttl < month-10*time.Second || ttl > month {
			t.Fatalf("TTL after a Go write %v, want 30 days", ttl)
		}
	})
}

// An expiry Go does not understand as Django does is never extended by
// Go: a refresh or a write leaves expire_date where it was. JSON true is
// Python's True, 1 second; datetime.min is long past; a huge
// set_expiry(10**10) is not turned into a date in the past by a
// Duration overflow. Before the fixes true and datetime.min counted as no
// set_expiry (two weeks: Go extended them), and 10**10 overflowed into a
// negative age (a Go write dated the row in the past, ending the session
// for Django).
func TestDjangoExpiryFailsClosed(t *testing.T) {
	_, py, _, st := sqliteStore(t, "alice")
	m := djangoManager(t, st)
	ctx := context.Background()

	// set_expiry(True): one second for Django. The row is then dated an
	// hour ahead (as another client could write it): Go's write dates it
	// a second after the write, as Django's save would.
	t.Run("true", func(t *testing.T) {
		key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
		py.Call(map[string]any{"op": "expiry", "key": key, "value": true})
		py.Call(map[string]any{"op": "expire_in", "key": key, "seconds": 3600})
		time.Sleep(5 * time.Millisecond) // past the (tiny) touch interval
		refreshGo(t, m, key, nil)
		within(t, "expire_date after a Go refresh of set_expiry(True)", rowExpiry(t, py, key), time.Now().Add(time.Hour), 10*time.Second)
		// A request from a client the row does not name rewrites it, as
		// Django's save would: dated a second ahead.
		serveGo(t, m, key, readFromGo)
		if exp := rowExpiry(t, py, key); time.Until(exp) > 2*time.Second {
			t.Fatalf("a session Django set to 1 second is dated %v ahead by a Go write", time.Until(exp))
		}
	})

	// datetime.min: expired for Go, whatever its row says.
	t.Run("datetime.min", func(t *testing.T) {
		key := py.Call(map[string]any{"op": "iso_expiry", "in": 0, "min": true, "row_in": 3600})["key"].(string)
		if _, err := m.Lookup(ctx, key); !errors.Is(err, session.ErrInvalidToken) {
			t.Fatalf("a session whose set_expiry is datetime.min: %v", err)
		}
	})

	// set_expiry(10**10): a Go write keeps it alive for Django, dated no
	// later than Django dates it.
	t.Run("10**10", func(t *testing.T) {
		key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
		py.Call(map[string]any{"op": "expiry", "key": key, "value": 10_000_000_000})
		djangoEnd := rowExpiry(t, py, key)
		serveGo(t, m, key, setFromGo("from_go", 2))
		got := py.Call(map[string]any{"op": "get", "key": key})
		if got["exists"] != true {
			t.Fatalf("a Go write ended a session set to 10**10 seconds: %v", got)
		}
		if exp := rowExpiry(t, py, key); exp.After(djangoEnd.Add(time.Minute)) || time.Until(exp) < 30*365*24*time.Hour {
			t.Fatalf("expire_date %v after a Go write of a session Django dated %v", exp, djangoEnd)
		}
	})
}

// Django's cache backend stores set_expiry(datetime) (django-redis'
// JSONSerializer writes it with DjangoJSONEncoder): "...Z" under USE_TZ =
// True, a naive local time under USE_TZ = False. Go reads the first, and
// the second in CacheConfig.TimeZone; without it Go never extends the
// session (its TTL stays Django's) and keeps the value. Before the fix a
// naive datetime counted as no set_expiry: a Go refresh or write gave the
// session two weeks.
func TestDjangoCacheDatetimeExpiry(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		useTZ  bool
		loc    *time.Location
		exact  bool // Go knows the end to the second
		suffix string
	}{
		{"aware", true, nil, true, "Z"},
		{"naive without TimeZone", false, nil, false, ""},
		{"naive in TimeZone", false, chicago, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, path := vendors()[0].open(t)
			defer db.Close()
			client, prefix := redisForDjango(t)
			py := startDjangoCfg(t, map[string]any{"vendor": "sqlite", "name": path, "engine": "django.contrib.sessions.backends.cache",
				"cache_prefix": prefix, "use_tz": tc.useTZ, "time_zone": "America/Chicago"})
			py.Call(map[string]any{"op": "setup", "users": []string{"alice"}})
			st, err := django.NewCacheStore(django.CacheConfig{Client: client, KeyPrefix: prefix, Secret: secret, DB: db, Vendor: django.SQLite, TimeZone: tc.loc})
			if err != nil {
				t.Fatal(err)
			}
			m := djangoManager(t, st)
			key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
			if got := py.Call(map[string]any{"op": "expiry", "key": key, "value": map[string]any{"in": 300}}); got["raised"] != nil {
				t.Fatalf("Django's cache backend refused a datetime expiry: %v", got)
			}
			end := time.Now().Add(300 * time.Second)
			_, _, data := expiryOf(t, py, key)
			stored, _ := data["_session_expiry"].(string)
			if len(stored) < 19 || (tc.suffix != "" && stored[len(stored)-1:] != tc.suffix) || (tc.suffix == "" && stored[len(stored)-1] == 'Z') {
				t.Fatalf("Django stored _session_expiry %q", stored)
			}
			s, err := m.Lookup(context.Background(), key)
			if err != nil {
				t.Fatal(err)
			}
			idle, abs, _ := s.ExpiresAt()
			if got := minT(idle, abs); time.Until(got) > 301*time.Second {
				t.Fatalf("Go reads a session ending in 5 minutes as ending at %v", got)
			} else if tc.exact {
				within(t, "the datetime Go reads", abs, end, 2*time.Second)
			}
			refreshGo(t, m, key, nil)
			if ttl := cacheTTL(t, client, prefix, key); ttl > 300*time.Second {
				t.Fatalf("TTL after a Go refresh %v, want at most 5 minutes", ttl)
			}
			serveGo(t, m, key, readFromGo) // a refresh recording the client
			if ttl := cacheTTL(t, client, prefix, key); ttl > 300*time.Second {
				t.Fatalf("TTL after a Go request reading the session %v, want at most 5 minutes", ttl)
			}
			line, _ := serveGo(t, m, key, setFromGo("from_go", 1))
			if ttl := cacheTTL(t, client, prefix, key); ttl > 300*time.Second || ttl < 290*time.Second {
				t.Fatalf("TTL after a Go write %v, want Django's 5 minutes", ttl)
			}
			if n := maxAge(t, line); n > 300 || n < 290 {
				t.Fatalf("cookie after a Go write: %q", line)
			}
			if _, _, data := expiryOf(t, py, key); data["_session_expiry"] != stored || data["from_go"] != float64(1) {
				t.Fatalf("Django after a Go write: %v (stored %q)", data, stored)
			}
		})
	}
}

// refreshGo looks the session up outside a request, runs between (after
// the load) and saves it: a read-only session whose refresh is due is
// touched (Toucher), where a request from a client the record does not
// name rewrites it to record the client.
func refreshGo(t *testing.T, m *session.Manager, key string, between func()) {
	t.Helper()
	s, err := m.Lookup(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserID(); err != nil {
		t.Fatal(err)
	}
	if between != nil {
		between()
	}
	if _, err := m.Save(s); err != nil {
		t.Fatal(err)
	}
}

// readFromGo is a handler body reading the session (its commit refreshes
// it when due).
func readFromGo(r *http.Request) error {
	_, err := session.FromContext(r.Context()).UserID()
	return err
}

func minT(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// The manager's own timeouts reach Django when they are shorter than
// SESSION_COOKIE_AGE: a Go login under WithIdleTimeout(30m) is
// set_expiry(1800) for Django (expire_date and TTL 30 minutes ahead, not
// two weeks), an absolute deadline that comes first is written as the
// time left, and SetLifetime's idle part too; the session then reads back
// in Go. A login over a session Django made keeps that session's idle
// timeout (SESSION_COOKIE_AGE: Go reads it as the session's own, as the
// core keeps an anonymous session's expiry settings at a login), but the
// absolute deadline the login starts is written. Before the fix Django
// accepted every such session for two weeks.
func TestGoTimeoutsReachDjango(t *testing.T) {
	cases := []struct {
		name string
		opts []session.Option
		// in the login request
		handle func(s *session.Session) error
		want   time.Duration
		// over a Django session
		wantOver time.Duration
	}{
		{"idle timeout", []session.Option{session.WithIdleTimeout(30 * time.Minute), session.WithAbsoluteTimeout(cookieAge)}, nil, 30 * time.Minute, cookieAge},
		{"absolute timeout", []session.Option{session.WithIdleTimeout(time.Hour), session.WithAbsoluteTimeout(time.Hour)}, nil, time.Hour, time.Hour},
		{"absolute first", []session.Option{session.WithIdleTimeout(time.Hour), session.WithAbsoluteTimeout(time.Hour)},
			func(s *session.Session) error { return s.SetIdleTimeout(2 * time.Hour) }, time.Hour, time.Hour},
		{"SetLifetime", []session.Option{session.WithIdleTimeout(cookieAge), session.WithAbsoluteTimeout(cookieAge)},
			func(s *session.Session) error { return s.SetLifetime(10*time.Minute, time.Hour) }, 10 * time.Minute, 10 * time.Minute},
		// Longer than SESSION_COOKIE_AGE: not written (Django's default
		// ends the session sooner).
		{"longer timeouts", []session.Option{session.WithIdleTimeout(30 * 24 * time.Hour), session.WithAbsoluteTimeout(30 * 24 * time.Hour)}, nil, cookieAge, cookieAge},
	}
	// ageOK reports whether Django's expiry age (and _session_expiry) is
	// what a login whose deadline is want away writes: nothing for
	// SESSION_COOKIE_AGE, else whole seconds left, counted from the
	// Login call (the absolute deadline starts there).
	ageOK := func(age float64, data map[string]any, want time.Duration) bool {
		if want == cookieAge {
			_, set := data["_session_expiry"]
			return !set && age == want.Seconds()
		}
		return age <= want.Seconds() && age >= want.Seconds()-1
	}
	login := func(m *session.Manager, handle func(*session.Session) error) func(r *http.Request) error {
		return func(r *http.Request) error {
			if err := m.Login(r.Context(), "1"); err != nil {
				return err
			}
			s := session.FromContext(r.Context())
			if handle != nil {
				if err := handle(s); err != nil {
					return err
				}
			}
			return s.Set("cart", 1)
		}
	}
	t.Run("db", func(t *testing.T) {
		db, py, ids := sqliteDjango(t, "alice")
		if ids["alice"] != "1" {
			t.Fatalf("alice is %v", ids["alice"])
		}
		st, err := django.NewStore(db, django.Config{Vendor: django.SQLite, Secret: secret})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range cases {
			m := managerWith(t, st, tc.opts...)
			for _, over := range []string{"", py.Call(map[string]any{"op": "anon", "name": "a", "value": 1})["key"].(string)} {
				line, key := serveGo(t, m, over, login(m, tc.handle))
				if key == "" {
					t.Fatalf("%s: no login cookie: %q", tc.name, line)
				}
				want := tc.want
				if over != "" {
					want = tc.wantOver
				}
				within(t, tc.name+": expire_date", rowExpiry(t, py, key), time.Now().Add(want), 10*time.Second)
				if age, _, data := expiryOf(t, py, key); !ageOK(age, data, want) {
					t.Fatalf("%s (over %q): Django's expiry age %v (data %v), want %v", tc.name, over, age, data, want.Seconds())
				}
				if got := py.Call(map[string]any{"op": "get", "key": key}); got["user"] != "1" {
					t.Fatalf("%s: Django: %v", tc.name, got)
				}
				if s, err := m.Lookup(context.Background(), key); err != nil {
					t.Fatalf("%s: Go no longer reads its login: %v", tc.name, err)
				} else if uid, _ := s.UserID(); uid != "1" {
					t.Fatalf("%s: user %q", tc.name, uid)
				}
			}
		}
	})
	t.Run("cache", func(t *testing.T) {
		c := djangoCache(t, django.CacheConfig{}, "alice")
		st, py, client, prefix := c.st, c.py, c.client, c.prefix
		for _, tc := range cases {
			m := managerWith(t, st, tc.opts...)
			_, key := serveGo(t, m, "", login(m, tc.handle))
			if ttl := cacheTTL(t, client, prefix, key); ttl > tc.want || ttl < tc.want-10*time.Second {
				t.Fatalf("%s: TTL %v, want %v", tc.name, ttl, tc.want)
			}
			if age, _, data := expiryOf(t, py, key); !ageOK(age, data, tc.want) {
				t.Fatalf("%s: Django's expiry age %v (data %v), want %v", tc.name, age, data, tc.want.Seconds())
			}
			if _, err := m.Lookup(context.Background(), key); err != nil {
				t.Fatalf("%s: Go no longer reads its login: %v", tc.name, err)
			}
		}
	})
}

// A Django set_expiry(300) saved while a Go request holds the session is
// not undone by that request: neither a renewal (Renew rebuilt the row
// with the request's stale expiry) nor a refresh (Touch moved expire_date
// or the TTL to two weeks) makes the session outlive Django's 5 minutes.
// Before the fix both did.
func TestDjangoConcurrentSetExpiry(t *testing.T) {
	type side struct {
		st    session.Store
		py    *pyproc.Proc
		until func(key string) time.Time // when the row or entry ends
	}
	run := func(t *testing.T, sd side) {
		m := djangoManager(t, sd.st)
		for _, renew := range []bool{true, false} {
			t.Run(map[bool]string{true: "renew", false: "refresh"}[renew], func(t *testing.T) {
				key := sd.py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
				time.Sleep(5 * time.Millisecond) // past the (tiny) touch interval
				setExpiry := func() { sd.py.Call(map[string]any{"op": "expiry", "key": key, "value": 300}) }
				if !renew {
					refreshGo(t, m, key, setExpiry) // Touch
				}
				_, newKey := serveGo(t, m, key, func(r *http.Request) error {
					if _, err := session.FromContext(r.Context()).UserID(); err != nil { // loads it
						return err
					}
					if renew {
						setExpiry()
						return m.Renew(r.Context())
					}
					return nil
				})
				if renew {
					if newKey == "" || newKey == key {
						t.Fatalf("no renewal: %q", newKey)
					}
					key = newKey
				}
				if age, _, data := expiryOf(t, sd.py, key); age != 300 {
					t.Fatalf("renew %v: Django's age %v after the Go request (data %v)", renew, age, data)
				}
				if end := sd.until(key); time.Until(end) > 300*time.Second {
					t.Fatalf("renew %v: the session ends in %v after the Go request, Django set 5 minutes", renew, time.Until(end))
				}
			})
		}
	}
	t.Run("db", func(t *testing.T) {
		_, py, _, st := sqliteStore(t, "alice")
		run(t, side{st, py, func(key string) time.Time { return rowExpiry(t, py, key) }})
	})
	t.Run("cache", func(t *testing.T) {
		c := djangoCache(t, django.CacheConfig{}, "alice")
		st, py, client, prefix := c.st, c.py, c.client, c.prefix
		run(t, side{st, py, func(key string) time.Time { return time.Now().Add(cacheTTL(t, client, prefix, key)) }})
	})
}

// A Go login over a Django login of the same user: Django's record has no
// absolute deadline of the manager's, so it is no "remembered" session
// whose lifetime a re-login keeps; before, the re-login took it as one and
// gave it WithMaxLifetime (720 hours here, written back to Django as a
// sliding two weeks), escaping the absolute timeout.
func TestReloginOverDjangoLoginKeepsTheAbsoluteTimeout(t *testing.T) {
	db, py, ids := sqliteDjango(t, "alice")
	st, err := django.NewStore(db, django.Config{Vendor: django.SQLite, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	m := managerWith(t, st, session.WithIdleTimeout(12*time.Hour), session.WithAbsoluteTimeout(12*time.Hour), session.WithMaxLifetime(30*24*time.Hour))
	key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
	line, relogged := serveGo(t, m, key, func(r *http.Request) error { return m.Login(r.Context(), ids["alice"].(string)) })
	if relogged == "" {
		t.Fatalf("no login cookie: %q", line)
	}
	if got := rowExpiry(t, py, relogged); got.After(time.Now().Add(12*time.Hour + 10*time.Second)) {
		t.Fatalf("a Go re-login over Django's login expires %v from now, beyond the 12-hour absolute timeout", time.Until(got).Round(time.Second))
	}
}
