package django_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/pyproc"
	"github.com/sessionkit/session/interop/django"
)

// cookieAge is Django's default SESSION_COOKIE_AGE, two weeks.
const cookieAge = 14 * 24 * time.Hour

// djangoManager is a manager configured as the README says for a Django
// project: SESSION_COOKIE_AGE as the idle and absolute timeouts; and, as
// Django sends the cookie again at every save, activity is recorded (and
// the cookie sent) at every request.
//
// The tests want every Go request to refresh the session (a touch fraction
// of 1e-9), but the manager's clock has millisecond precision while the
// store dates a row Django just saved from its own reading of the clock:
// a request answered within that millisecond found no refresh due, and
// the tests that expected one failed about one run in seven. The
// manager's clock runs 10 ms ahead of the store's, as a request that
// comes a little after Django's save.
func djangoManager(t *testing.T, st session.Store, opts ...session.Option) *session.Manager {
	t.Helper()
	ahead := func() time.Time { return time.Now().Add(10 * time.Millisecond) }
	m, err := session.New(st, append([]session.Option{session.WithTokenScheme(django.Keys{}), session.WithCookieName("sessionid"),
		session.WithIdleTimeout(cookieAge), session.WithAbsoluteTimeout(cookieAge), session.WithTouchFraction(1e-9),
		session.WithClock(ahead), session.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// serveGo runs one request carrying the session cookie key through h
// and returns the Set-Cookie header of the session cookie ("" if none)
// and its value.
func serveGo(t *testing.T, m *session.Manager, key string, handle func(r *http.Request) error) (header, value string) {
	t.Helper()
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := handle(r); err != nil {
			t.Error(err)
		}
	}))
	req := httptest.NewRequest("POST", "https://example.test/", nil)
	if key != "" {
		req.AddCookie(&http.Cookie{Name: "sessionid", Value: key})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	for _, line := range rec.Result().Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, "sessionid=") {
			v, _, _ := strings.Cut(strings.TrimPrefix(line, "sessionid="), ";")
			return line, v
		}
	}
	return "", ""
}

// setFromGo is a handler body setting one value.
func setFromGo(name string, value any) func(r *http.Request) error {
	return func(r *http.Request) error { return session.FromContext(r.Context()).Set(name, value) }
}

// maxAge returns the Max-Age of a Set-Cookie line, -1 when it has none.
func maxAge(t *testing.T, line string) int {
	t.Helper()
	for _, attr := range strings.Split(line, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(attr), "Max-Age="); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("cookie %q: %v", line, err)
			}
			return n
		}
	}
	return -1
}

// within fails unless got is want give or take slack.
func within(t *testing.T, what string, got, want time.Time, slack time.Duration) {
	t.Helper()
	if d := got.Sub(want); d < -slack || d > slack {
		t.Fatalf("%s is %v, want %v (off by %v)", what, got, want, d)
	}
}

// rowExpiry reads the row's expire_date through Django.
func rowExpiry(t *testing.T, py *pyproc.Proc, key string) time.Time {
	t.Helper()
	row, _ := py.Call(map[string]any{"op": "raw", "key": key})["row"].([]any)
	if row == nil {
		t.Fatalf("no row for %s", key)
	}
	at, err := time.Parse("2006-01-02T15:04:05.999999999Z07:00", row[1].(string))
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// expiryOf returns what Django's middleware would put in the cookie:
// get_expiry_age() and get_expire_at_browser_close().
func expiryOf(t *testing.T, py *pyproc.Proc, key string) (age float64, browserClose bool, data map[string]any) {
	t.Helper()
	got := py.Call(map[string]any{"op": "get", "key": key})
	e, _ := got["expiry"].(map[string]any)
	if got["exists"] != true || e == nil {
		t.Fatalf("Django does not find %s: %v", key, got)
	}
	age, _ = e["age"].(float64)
	return age, e["browser_close"] == true, got["data"].(map[string]any)
}

// Django's set_expiry, stored in the session as _session_expiry, is
// honoured by Go as Django honours it, on SQLite, PostgreSQL and MariaDB:
// set_expiry(300) (seconds of inactivity) makes a Go write date the row
// 300 seconds ahead, not the manager's two weeks, and gives a cookie of
// that age; set_expiry(0) gives a cookie without Max-Age (expire at
// browser close); Go's SetIdleTimeout and SetExpireOnClose are Django's
// set_expiry for Django; a datetime, which Django 3.2 cannot store in
// JSON, is read and kept in the ISO 8601 form later Django versions store,
// and a session past it is expired for Go whatever the row says.
func TestDjangoSetExpiry(t *testing.T) {
	for _, v := range vendors() {
		t.Run(v.name, func(t *testing.T) {
			py, ids, st := vendorDjango(t, v, "alice")
			m := djangoManager(t, st)

			// set_expiry(300): a Go write keeps Django's 5 minutes.
			key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
			py.Call(map[string]any{"op": "expiry", "key": key, "value": 300})
			s, err := m.Lookup(context.Background(), key)
			if err != nil {
				t.Fatal(err)
			}
			if idle, _, _ := s.ExpiresAt(); time.Until(idle) > 300*time.Second {
				t.Fatalf("Go reads a session Django set to 5 minutes as ending at %v", idle)
			}
			line, _ := serveGo(t, m, key, setFromGo("from_go", 1))
			if n := maxAge(t, line); n < 290 || n > 300 {
				t.Fatalf("cookie of a 5-minute session: %q", line)
			}
			within(t, "expire_date after a Go write", rowExpiry(t, py, key), time.Now().Add(300*time.Second), 10*time.Second)
			age, closing, data := expiryOf(t, py, key)
			if age != 300 || closing || data["_session_expiry"] != float64(300) || data["from_go"] != float64(1) {
				t.Fatalf("Django: age %v, browser close %v, data %v", age, closing, data)
			}
			if got := py.Call(map[string]any{"op": "get", "key": key}); got["user"] != ids["alice"] {
				t.Fatalf("Django: %v", got)
			}

			// set_expiry(0): the Go cookie ends with the browser.
			py.Call(map[string]any{"op": "expiry", "key": key, "value": 0})
			line, _ = serveGo(t, m, key, setFromGo("from_go", 2))
			if line == "" || maxAge(t, line) != -1 || strings.Contains(strings.ToLower(line), "expires=") {
				t.Fatalf("cookie of a browser-close session: %q", line)
			}
			if age, closing, data := expiryOf(t, py, key); !closing || data["_session_expiry"] != float64(0) || age != cookieAge.Seconds() {
				t.Fatalf("Django: age %v, browser close %v, data %v", age, closing, data)
			}

			// Go's SetIdleTimeout and SetExpireOnClose are set_expiry for Django.
			serveGo(t, m, key, func(r *http.Request) error {
				s := session.FromContext(r.Context())
				if err := s.SetExpireOnClose(false); err != nil {
					return err
				}
				return s.SetIdleTimeout(600 * time.Second)
			})
			if age, closing, _ := expiryOf(t, py, key); age != 600 || closing {
				t.Fatalf("after Go's SetIdleTimeout(10m) Django: age %v, browser close %v", age, closing)
			}
			within(t, "expire_date after Go's SetIdleTimeout", rowExpiry(t, py, key), time.Now().Add(600*time.Second), 10*time.Second)
			// Django holds one of the two: with the 10-minute idle timeout
			// still set, the shorter life on the server wins over the
			// browser-session cookie (0 would give Django two weeks).
			serveGo(t, m, key, func(r *http.Request) error { return session.FromContext(r.Context()).SetExpireOnClose(true) })
			if age, closing, data := expiryOf(t, py, key); closing || age != 600 || data["_session_expiry"] != float64(600) {
				t.Fatalf("after Go's SetExpireOnClose(true) with a 10-minute idle timeout Django: age %v, browser close %v, data %v", age, closing, data)
			}
			serveGo(t, m, key, func(r *http.Request) error {
				s := session.FromContext(r.Context())
				if err := s.SetIdleTimeout(0); err != nil {
					return err
				}
				return s.SetExpireOnClose(true)
			})
			if _, closing, data := expiryOf(t, py, key); !closing || data["_session_expiry"] != float64(0) {
				t.Fatalf("after Go's SetExpireOnClose(true) Django: browser close %v, data %v", closing, data)
			}
			serveGo(t, m, key, func(r *http.Request) error {
				s := session.FromContext(r.Context())
				if err := s.SetExpireOnClose(false); err != nil {
					return err
				}
				return s.SetIdleTimeout(0)
			})
			if age, closing, data := expiryOf(t, py, key); age != cookieAge.Seconds() || closing || data["_session_expiry"] != nil {
				t.Fatalf("after Go restored the defaults Django: age %v, browser close %v, data %v", age, closing, data)
			}

			// set_expiry(1): past it, the session is gone for Go.
			py.Call(map[string]any{"op": "expiry", "key": key, "value": 1})
			time.Sleep(1100 * time.Millisecond)
			if _, err := m.Lookup(context.Background(), key); !errors.Is(err, session.ErrInvalidToken) {
				t.Fatalf("a session past its set_expiry(1): %v", err)
			}

			// set_expiry(datetime): Django 3.2's JSONSerializer refuses it.
			key = py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
			if got := py.Call(map[string]any{"op": "expiry", "key": key, "value": map[string]any{"in": 300}}); !strings.Contains(got["raised"].(string), "not JSON serializable") {
				t.Fatalf("Django stored a datetime expiry: %v (the test of the ISO form below is then Django's own)", got)
			}
			// The ISO 8601 form later versions store: read, kept on a
			// Go write, and the row dated at it.
			iso := py.Call(map[string]any{"op": "iso_expiry", "in": 300})
			at, err := time.Parse("2006-01-02T15:04:05.999999999Z07:00", iso["at"].(string))
			if err != nil {
				t.Fatal(err)
			}
			key = iso["key"].(string)
			line, _ = serveGo(t, m, key, setFromGo("from_go", 3))
			if n := maxAge(t, line); n < 290 || n > 300 {
				t.Fatalf("cookie of a session ending in 5 minutes: %q", line)
			}
			within(t, "expire_date of a datetime expiry", rowExpiry(t, py, key), at, time.Millisecond)
			if _, _, data := expiryOf(t, py, key); data["_session_expiry"] != iso["at"] || data["from_go"] != float64(3) {
				t.Fatalf("Django: %v", data)
			}
			// Past its datetime a session is expired for Go, though its row
			// (written by another client) still lives.
			key = py.Call(map[string]any{"op": "iso_expiry", "in": -1, "row_in": 3600})["key"].(string)
			if _, err := m.Lookup(context.Background(), key); !errors.Is(err, session.ErrInvalidToken) {
				t.Fatalf("a session past its datetime expiry: %v", err)
			}
		})
	}
}

// The same with Django's cache backend on Redis (django-redis, JSON): a
// session set to 5 minutes keeps a 5-minute TTL and cookie after a Go
// write, and set_expiry(0) gives a browser-close cookie.
func TestDjangoCacheSetExpiry(t *testing.T) {
	c := djangoCache(t, django.CacheConfig{}, "alice")
	st, py, client, prefix := c.st, c.py, c.client, c.prefix
	m := djangoManager(t, st)
	ctx := context.Background()
	key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
	py.Call(map[string]any{"op": "expiry", "key": key, "value": 300})
	line, _ := serveGo(t, m, key, setFromGo("from_go", 1))
	if n := maxAge(t, line); n < 290 || n > 300 {
		t.Fatalf("cookie of a 5-minute session: %q", line)
	}
	ttl, err := client.PTTL(ctx, prefix+":1:django.contrib.sessions.cache"+key).Result()
	if err != nil || ttl < 290*time.Second || ttl > 300*time.Second {
		t.Fatalf("TTL after a Go write %v, %v; want 5 minutes", ttl, err)
	}
	if age, closing, data := expiryOf(t, py, key); age != 300 || closing || data["from_go"] != float64(1) {
		t.Fatalf("Django: age %v, browser close %v, data %v", age, closing, data)
	}
	py.Call(map[string]any{"op": "expiry", "key": key, "value": 0})
	// The save's time reads back from a TTL in milliseconds: let the
	// (tiny) touch interval pass, so that the Go write sends its cookie.
	time.Sleep(10 * time.Millisecond)
	line, _ = serveGo(t, m, key, setFromGo("from_go", 2))
	if line == "" || maxAge(t, line) != -1 {
		t.Fatalf("cookie of a browser-close session: %q", line)
	}
	if _, closing, _ := expiryOf(t, py, key); !closing {
		t.Fatal("Django no longer ends the session with the browser")
	}
}
