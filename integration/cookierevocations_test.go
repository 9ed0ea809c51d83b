package integration

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/cookiestore"
	"github.com/sessionkit/session/stores/pgstore"
	"github.com/sessionkit/session/stores/redisstore"
	"github.com/sessionkit/session/stores/sqlitestore"
)

// markerLifetime is the sessions' lifetime in TestCookieRevocationMarkers:
// short, since Redis and the SQL stores expire the markers on the real
// clock.
const markerLifetime = 3 * time.Second

// Issue 17 (2) on the stores the revocation markers of cookie sessions are
// kept in, where their expiry is Redis's TTL or the row's expires_at (the
// cookiestore module's test keeps them in memory): a second RevokeUser
// keeps the user's marker alive for the maximum lifetime after it, so a
// cookie it revoked stays revoked once the first revocation's expiry has
// passed (before the fix, the marker's absolute expiry stayed at the first
// revocation plus the lifetime, and such a cookie worked again until its
// own end).
func TestCookieRevocationMarkers(t *testing.T) {
	ctx := context.Background()
	for name, open := range markerStores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			markers := open(t)
			ca := newCookieRevApp(t, markers)
			m, login, whoami := ca.m, ca.login, ca.whoami

			start := time.Now()
			first := login()
			if _, err := m.RevokeUser(ctx, "bob"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(markerLifetime / 2)
			second := login()
			if got := whoami(second); got != "bob" {
				t.Fatalf("login after the first revocation: %q", got)
			}
			secondAt := time.Now()
			if _, err := m.RevokeUser(ctx, "bob"); err != nil {
				t.Fatal(err)
			}
			// Past the first marker's expiry, before the second cookie's
			// own end (it was sealed before secondAt).
			time.Sleep(time.Until(start.Add(markerLifetime + 500*time.Millisecond)))
			if ed, ok := markers.(session.ExpiredDeleter); ok {
				if _, err := ed.DeleteExpired(ctx, time.Now(), 100); err != nil {
					t.Fatal(err)
				}
			}
			if time.Since(secondAt) >= markerLifetime {
				t.Fatalf("the check ran %v after the second revocation: too late to tell", time.Since(secondAt))
			}
			for i, c := range []*http.Cookie{first, second} {
				if got := whoami(c); got != "" {
					t.Fatalf("%v after the second revocation, revoked cookie %d works again (%q)", time.Since(secondAt), i+1, got)
				}
			}
			if got := whoami(login()); got != "bob" {
				t.Fatalf("login after the second revocation: %q", got)
			}
		})
	}
}

// markerStores opens, for each store the revocation markers of cookie
// sessions are tested in, a store of its own (a Redis prefix, a SQLite
// file, a PostgreSQL table), removed when the test using it ends.
func markerStores(t *testing.T) map[string]func(t *testing.T) session.Store {
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: env("SESSION_TEST_REDIS_ADDR", "127.0.0.1:6379")})
	t.Cleanup(func() { client.Close() })
	pool, err := pgxpool.New(ctx, env("SESSION_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return map[string]func(t *testing.T) session.Store{
		"redis": func(t *testing.T) session.Store {
			prefix := "cookierev-" + suffix() + ":"
			st, err := redisstore.New(ctx, client, redisstore.WithPrefix(prefix))
			if err != nil {
				t.Fatalf("Redis is required: %v", err)
			}
			t.Cleanup(func() {
				keys, _ := client.Keys(ctx, prefix+"*").Result()
				for _, k := range keys {
					client.Del(ctx, k)
				}
			})
			return st
		},
		"sqlite": func(t *testing.T) session.Store {
			st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "markers.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"postgres": func(t *testing.T) session.Store {
			table := "cookierev_" + suffix()
			st, err := pgstore.New(ctx, pool, pgstore.WithTable(table))
			if err != nil {
				t.Fatalf("PostgreSQL is required: %v", err)
			}
			t.Cleanup(func() { st.Close(); pool.Exec(ctx, `DROP TABLE "`+table+`"`) })
			return st
		},
	}
}

// Cookie sessions' "log out other devices" on the stores their markers are
// kept in: the revocation that spares the caller's lineage is one key of
// the user's marker, merged with the others by the store; a second call
// from another device ends the first caller, and a third supersedes the
// first call's key (deleted in the same change).
func TestCookieRevokeOtherSessionsOnStores(t *testing.T) {
	for name, open := range markerStores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ca := newCookieRevApp(t, open(t))
			devices := []*http.Cookie{ca.login()}
			// Each new device logs the others out: every earlier
			// device's call, whose key the later calls supersede.
			for call := 1; call <= 3; call++ {
				time.Sleep(2 * time.Millisecond)
				cur := ca.login()
				devices = append(devices, cur)
				time.Sleep(2 * time.Millisecond)
				ca.do("others=1", cur)
				for i, c := range devices[:call] {
					if got := ca.whoami(c); got != "" {
						t.Fatalf("after call %d, device %d still works: %q", call, i, got)
					}
				}
				if got := ca.whoami(cur); got != "bob" {
					t.Fatalf("call %d: the device that made it: %q", call, got)
				}
			}
		})
	}
}

// cookieRevApp serves a client-side manager whose revocation markers are
// in a given store: "login=<user>" logs in, "others=1" calls
// RevokeOtherSessions, anything else answers the session's user.
type cookieRevApp struct {
	t *testing.T
	m *session.Manager
	h http.Handler
}

func newCookieRevApp(t *testing.T, markers session.Store) *cookieRevApp {
	t.Helper()
	rev, err := cookiestore.NewRevocations(markers, markerLifetime)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := cookiestore.New([][]byte{[]byte("0123456789abcdef0123456789abcdef")}, cookiestore.WithRevocations(rev))
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.NewClientSide(cs, session.WithLogger(slog.New(slog.DiscardHandler)),
		session.WithIdleTimeout(markerLifetime), session.WithAbsoluteTimeout(markerLifetime))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := r.FormValue("login"); u != "" {
			if err := m.Login(r.Context(), u); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
			return
		}
		if r.FormValue("others") != "" {
			if _, err := m.RevokeOtherSessions(r.Context()); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
			return
		}
		u, err := session.FromContext(r.Context()).UserID()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write([]byte(u))
	}))
	return &cookieRevApp{t: t, m: m, h: h}
}

// do sends query with cookie (none when nil) and fails the test unless the
// answer is 200.
func (a *cookieRevApp) do(query string, cookie *http.Cookie) *httptest.ResponseRecorder {
	a.t.Helper()
	r := httptest.NewRequest("GET", "https://example.test/?"+query, nil)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		a.t.Fatalf("%q: %d %s", query, w.Code, w.Body)
	}
	return w
}

// login logs bob in on a new session and returns its cookie.
func (a *cookieRevApp) login() *http.Cookie {
	a.t.Helper()
	for _, c := range a.do("login=bob", nil).Result().Cookies() {
		if c.Name == a.m.CookieName() && c.Value != "" {
			return c
		}
	}
	a.t.Fatal("login set no cookie")
	return nil
}

// whoami answers the user of the session cookie names.
func (a *cookieRevApp) whoami(c *http.Cookie) string { return a.do("", c).Body.String() }
