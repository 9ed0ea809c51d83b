package django_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/pyproc"
	"github.com/sessionkit/session/interop/django"
)

// Django's signed_cookies backend with a real Django: Django's login cookie
// is a login in Go and the reverse, values written on either side are read
// on the other, and a password change in Django ends the Go side's login.
func TestDjangoSignedCookies(t *testing.T) {
	v := vendors()[0]
	db, name := v.open(t)
	defer db.Close()
	cfg, _ := json.Marshal(map[string]string{"vendor": v.name, "name": name, "engine": "django.contrib.sessions.backends.signed_cookies"})
	py := pyproc.Start(t, "testdata/djangoside.py", string(cfg))
	ids := py.Call(map[string]any{"op": "setup", "users": []string{"alice", "bob", "carol"}})["users"].(map[string]any)
	st, err := django.NewSignedCookies(django.CookieConfig{Secret: secret, DB: db, Vendor: django.SQLite})
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.NewClientSide(st, session.WithCookieName("sessionid"), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		switch r.URL.Path {
		case "/write":
			if err := s.Set("from_go", "Zoë"); err != nil {
				t.Error(err)
			}
		case "/login":
			if err := m.Login(r.Context(), ids["bob"].(string)); err != nil {
				t.Error(err)
			}
		}
		uid, _ := s.UserID()
		io.WriteString(w, uid)
	}))
	serve := func(path, cookie string) (string, string) {
		c, _, body := pyproc.Serve(t, h, "sessionid", path, cookie)
		return body, c
	}

	cookie := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
	cookie = py.Call(map[string]any{"op": "set", "key": cookie, "name": "cart", "value": []int{3, 1, 4}})["key"].(string)
	// Django's CSRF secret (CSRF_USE_SESSIONS) outlives a Go write.
	cookie = py.Call(map[string]any{"op": "set", "key": cookie, "name": django.KeyCSRFToken, "value": "djangos-own"})["key"].(string)
	user, goCookie := serve("/write", cookie)
	if user != ids["alice"] || goCookie == "" {
		t.Fatalf("Go sees user %q, writes %q", user, goCookie)
	}
	got := py.Call(map[string]any{"op": "get", "key": goCookie})
	data, _ := got["data"].(map[string]any)
	if got["user"] != ids["alice"] || data["from_go"] != "Zoë" || len(data["cart"].([]any)) != 3 || data[django.KeyCSRFToken] != "djangos-own" {
		t.Fatalf("Django reads the Go cookie as %v", got)
	}
	// A Go login is a Django login.
	_, bobCookie := serve("/login", "")
	if got := py.Call(map[string]any{"op": "get", "key": bobCookie}); got["user"] != ids["bob"] {
		t.Fatalf("Django sees the Go login as %v", got)
	}
	// Carol's login cookie after her account was deactivated: anonymous
	// for both sides, but her data; a Go login as bob drops it, as
	// Django's login flushes a session of another user (before, bob's
	// session kept carol's cart).
	carols := py.Call(map[string]any{"op": "login", "user": "carol"})["key"].(string)
	carols = py.Call(map[string]any{"op": "set", "key": carols, "name": "carols_cart", "value": []int{2, 7}})["key"].(string)
	if res := py.Call(map[string]any{"op": "deactivate", "user": "carol"}); res["updated"] != float64(1) {
		t.Fatalf("deactivating carol: %v", res)
	}
	if got := py.Call(map[string]any{"op": "get", "key": carols}); got["user"] != nil || len(got["data"].(map[string]any)["carols_cart"].([]any)) != 2 {
		t.Fatalf("Django sees carol's cookie after her deactivation as %v", got)
	}
	if user, _ := serve("/read", carols); user != "" {
		t.Fatalf("Go sees a deactivated user's cookie as user %q", user)
	}
	_, bobCookie = serve("/login", carols)
	if got := py.Call(map[string]any{"op": "get", "key": bobCookie}); got["user"] != ids["bob"] || got["data"].(map[string]any)["carols_cart"] != nil {
		t.Fatalf("Django sees bob's Go login over carol's cookie as %v", got)
	}
	// A Go side that does not honour logins (no user table) reads the
	// login cookie as anonymous, and its writes keep the login for Django
	// (before, they dropped it: Django's user was logged out).
	blind, err := django.NewSignedCookies(django.CookieConfig{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	bm, err := session.NewClientSide(blind, session.WithCookieName("sessionid"), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	bh := bm.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if err := s.Set("blind", 1); err != nil {
			t.Error(err)
		}
		uid, _ := s.UserID()
		io.WriteString(w, uid)
	}))
	blindCookie, _, blindUser := pyproc.Serve(t, bh, "sessionid", "/write", cookie)
	if blindUser != "" || blindCookie == "" {
		t.Fatalf("a Go side without the user table sees user %q, writes %q", blindUser, blindCookie)
	}
	got = py.Call(map[string]any{"op": "get", "key": blindCookie})
	if data, _ := got["data"].(map[string]any); got["user"] != ids["alice"] || data["blind"] != float64(1) || len(data["cart"].([]any)) != 3 {
		t.Fatalf("after a write by a Go side that does not honour logins Django reads %v", got)
	}
	// A password change in Django ends the login on the Go side.
	py.Call(map[string]any{"op": "passwd", "user": "alice", "password": "changed"})
	if user, _ := serve("/read", goCookie); user != "" {
		t.Fatalf("after a password change Go still sees user %q", user)
	}
}

// SPEC 3.5 worked example: Django's signed cookie opens in Go (no login,
// so no user table is needed), and not past SESSION_COOKIE_AGE.
func TestDjangoSignedCookieWorkedExample(t *testing.T) {
	const cookie = "eyJjYXJ0IjpbMywxLDRdLCJuYW1lIjoiWm9cdTAwZWIifQ:1vb66i:HRVMWlA4_k1dj-ruTYDYhd_LqhNDRi_GZdrWzvO472Y"
	st, err := django.NewSignedCookies(django.CookieConfig{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1767225600, 0)
	_, rec, _, err := st.Open(context.Background(), "sessionid", cookie, at)
	if err != nil || string(rec.Values["name"]) != `"Zo\u00eb"` {
		t.Fatalf("%v %v", rec, err)
	}
	if _, _, _, err := st.Open(context.Background(), "sessionid", cookie, at.Add(14*24*time.Hour+time.Second)); err == nil {
		t.Fatal("opened past SESSION_COOKIE_AGE")
	}
}

// SPEC 3.3.1: Django 3.2 in DEFAULT_HASHING_ALGORITHM = "sha1" signs its
// signed cookies with SHA-1, as a real Django does here: the cookie opens
// in Go, user and values, with CookieConfig.AcceptSHA1 (as Django 3.2
// reads it), and is refused without it (as 4.0 refuses it).
func TestDjangoSignedCookieSHA1(t *testing.T) {
	v := vendors()[0]
	db, name := v.open(t)
	defer db.Close()
	cfg, _ := json.Marshal(map[string]any{"vendor": v.name, "name": name, "engine": "django.contrib.sessions.backends.signed_cookies", "sha1": true})
	py := pyproc.Start(t, "testdata/djangoside.py", string(cfg))
	ids := py.Call(map[string]any{"op": "setup", "users": []string{"alice"}})["users"].(map[string]any)
	cookie := py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
	cookie = py.Call(map[string]any{"op": "set", "key": cookie, "name": "cart", "value": []int{3, 1, 4}})["key"].(string)
	sig := cookie[strings.LastIndexByte(cookie, ':')+1:]
	if len(sig) != 27 {
		t.Fatalf("Django's cookie %q has no SHA-1 signature: the test would prove nothing", cookie)
	}
	for _, accept := range []bool{true, false} {
		st, err := django.NewSignedCookies(django.CookieConfig{Secret: secret, DB: db, Vendor: django.SQLite, AcceptSHA1: accept})
		if err != nil {
			t.Fatal(err)
		}
		_, rec, _, err := st.Open(context.Background(), "sessionid", cookie, time.Now())
		if !accept {
			if !errors.Is(err, session.ErrInvalidCookie) {
				t.Fatalf("without AcceptSHA1: %v, want ErrInvalidCookie", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("with AcceptSHA1: %v", err)
		}
		if rec.UserID != ids["alice"] || string(rec.Values["cart"]) != "[3,1,4]" {
			t.Fatalf("with AcceptSHA1 Go reads user %q, values %q", rec.UserID, rec.Values)
		}
	}
}
