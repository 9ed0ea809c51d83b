package django_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/pyproc"
	"github.com/sessionkit/session/interop/django"
	"github.com/sessionkit/session/sessiontest"
)

const secret = "django-insecure-interop-fixture-secret-0123456789abcdef"

// startDjango runs djangoside.py: a real Django on the same database,
// answering one command per line.
func startDjango(t *testing.T, vendor, name string) *pyproc.Proc {
	t.Helper()
	cfg, _ := json.Marshal(map[string]string{"vendor": vendor, "name": name})
	return pyproc.Start(t, "testdata/djangoside.py", string(cfg))
}

type vendorSetup struct {
	name   string
	vendor django.Vendor
	open   func(t *testing.T) (*sql.DB, string) // the Go handle and the database name for Django
}

func vendors() []vendorSetup {
	return []vendorSetup{
		{"sqlite", django.SQLite, func(t *testing.T) (*sql.DB, string) {
			path := filepath.Join(t.TempDir(), "django.db")
			db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
			if err != nil {
				t.Fatal(err)
			}
			return db, path
		}},
		{"postgres", django.PostgreSQL, func(t *testing.T) (*sql.DB, string) {
			admin, err := sql.Open("pgx", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close()
			if _, err := admin.Exec("CREATE DATABASE django_interop"); err != nil && !strings.Contains(err.Error(), "42P04") {
				t.Fatalf("PostgreSQL on 127.0.0.1:5432: %v", err)
			}
			db, err := sql.Open("pgx", "postgres://postgres@127.0.0.1:5432/django_interop?sslmode=disable")
			if err != nil {
				t.Fatal(err)
			}
			return db, "django_interop"
		}},
		{"mysql", django.MySQL, func(t *testing.T) (*sql.DB, string) {
			admin, err := sql.Open("mysql", "root@tcp(127.0.0.1:3306)/")
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close()
			if _, err := admin.Exec("CREATE DATABASE IF NOT EXISTS django_interop"); err != nil {
				t.Fatalf("MariaDB on 127.0.0.1:3306: %v", err)
			}
			db, err := sql.Open("mysql", "root@tcp(127.0.0.1:3306)/django_interop")
			if err != nil {
				t.Fatal(err)
			}
			return db, "django_interop"
		}},
	}
}

// sqliteDjango opens a fresh SQLite database with a real Django on it and
// the given users; it returns the Go handle, the Django side and the
// users' ids.
func sqliteDjango(t *testing.T, users ...string) (*sql.DB, *pyproc.Proc, map[string]any) {
	t.Helper()
	return sqliteDjangoWith(t, map[string]any{"op": "setup", "users": users})
}

// sqliteDjangoWith is sqliteDjango with the whole setup command (users'
// hashers, inactive users).
func sqliteDjangoWith(t *testing.T, setup map[string]any) (*sql.DB, *pyproc.Proc, map[string]any) {
	t.Helper()
	v := vendors()[0]
	db, name := v.open(t)
	t.Cleanup(func() { db.Close() })
	py := startDjango(t, v.name, name)
	ids := py.Call(setup)["users"].(map[string]any)
	return db, py, ids
}

// sqliteStore is sqliteDjango with Django's db store over the database.
func sqliteStore(t *testing.T, users ...string) (*sql.DB, *pyproc.Proc, map[string]any, *django.Store) {
	t.Helper()
	db, py, ids := sqliteDjango(t, users...)
	st, err := django.NewStore(db, django.Config{Vendor: django.SQLite, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return db, py, ids, st
}

// vendorDjango opens v's database with Django's tables and users, and
// Django's db store over it (closed when the test ends); ids maps the
// users' names to their ids.
func vendorDjango(t *testing.T, v vendorSetup, users ...string) (py *pyproc.Proc, ids map[string]any, st *django.Store) {
	t.Helper()
	db, name := v.open(t)
	t.Cleanup(func() { db.Close() })
	py = startDjango(t, v.name, name)
	ids = py.Call(map[string]any{"op": "setup", "users": users})["users"].(map[string]any)
	st, err := django.NewStore(db, django.Config{Vendor: v.vendor, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return py, ids, st
}

// writeKeysConcurrently writes n keys k0..k(n-1) to the session under key
// from n concurrent Go lookups.
func writeKeysConcurrently(t *testing.T, m *session.Manager, key string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := m.Lookup(context.Background(), key)
			if err == nil {
				err = s.Set(fmt.Sprintf("k%d", i), i)
			}
			if err == nil {
				_, err = m.Save(s)
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func newManager(t *testing.T, st session.Store) *session.Manager {
	t.Helper()
	m, err := session.New(st, session.WithTokenScheme(django.Keys{}), session.WithCookieName("sessionid"),
		session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// djangoLogin has Django log user in and returns the session key and the
// session as m looks it up.
func djangoLogin(t *testing.T, py *pyproc.Proc, m *session.Manager, user string) (string, *session.Session) {
	t.Helper()
	key := py.Call(map[string]any{"op": "login", "user": user})["key"].(string)
	s, err := m.Lookup(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return key, s
}

// The whole round trip with a real Django on SQLite, PostgreSQL and
// MariaDB: Django logs in, Go sees the user and writes, Django reads it; a
// logout on either side ends the session for both; a password change in
// Django logs the Go side out; a Go login is a Django login.
func TestDjangoRoundTrip(t *testing.T) {
	for _, v := range vendors() {
		t.Run(v.name, func(t *testing.T) {
			py, users, st := vendorDjango(t, v, "alice", "bob")
			alice := users["alice"].(string)
			m := newManager(t, st)
			ctx := context.Background()

			// Django logs alice in; Go sees her and writes a key.
			key, s := djangoLogin(t, py, m, "alice")
			if uid, _ := s.UserID(); uid != alice {
				t.Fatalf("Go sees user %q, want %q", uid, alice)
			}
			if err := s.Set("from_go", "héllo ☃"); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Save(s); err != nil {
				t.Fatal(err)
			}
			got := py.Call(map[string]any{"op": "get", "key": key})
			if got["user"] != alice || got["data"].(map[string]any)["from_go"] != "héllo ☃" {
				t.Fatalf("Django reads %v", got)
			}

			// Django writes; Go reads.
			py.Call(map[string]any{"op": "set", "key": key, "name": "from_django", "value": []any{1, "Zoë"}})
			s, err := m.Lookup(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if v, _, err := session.Get[[]any](s, "from_django"); err != nil || fmt.Sprint(v) != "[1 Zoë]" {
				t.Fatalf("Go reads %v, %v", v, err)
			}

			// Django writes a key between Go's read and Go's write: Go's
			// conditional update finds the row changed, merges its own
			// key into what Django wrote, and both survive.
			s, err = m.Lookup(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := session.Get[[]any](s, "from_django"); err != nil {
				t.Fatal(err)
			}
			py.Call(map[string]any{"op": "set", "key": key, "name": "inside_go_window", "value": "django"})
			if err := s.Set("after_django", "go"); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Save(s); err != nil {
				t.Fatal(err)
			}
			data := py.Call(map[string]any{"op": "get", "key": key})["data"].(map[string]any)
			if data["inside_go_window"] != "django" || data["after_django"] != "go" || data["from_go"] != "héllo ☃" {
				t.Fatalf("after a Django write inside Go's read-update window, Django reads %v", data)
			}

			// Concurrent Go writes to different keys all survive.
			writeKeysConcurrently(t, m, key, 20)
			data = py.Call(map[string]any{"op": "get", "key": key})["data"].(map[string]any)
			for i := range 20 {
				if data[fmt.Sprintf("k%d", i)] != float64(i) {
					t.Errorf("key k%d lost: %v", i, data)
				}
			}

			// A Go logout ends the session for Django.
			sessiontest.Logout(t, m, key)
			if got := py.Call(map[string]any{"op": "get", "key": key}); got["exists"] != false || got["user"] != nil {
				t.Fatalf("after a Go logout Django sees %v", got)
			}

			// A Django logout ends the session for Go.
			key = py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
			if _, err := m.Lookup(ctx, key); err != nil {
				t.Fatal(err)
			}
			py.Call(map[string]any{"op": "logout", "key": key})
			if _, err := m.Lookup(ctx, key); !errors.Is(err, session.ErrInvalidToken) {
				t.Fatalf("after a Django logout Go finds %v", err)
			}

			// A password change in Django logs the Go side out (and the row
			// goes, as Django's flush does).
			key = py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
			if _, err := m.Lookup(ctx, key); err != nil {
				t.Fatal(err)
			}
			py.Call(map[string]any{"op": "passwd", "user": "alice", "password": "changed"})
			if _, err := m.Lookup(ctx, key); !errors.Is(err, session.ErrInvalidToken) {
				t.Fatalf("after a password change Go finds %v", err)
			}
			if row := py.Call(map[string]any{"op": "raw", "key": key})["row"]; row != nil {
				t.Fatalf("row kept: %v", row)
			}

			// A Go login is a Django login, with the user's current password hash.
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := m.Login(r.Context(), alice); err != nil {
					t.Error(err)
				}
				if err := session.FromContext(r.Context()).Set("cart", []int{3, 1, 4}); err != nil {
					t.Error(err)
				}
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("POST", "https://example.test/login", nil))
			var token string
			for _, c := range rec.Result().Cookies() {
				if c.Name == "sessionid" {
					token = c.Value
				}
			}
			if !regexp.MustCompile(`^[a-z0-9]{32}$`).MatchString(token) {
				t.Fatalf("Go login cookie %q", token)
			}
			got = py.Call(map[string]any{"op": "get", "key": token})
			if got["user"] != alice || fmt.Sprint(got["data"].(map[string]any)["cart"]) != "[3 1 4]" {
				t.Fatalf("Django sees the Go login as %v", got)
			}
		})
	}
}

// SPEC 3.4 pitfall: SQLite compares Django's expire_date as text, so the
// store writes exactly "YYYY-MM-DD HH:MM:SS.ffffff" in UTC: a session that
// expired a second ago is expired for Django too (written with an ISO "T",
// Django would still load it).
func TestSQLiteExpireDateIsDjangoText(t *testing.T) {
	db, py, _, st := sqliteStore(t, "alice")
	ctx := context.Background()
	now := time.Now()
	for _, c := range []struct {
		expires time.Time
		live    bool
	}{{now.Add(-time.Second), false}, {now.Add(time.Hour), true}} {
		token, d, err := django.Keys{}.NewToken(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		// Django dates a session SESSION_COOKIE_AGE after its last save.
		seen := c.expires.Add(-14 * 24 * time.Hour)
		rec := &session.Record{Values: map[string][]byte{"a": []byte("1")}, Created: seen, LastSeen: seen, IdleExpiry: c.expires, AbsExpiry: now.Add(24 * time.Hour)}
		if err := st.Create(ctx, d, rec); err != nil {
			t.Fatal(err)
		}
		var text string
		if err := db.QueryRow("SELECT expire_date || '' FROM django_session WHERE session_key = ?", token).Scan(&text); err != nil {
			t.Fatal(err)
		}
		if want := c.expires.UTC().Format("2006-01-02 15:04:05.000000"); text != want {
			t.Fatalf("expire_date stored as %q, want %q", text, want)
		}
		if got := py.Call(map[string]any{"op": "get", "key": token}); got["exists"] != c.live {
			t.Fatalf("session expiring at %v: Django says exists=%v", c.expires, got["exists"])
		}
	}
}

// Pickle is never decoded: a row Django wrote with PickleSerializer is
// refused with a *PickleError naming the setting, and deleting it (a
// logout) still works.
func TestPickledSessionRefused(t *testing.T) {
	db, _, _, st := sqliteStore(t, "alice") // Django creates the tables
	token, d, _ := django.Keys{}.NewToken(rand.Reader)
	signer := django.Signer{Secret: secret, Salt: django.SessionSalt("SessionStore")}
	data := signer.Sign([]byte("\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s."), false, time.Now())
	if _, err := db.Exec("INSERT INTO django_session VALUES (?, ?, ?)", token, data, time.Now().Add(time.Hour).UTC().Format("2006-01-02 15:04:05.000000")); err != nil {
		t.Fatal(err)
	}
	refusedAsPickle(t, st, d, "SESSION_SERIALIZER")
}

// A login Django would not honour without flushing (a backend the Go side
// does not allow) is anonymous for Go and the session stays, as in Django;
// a login signed under a fallback secret (SECRET_KEY_FALLBACKS) is
// honoured.
func TestDjangoLoginChecks(t *testing.T) {
	db, py, ids := sqliteDjango(t, "alice")
	key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
	ctx := context.Background()

	other, err := django.NewStore(db, django.Config{Vendor: django.SQLite, Secret: secret, Backends: []string{"myproject.auth.TokenBackend"}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := newManager(t, other).Lookup(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if uid, _ := s.UserID(); uid != "" {
		t.Fatalf("a login through a backend not allowed is user %q", uid)
	}
	if got := py.Call(map[string]any{"op": "get", "key": key}); got["user"] != ids["alice"] {
		t.Fatalf("the Go read ended the Django login: %v", got)
	}

	rotated, err := django.NewStore(db, django.Config{Vendor: django.SQLite, Secret: "a-new-secret-key", Fallbacks: []string{secret}})
	if err != nil {
		t.Fatal(err)
	}
	s, err = newManager(t, rotated).Lookup(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if uid, _ := s.UserID(); uid != ids["alice"] {
		t.Fatalf("a login under a fallback secret is user %q", uid)
	}
}

// SPEC 3.11 pitfall: Django re-hashes a password at a successful login
// when its hasher asks for it, which changes the session auth hash of the
// user's other sessions: they end on both sides, since the Go side checks
// the hash against the current password on every load.
func TestDjangoPasswordRehash(t *testing.T) {
	v := vendors()[0]
	db, name := v.open(t)
	defer db.Close()
	cfg, _ := json.Marshal(map[string]any{"vendor": v.name, "name": name, "rehash": true})
	py := pyproc.Start(t, "testdata/djangoside.py", string(cfg))
	ids := py.Call(map[string]any{"op": "setup", "users": []string{"alice"}})["users"].(map[string]any)
	st, err := django.NewStore(db, django.Config{Vendor: django.SQLite, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, st)
	key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
	lookupAs(t, m, key, ids["alice"])
	if res := py.Call(map[string]any{"op": "authenticate", "user": "alice", "password": "pw-alice"}); res["ok"] != true || res["rehashed"] != true {
		t.Fatalf("Django did not re-hash at login: %v", res)
	}
	if _, err := m.Lookup(context.Background(), key); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("a session from before the re-hash still loads: %v", err)
	}
	if got := py.Call(map[string]any{"op": "get", "key": key}); got["user"] != nil {
		t.Fatalf("Django: %v", got)
	}
}

// DeleteExpired removes the rows Django dated in the past, in batches of
// the given size, and nothing else, on SQLite (where expire_date compares
// as text), PostgreSQL and MariaDB.
func TestDeleteExpired(t *testing.T) {
	for _, v := range vendors() {
		t.Run(v.name, func(t *testing.T) {
			py, _, st := vendorDjango(t, v, "alice", "bob", "carol")
			var keys []string
			for _, u := range []string{"alice", "bob", "carol"} {
				keys = append(keys, py.Call(map[string]any{"op": "login", "user": u})["key"].(string))
			}
			for _, k := range keys[:2] {
				if n := py.Call(map[string]any{"op": "age", "key": k, "seconds": 5})["updated"]; n != float64(1) {
					t.Fatalf("aging %s: %v", k, n)
				}
			}
			ctx := context.Background()
			now := time.Now()
			for i, want := range []int{1, 1, 0} {
				if n, err := st.DeleteExpired(ctx, now, 1); err != nil || n != want {
					t.Fatalf("DeleteExpired #%d = %d, %v; want %d", i+1, n, err, want)
				}
			}
			if n, err := st.CountActive(ctx, now); err != nil || n != 1 {
				t.Fatalf("CountActive = %d, %v; want 1", n, err)
			}
			for i, k := range keys {
				row := py.Call(map[string]any{"op": "raw", "key": k})["row"]
				if (row != nil) != (i == 2) {
					t.Errorf("row of session %d after cleanup: %v", i, row)
				}
			}
		})
	}
}

// Authenticate checks passwords as Django's ModelBackend does, against the
// hashes a real Django wrote: PBKDF2 (SHA-256, Django's default, and
// SHA-1) verify; a wrong password, an unknown or inactive user or an
// unusable password do not; another hasher is an error naming it; and the
// user id it returns logs in a session Django honours.
func TestAuthenticate(t *testing.T) {
	db, py, ids := sqliteDjangoWith(t, map[string]any{"op": "setup", "users": []string{"ann", "sam", "ida", "una", "md"},
		"hashers":  map[string]string{"ann": "pbkdf2_sha256", "sam": "pbkdf2_sha1", "ida": "pbkdf2_sha256", "una": "unusable", "md": "md5"},
		"inactive": []string{"ida"}})
	st, err := django.NewStore(db, django.Config{Vendor: django.SQLite, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, name := range []string{"ann", "sam"} {
		id, err := st.Authenticate(ctx, name, "pw-"+name)
		if err != nil || id != ids[name] {
			t.Fatalf("Authenticate(%s) = %q, %v; want %v", name, id, err, ids[name])
		}
	}
	for _, tc := range []struct{ name, password string }{{"ann", "pw-sam"}, {"ann", ""}, {"nobody", "pw-nobody"}, {"ida", "pw-ida"}, {"una", "pw-una"}} {
		if id, err := st.Authenticate(ctx, tc.name, tc.password); !errors.Is(err, django.ErrBadCredentials) || id != "" {
			t.Errorf("Authenticate(%s, %s) = %q, %v; want ErrBadCredentials", tc.name, tc.password, id, err)
		}
	}
	if _, err := st.Authenticate(ctx, "md", "pw-md"); !errors.Is(err, django.ErrUnsupportedHasher) || !strings.Contains(err.Error(), `"md5"`) {
		t.Errorf("an MD5 hash: %v, want ErrUnsupportedHasher naming it", err)
	}
	// The id logs in a session Django sees as ann's.
	m := newManager(t, st)
	id, _ := st.Authenticate(ctx, "ann", "pw-ann")
	key := sessiontest.LoginToken(t, m, id, nil)
	if got := py.Call(map[string]any{"op": "get", "key": key}); got["user"] != ids["ann"] {
		t.Fatalf("Django sees the Go login as %v", got["user"])
	}

	// The cache backend's and the signed cookies' stores check passwords
	// against the user table they are given, and need one.
	client, prefix := redisForDjango(t)
	type authenticator interface {
		Authenticate(ctx context.Context, username, password string) (string, error)
	}
	for _, withDB := range []bool{true, false} {
		var userDB *sql.DB
		if withDB {
			userDB = db
		}
		cache, err := django.NewCacheStore(django.CacheConfig{Client: client, KeyPrefix: prefix, Secret: secret, DB: userDB, Vendor: django.SQLite})
		if err != nil {
			t.Fatal(err)
		}
		cookies, err := django.NewSignedCookies(django.CookieConfig{Secret: secret, DB: userDB, Vendor: django.SQLite})
		if err != nil {
			t.Fatal(err)
		}
		for name, a := range map[string]authenticator{"cache": cache, "signed cookies": cookies} {
			id, err := a.Authenticate(ctx, "ann", "pw-ann")
			_, wrong := a.Authenticate(ctx, "ann", "pw-sam")
			switch {
			case withDB && (err != nil || id != ids["ann"] || !errors.Is(wrong, django.ErrBadCredentials)):
				t.Errorf("%s: Authenticate = %q, %v; with a wrong password %v", name, id, err, wrong)
			case !withDB && (!errors.Is(err, django.ErrNoUserTable) || !errors.Is(wrong, django.ErrNoUserTable)):
				t.Errorf("%s without a user table: %v, %v; want ErrNoUserTable", name, err, wrong)
			}
		}
	}
}

// lookupAs looks the session key up through m and fails the test unless it
// loads as the user Django numbers id; it returns the session.
func lookupAs(t *testing.T, m *session.Manager, key string, id any) *session.Session {
	t.Helper()
	s, err := m.Lookup(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if uid, _ := s.UserID(); uid != id {
		t.Fatalf("Go sees user %q, want %v", uid, id)
	}
	return s
}

// Config.Compress: Go writes the compressed form signing.dumps writes
// (a payload starting with "."), and a real Django reads it, user and
// values.
func TestDjangoReadsCompressedGoWrites(t *testing.T) {
	db, py, ids := sqliteDjango(t, "alice")
	st, err := django.NewStore(db, django.Config{Vendor: django.SQLite, Secret: secret, Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	m := djangoManager(t, st)
	key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
	long := strings.Repeat("compressible ", 100)
	serveGo(t, m, key, setFromGo("note", long))
	row := py.Call(map[string]any{"op": "raw", "key": key})["row"].([]any)
	if data := row[0].(string); !strings.HasPrefix(data, ".") || len(data) > len(long)/2 {
		t.Fatalf("the row Go wrote is not compressed (%d bytes): %.60s", len(data), data)
	}
	got := py.Call(map[string]any{"op": "get", "key": key})
	if got["user"] != ids["alice"] || got["data"].(map[string]any)["note"] != long {
		t.Fatalf("Django reads the compressed Go write as %v", got)
	}
}
