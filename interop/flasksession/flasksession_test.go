package flasksession_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/pyproc"
	"github.com/sessionkit/session/interop/flasksession"
)

const secret = "flask-interop-fixture-secret"

// flaskApp runs a real Flask with Debian's Flask-Session 0.3.2 on the
// local Redis (db 0) under a key prefix of its own.
type flaskApp struct {
	py     *pyproc.Proc
	prefix string
}

func startFlask(t *testing.T, signer, jsonValues bool) *flaskApp {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	prefix := "flasksessiontest:" + hex.EncodeToString(b[:]) + ":"
	cfg, _ := json.Marshal(map[string]any{"secret": secret, "signer": signer, "prefix": prefix, "json": jsonValues})
	app := &flaskApp{py: pyproc.Start(t, "testdata/flasksessionside.py", string(cfg)), prefix: prefix}
	t.Cleanup(func() {
		c := redisClient(t)
		keys, _ := c.Keys(context.Background(), prefix+"*").Result()
		for _, k := range keys {
			c.Del(context.Background(), k)
		}
	})
	return app
}

// request sends one request with cookie and returns the body and the
// cookie the app set (or cookie itself when it set none).
func (a *flaskApp) request(method, path, cookie string) (map[string]any, string) {
	out := a.py.Call(map[string]any{"method": method, "path": path, "cookie": cookie})
	if c, _ := out["cookie"].(string); c != "" {
		cookie = c
	}
	body, _ := out["body"].(map[string]any)
	return body, cookie
}

var client *redis.Client

func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	if client == nil {
		client = redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	}
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Redis on 127.0.0.1:6379 is required: %v", err)
	}
	return client
}

func newStore(t *testing.T, app *flaskApp, signer bool) *flasksession.Store {
	t.Helper()
	st, err := flasksession.New(flasksession.Config{Client: redisClient(t), KeyPrefix: app.prefix, Secret: secret, UseSigner: signer})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Flask-Session's own format is a pickle: Load refuses it with the
// typed error (never decoding it), and a Go logout still ends the session
// for Flask, with the signer on and off.
func TestPickledSessionRefusedLogoutWorks(t *testing.T) {
	for _, signer := range []bool{true, false} {
		app := startFlask(t, signer, false)
		st := newStore(t, app, signer)
		ctx := context.Background()
		_, cookie := app.request("POST", "/login/alice", "")
		if body, _ := app.request("GET", "/whoami", cookie); body["user"] != "alice" {
			t.Fatalf("signer %v: Flask does not see its own login: %v", signer, body)
		}
		if signer != strings.Contains(cookie, ".") {
			t.Fatalf("signer %v: cookie %q", signer, cookie)
		}
		raw, err := redisClient(t).Get(ctx, app.prefix+strings.SplitN(cookie, ".", 2)[0]).Bytes()
		if err != nil || len(raw) == 0 || raw[0] != 0x80 {
			t.Fatalf("signer %v: Flask-Session's value is not a pickle: % x, %v", signer, raw[:min(len(raw), 8)], err)
		}
		var pe *flasksession.PickleError
		if _, err := st.Load(ctx, cookie); !errors.As(err, &pe) || !strings.Contains(err.Error(), "JSON") {
			t.Fatalf("signer %v: Load of a pickle = %v, want *PickleError naming the fix", signer, err)
		}
		if existed, err := st.Delete(ctx, cookie); err != nil || !existed {
			t.Fatalf("signer %v: Delete = %v, %v", signer, existed, err)
		}
		if body, _ := app.request("GET", "/whoami", cookie); body["user"] != nil {
			t.Fatalf("signer %v: Flask still sees %v after the Go logout", signer, body["user"])
		}
	}
}

// With a JSON serializer on the Python side, Go reads what Flask wrote;
// a logout in Flask or in Go ends the session for both.
func TestJSONSessionsShared(t *testing.T) {
	app := startFlask(t, true, true)
	st := newStore(t, app, true)
	ctx := context.Background()
	_, cookie := app.request("POST", "/login/zoë", "")
	values, err := st.Load(ctx, cookie)
	if err != nil {
		t.Fatal(err)
	}
	var user string
	var roles []string
	if err := json.Unmarshal(values["user"], &user); err != nil || user != "zoë" {
		t.Fatalf("user %q (%v) in %s", user, err, values["user"])
	}
	if err := json.Unmarshal(values["roles"], &roles); err != nil || len(roles) != 2 || roles[1] != "Zoë" {
		t.Fatalf("roles %q (%v)", roles, err)
	}
	// A logout in Flask: Flask-Session keeps the key, without the user.
	app.request("POST", "/logout", cookie)
	if values, err := st.Load(ctx, cookie); err == nil && values["user"] != nil {
		t.Fatalf("Go still sees the user after Flask's logout: %s", values["user"])
	}
	// A new login, ended by Go.
	_, cookie = app.request("POST", "/login/bob", "")
	if _, err := st.Delete(ctx, cookie); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx, cookie); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Load after the Go logout = %v, want ErrNotFound", err)
	}
	// Flask's next request with the old cookie writes {"_permanent": true}
	// back under the same sid: the key exists again, nobody is logged in.
	if body, _ := app.request("GET", "/whoami", cookie); body["user"] != nil {
		t.Fatalf("Flask still sees %v after the Go logout", body["user"])
	}
	if values, err := st.Load(ctx, cookie); err != nil || values["user"] != nil {
		t.Fatalf("after Flask rewrote the sid: %v, %v", values, err)
	}
}

// Cookies Flask-Session did not issue are refused before Redis is asked:
// a bad signature, a sid that is not a UUID (without the signer, where a
// client chooses the sid, this keeps it to Flask-Session's own shape).
func TestForeignCookiesRefused(t *testing.T) {
	app := startFlask(t, true, true)
	signed := newStore(t, app, true)
	unsigned := newStore(t, app, false)
	_, cookie := app.request("POST", "/login/alice", "")
	sid, sig, _ := strings.Cut(cookie, ".")
	ctx := context.Background()
	for _, tc := range []struct {
		st     *flasksession.Store
		cookie string
	}{
		{signed, sid},
		{signed, sid + "." + strings.Repeat("A", len(sig))},
		{signed, strings.ToUpper(sid) + "." + sig},
		{signed, ""},
		{unsigned, "attacker-chosen-id"},
		{unsigned, strings.ToUpper(sid)},
		{unsigned, sid + "x"},
		{unsigned, "*"},
	} {
		if _, err := tc.st.Load(ctx, tc.cookie); !errors.Is(err, flasksession.ErrInvalidCookie) {
			t.Errorf("Load(%q) = %v, want ErrInvalidCookie", tc.cookie, err)
		}
		if _, err := tc.st.Delete(ctx, tc.cookie); !errors.Is(err, flasksession.ErrInvalidCookie) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidCookie", tc.cookie, err)
		}
	}
	if _, err := unsigned.Load(ctx, sid); err != nil {
		t.Errorf("the bare sid, unsigned mode: %v", err)
	}
}

// FuzzSessionID: the cookie parser never panics, and what it accepts is
// a UUID that, signed again, is the cookie.
func FuzzSessionID(f *testing.F) {
	st, err := flasksession.New(flasksession.Config{Client: redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), Secret: secret, UseSigner: true})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{"0f8fad5b-d9cb-469f-a165-70867728950e.nyBEuof9fzqPkk1uh8Jiab3ouVc", "", ".", "a.b.c", "0f8fad5b-d9cb-469f-a165-70867728950e"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, cookie string) {
		sid, err := st.SessionID(cookie)
		if err != nil {
			return
		}
		if len(sid) != 36 || !strings.HasPrefix(cookie, sid+".") {
			t.Fatalf("accepted %q as sid %q", cookie, sid)
		}
	})
}
