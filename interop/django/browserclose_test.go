package django_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sessionkit/session/interop/django"
)

// Under the README's settings (SESSION_COOKIE_AGE as the idle and
// absolute timeouts) a Go login writes no _session_expiry, so that a
// project with SESSION_EXPIRE_AT_BROWSER_CLOSE = True keeps ending the
// session's cookie with the browser. Before the fix the login's absolute
// deadline, counted from the Login call, left 1209599.9 seconds at the
// commit, written as set_expiry(1209599): get_expire_at_browser_close()
// was False.
func TestGoLoginKeepsBrowserClose(t *testing.T) {
	db, path := vendors()[0].open(t)
	defer db.Close()
	py := startDjangoCfg(t, map[string]any{"vendor": "sqlite", "name": path, "browser_close": true})
	ids := py.Call(map[string]any{"op": "setup", "users": []string{"alice"}})["users"].(map[string]any)
	st, err := django.NewStore(db, django.Config{Vendor: django.SQLite, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	m := djangoManager(t, st)
	for _, over := range []string{"", py.Call(map[string]any{"op": "anon", "name": "a", "value": 1})["key"].(string)} {
		_, key := serveGo(t, m, over, func(r *http.Request) error {
			time.Sleep(20 * time.Millisecond) // the login is called before the commit
			if err := m.Login(r.Context(), ids["alice"].(string)); err != nil {
				return err
			}
			time.Sleep(20 * time.Millisecond)
			return nil
		})
		age, closing, data := expiryOf(t, py, key)
		if _, ok := data["_session_expiry"]; ok || !closing || age != cookieAge.Seconds() {
			t.Fatalf("a Go login (over %q): Django's age %v, browser close %v, data %v", over, age, closing, data)
		}
	}
}
