package django_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/pyproc"
	"github.com/sessionkit/session/interop/django"
	"github.com/sessionkit/session/sessiontest"
)

// SPEC 3.3: rows a Django 3.2 site wrote while in DEFAULT_HASHING_ALGORITHM
// = "sha1" (the pre-3.1 format, a SHA-1 login hash) are read by the db
// store with Config.AcceptSHA1, user and values, as Django 3.2 in its
// default mode reads them; a Go write re-signs the row with SHA-256, which
// that Django reads back, login included. Without AcceptSHA1 such a row is
// refused with ErrLegacyFormat, never read as an empty session.
func TestDjangoSHA1ModeRows(t *testing.T) {
	v := vendors()[0]
	db, name := v.open(t)
	t.Cleanup(func() { db.Close() })
	legacy, _ := json.Marshal(map[string]any{"vendor": v.name, "name": name, "sha1": true})
	old := pyproc.Start(t, "testdata/djangoside.py", string(legacy))
	ids := old.Call(map[string]any{"op": "setup", "users": []string{"alice"}})["users"].(map[string]any)
	key := old.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
	old.Call(map[string]any{"op": "set", "key": key, "name": "cart", "value": []int{3, 1, 4}})
	row := old.Call(map[string]any{"op": "raw", "key": key})["row"].([]any)[0].(string)
	if raw, err := base64.StdEncoding.DecodeString(row); err != nil || len(raw) < 41 || raw[40] != ':' {
		t.Fatalf("Django in SHA-1 mode did not write the pre-3.1 format: %q", row)
	}

	strict, err := django.NewStore(db, django.Config{Vendor: v.vendor, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := django.Keys{}.Key(key)
	if _, err := strict.Load(context.Background(), d); !errors.Is(err, django.ErrLegacyFormat) || !strings.Contains(err.Error(), "AcceptSHA1") {
		t.Fatalf("without AcceptSHA1: %v", err)
	}

	st, err := django.NewStore(db, django.Config{Vendor: v.vendor, Secret: secret, AcceptSHA1: true})
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, st)
	s := lookupAs(t, m, key, ids["alice"])
	if cart, ok, err := session.Get[[]int](s, "cart"); err != nil || !ok || len(cart) != 3 || cart[2] != 4 {
		t.Fatalf("the row's values in Go: %v %v %v", cart, ok, err)
	}
	sessiontest.Set(t, m, key, "from_go", 1)
	if row := old.Call(map[string]any{"op": "raw", "key": key})["row"].([]any)[0].(string); strings.Count(row, ":") != 2 {
		t.Fatalf("a Go write left the row in the legacy format: %q", row)
	}
	current, _ := json.Marshal(map[string]any{"vendor": v.name, "name": name})
	now := pyproc.Start(t, "testdata/djangoside.py", string(current))
	got := now.Call(map[string]any{"op": "get", "key": key})
	data, _ := got["data"].(map[string]any)
	if got["user"] != ids["alice"] || data["from_go"] != float64(1) || data["cart"] == nil {
		t.Fatalf("Django in its default mode, after the Go write: %v", got)
	}
}
