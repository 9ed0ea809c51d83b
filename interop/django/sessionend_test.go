package django_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/interop/django"
)

// SPEC 3.4 and 3.6: a Go request that loaded a session before Django
// logged it out never brings it back when it saves: on the db backend
// (SQLite, PostgreSQL, MariaDB), the cache backend and cached_db, the
// save finds the session gone (Save returns no token), and Django and Go
// both find no session afterwards. An implementation that writes a row
// or cache key back (an upsert, a plain SET) fails here.
func TestGoSaveAfterDjangoLogoutResurrectsNothing(t *testing.T) {
	for _, b := range loginBackends() {
		t.Run(b.name, func(t *testing.T) {
			py, st, _ := b.start(t)
			m := newManager(t, st)
			ctx := context.Background()
			key, s := djangoLogin(t, py, m, "alice")
			if err := s.Set("written_late", "go"); err != nil {
				t.Fatal(err)
			}
			py.Call(map[string]any{"op": "logout", "key": key})
			// Save answers no token and no error: the session was ended
			// meanwhile by a logout elsewhere.
			if token, err := m.Save(s); token != "" || err != nil {
				t.Fatalf("the save after Django's logout answered token %q, %v", token, err)
			}
			if got := py.Call(map[string]any{"op": "get", "key": key}); got["exists"] != false || got["user"] != nil {
				t.Fatalf("after the late Go save Django finds %v", got)
			}
			if _, err := m.Lookup(ctx, key); !errors.Is(err, session.ErrInvalidToken) {
				t.Fatalf("after the late Go save Go finds %v", err)
			}
		})
	}
}

// SPEC 3.2: Django reads session_data without a max_age (only
// expire_date decides), so data signed long ago loads as long as its row
// has not expired; and SPEC 3.4: a row whose expire_date has passed is
// invisible, to Go as to Django, before any cleanup deletes it.
func TestRowExpiryNotSignatureAgeDecides(t *testing.T) {
	db, py, _, st := sqliteStore(t, "alice")
	m := newManager(t, st)
	ctx := context.Background()
	signer := django.Signer{Secret: secret, Salt: django.SessionSalt("SessionStore")}
	key := strings.Repeat("k", 30) + "01"
	old := signer.Sign([]byte(`{"cart":[2,7]}`), false, time.Now().Add(-30*24*time.Hour))
	if _, err := db.Exec(`INSERT INTO django_session (session_key, session_data, expire_date) VALUES (?, ?, ?)`, key, old, "2000-01-01 00:00:00.000000"); err != nil {
		t.Fatal(err)
	}
	// Dated as a save a minute ago dates it (SESSION_COOKIE_AGE, two
	// weeks, from then): the row is fresh, its signature 30 days old.
	if n := py.Call(map[string]any{"op": "expire_in", "key": key, "seconds": 14*24*3600 - 60})["updated"]; n != float64(1) {
		t.Fatalf("dating the row: %v", n)
	}
	if got := py.Call(map[string]any{"op": "get", "key": key}); got["exists"] != true || got["data"].(map[string]any)["cart"] == nil {
		t.Fatalf("Django reads the row signed 30 days ago as %v", got)
	}
	s, err := m.Lookup(ctx, key)
	if err != nil {
		t.Fatalf("Go refuses the row signed 30 days ago: %v", err)
	}
	if cart, ok, err := session.Get[[]int](s, "cart"); err != nil || !ok || len(cart) != 2 {
		t.Fatalf("cart = %v, %v, %v", cart, ok, err)
	}
	if n := py.Call(map[string]any{"op": "age", "key": key, "seconds": 1})["updated"]; n != float64(1) {
		t.Fatalf("expiring the row: %v", n)
	}
	if got := py.Call(map[string]any{"op": "get", "key": key}); got["exists"] != false {
		t.Fatalf("Django reads the expired row as %v", got)
	}
	if _, err := m.Lookup(ctx, key); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("Go reads the expired row: %v", err)
	}
}

// SPEC 3.4: on MySQL/MariaDB Django keeps expire_date as a DATETIME in UTC
// (USE_TZ = True). A *sql.DB opened with the driver's parseTime=true and
// a loc= of another zone (a project's DSN with loc=Local, on a server not
// in UTC) returns it as that zone's wall clock; the store still reads the
// UTC Django meant: the same expiry as through the default DSN. Before,
// the expiry moved by the zone's offset (five hours here).
func TestMySQLDSNTimeZone(t *testing.T) {
	v := vendors()[2]
	py, _, plain := vendorDjango(t, v, "alice")
	key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
	db, err := sql.Open("mysql", "root@tcp(127.0.0.1:3306)/django_interop?parseTime=true&loc=America%2FNew_York")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	zoned, err := django.NewStore(db, django.Config{Vendor: django.MySQL, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := django.Keys{}.Key(key)
	ctx := context.Background()
	want, err := plain.Load(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := zoned.Load(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if !got.IdleExpiry.Equal(want.IdleExpiry) {
		t.Fatalf("through parseTime=true&loc=America/New_York the session ends at %v, through the default DSN at %v", got.IdleExpiry, want.IdleExpiry)
	}
}

// A Django session whose _auth_user_id is "" through a backend neither
// side honours loads on PostgreSQL as an anonymous session claimed by
// nobody Go can log in, with no query of the integer id column (which
// would fail on ""), and a Go login over it drops its data (Django's
// login flushes it: "" is no user's primary key).
func TestEmptyUserIDClaim(t *testing.T) {
	v := vendors()[1]
	_, ids, st := vendorDjango(t, v, "alice")
	db, _ := v.open(t)
	defer db.Close()
	signer := django.Signer{Secret: secret, Salt: django.SessionSalt("SessionStore")}
	key := strings.Repeat("e", 30) + "01"
	data := signer.Sign([]byte(`{"cart":[1],"_auth_user_id":"","_auth_user_backend":"myproject.auth.TokenBackend","_auth_user_hash":"x"}`), false, time.Now())
	if _, err := db.Exec(`INSERT INTO django_session (session_key, session_data, expire_date) VALUES ($1, $2, $3)`, key, data, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	d, _ := django.Keys{}.Key(key)
	rec, err := st.Load(context.Background(), d)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if rec.UserID != "" || rec.ClaimedUser != `""` {
		t.Fatalf("user %q, claimed by %q", rec.UserID, rec.ClaimedUser)
	}
	m := newManager(t, st)
	_, token := serveGo(t, m, key, func(r *http.Request) error { return m.Login(r.Context(), ids["alice"].(string)) })
	s, err := m.Lookup(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Has("cart"); ok {
		t.Fatal("alice's login kept the data of a session claimed by no user")
	}
}
