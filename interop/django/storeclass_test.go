package django_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/sessionkit/session/internal/pyproc"
	"github.com/sessionkit/session/interop/django"
	"github.com/sessionkit/session/sessiontest"
)

// Config.StoreClass end to end: a Django project whose session store is
// a subclass named ProjectSessionStore signs with the salt
// "django.contrib.sessions.ProjectSessionStore"; with StoreClass set, Go
// reads its logins and Django reads Go's writes and logins; without it,
// every session fails verification (and is kept).
func TestDjangoSubclassedStore(t *testing.T) {
	db, path := vendors()[0].open(t)
	defer db.Close()
	js, _ := json.Marshal(map[string]any{"vendor": "sqlite", "name": path, "engine": "djangoside"})
	py := pyproc.Start(t, "testdata/djangoside.py", string(js))
	ids := py.Call(map[string]any{"op": "setup", "users": []string{"alice", "bob"}})["users"].(map[string]any)
	st, err := django.NewStore(db, django.Config{Vendor: django.SQLite, Secret: secret, StoreClass: "ProjectSessionStore"})
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, st)
	key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
	lookupAs(t, m, key, ids["alice"])
	sessiontest.Set(t, m, key, "from_go", "☃")
	if got := py.Call(map[string]any{"op": "get", "key": key}); got["user"] != ids["alice"] || got["data"].(map[string]any)["from_go"] != "☃" {
		t.Fatalf("Django reads %v", got)
	}
	token := loginHandler(t, m, ids["bob"].(string))
	if got := py.Call(map[string]any{"op": "get", "key": token}); got["user"] != ids["bob"] {
		t.Fatalf("Django sees the Go login as %v", got)
	}

	plain, err := django.NewStore(db, django.Config{Vendor: django.SQLite, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := django.Keys{}.Key(key)
	if _, err := plain.Load(context.Background(), d); !errors.Is(err, django.ErrBadSignature) {
		t.Fatalf("read with the default salt: %v", err)
	}
	if got := py.Call(map[string]any{"op": "get", "key": key}); got["user"] != ids["alice"] {
		t.Fatalf("a failed verification ended the session: %v", got)
	}
}
