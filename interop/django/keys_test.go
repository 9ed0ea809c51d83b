package django_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/interop/django"
)

// SPEC 3.1: a session key is exactly 32 characters of [a-z0-9]; Keys
// accepts those and nothing else (a cookie of any other form is refused
// before a store is asked), and NewToken draws only such keys.
func TestKeysAcceptOnlyDjangoKeys(t *testing.T) {
	good := "abcdefghijklmnopqrstuvwxyz012345"
	if d, ok := (django.Keys{}).Key(good); !ok || string(d[:]) != good {
		t.Fatalf("a Django key refused: %v", ok)
	}
	for _, bad := range []string{
		good[:31], good + "6", strings.ToUpper(good), "abcdefghijklmnopqrstuvwxyz01234-",
		"abcdefghijklmnopqrstuvwxyz01234_", "abcdefghijklmnopqrstuvwxyz01234 ", "abcdefghijklmnopqrstuvwxyz0123\u00e9", "",
	} {
		if _, ok := (django.Keys{}).Key(bad); ok {
			t.Errorf("Key(%q) accepted", bad)
		}
	}
	for range 1000 {
		token, d, err := django.Keys{}.NewToken(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if back, ok := (django.Keys{}).Key(token); !ok || back != d {
			t.Fatalf("NewToken drew %q, which Key refuses", token)
		}
	}
}

// SPEC 3.4: Django's save(must_create=True) is an INSERT that fails on an
// existing key (IntegrityError, then Django draws another key), and the
// cache backend's an add (SET NX); Go's Create on a key Django already
// uses fails with session.ErrExists and leaves Django's session as it
// was: db (SQLite, PostgreSQL, MariaDB), cache and cached_db.
func TestCreateOnDjangosKeyFails(t *testing.T) {
	for _, b := range loginBackends() {
		t.Run(b.name, func(t *testing.T) {
			py, st, ids := b.start(t)
			key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
			py.Call(map[string]any{"op": "set", "key": key, "name": "cart", "value": []int{3, 1, 4}})
			d, _ := django.Keys{}.Key(key)
			rec := &session.Record{Values: map[string][]byte{"cart": []byte(`"overwritten"`)}, UserID: ids["alice"].(string)}
			now := time.Now()
			rec.Created, rec.LastSeen, rec.AuthTime, rec.IdleExpiry, rec.AbsExpiry = now, now, now, now.Add(time.Hour), now.Add(12*time.Hour)
			if err := st.Create(context.Background(), d, rec); !errors.Is(err, session.ErrExists) {
				t.Fatalf("Create on Django's key: %v, want ErrExists", err)
			}
			got := py.Call(map[string]any{"op": "get", "key": key})
			if data, _ := got["data"].(map[string]any); got["user"] != ids["alice"] || len(data["cart"].([]any)) != 3 {
				t.Fatalf("after the refused Create Django reads %v", got)
			}
		})
	}
}

// SPEC 3.4: the table is Django's, made by its migrations; the store never
// creates or alters a schema. Over a database without django_session,
// Create, Load and Delete fail with an error (never ErrNotFound, which
// would read as "no session") and no table appears.
func TestNoSchemaCreated(t *testing.T) {
	db, _ := vendors()[0].open(t)
	defer db.Close()
	st, err := django.NewStore(db, django.Config{Vendor: django.SQLite, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	token, d, _ := django.Keys{}.NewToken(rand.Reader)
	now := time.Now()
	rec := &session.Record{Values: map[string][]byte{}, Created: now, LastSeen: now, IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(time.Hour)}
	if err := st.Create(ctx, d, rec); err == nil || errors.Is(err, session.ErrExists) {
		t.Fatalf("Create without django_session: %v", err)
	}
	if _, err := st.Load(ctx, d); err == nil || errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Load of %s without django_session: %v, want an error other than ErrNotFound", token, err)
	}
	if _, err := st.Delete(ctx, d); err == nil {
		t.Fatal("Delete without django_session succeeded")
	}
	var tables int
	if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("the store created %d tables (%v)", tables, err)
	}
}
