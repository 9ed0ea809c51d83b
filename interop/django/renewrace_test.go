package django_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/interop/django"
)

// A Django set_expiry(300) saved after Renew read the row again and
// before its UPDATE (while it looks the user's login keys up in
// auth_user) is not overwritten by that UPDATE: the renewal is
// conditional on the data it read and retried, as Update is, so the
// session keeps Django's 5 minutes. Before the fix the UPDATE matched on
// the key alone and wrote the request's stale two weeks and data.
func TestDjangoSetExpiryInsideRenew(t *testing.T) {
	for _, v := range vendors() {
		t.Run(v.name, func(t *testing.T) {
			py, ids, st := vendorDjango(t, v, "alice")
			m := djangoManager(t, st)
			for _, login := range []bool{false, true} {
				key := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
				calls := 0
				django.SetBeforeRenewWrite(st, func() {
					calls++
					if calls == 1 { // Django saves between the read and the UPDATE
						py.Call(map[string]any{"op": "expiry", "key": key, "value": 300})
					}
				})
				_, newKey := serveGo(t, m, key, func(r *http.Request) error {
					if _, err := session.FromContext(r.Context()).UserID(); err != nil {
						return err
					}
					if login {
						return m.Login(r.Context(), ids["alice"].(string))
					}
					return m.Renew(r.Context())
				})
				django.SetBeforeRenewWrite(st, nil)
				if calls == 0 || newKey == "" || newKey == key {
					t.Fatalf("login %v: no renewal (hook ran %d times, new key %q)", login, calls, newKey)
				}
				if age, _, data := expiryOf(t, py, newKey); age != 300 {
					t.Fatalf("login %v: Django's age %v after a renewal around its set_expiry(300) (data %v)", login, age, data)
				}
				if end := rowExpiry(t, py, newKey); time.Until(end) > 300*time.Second {
					t.Fatalf("login %v: the row ends in %v, Django set 5 minutes", login, time.Until(end))
				}
				if got := py.Call(map[string]any{"op": "get", "key": newKey}); got["user"] != ids["alice"] {
					t.Fatalf("login %v: Django after the renewal: %v", login, got)
				}
				if got := py.Call(map[string]any{"op": "get", "key": key}); got["exists"] != false {
					t.Fatalf("login %v: the old key still works: %v", login, got)
				}
			}
		})
	}
}
