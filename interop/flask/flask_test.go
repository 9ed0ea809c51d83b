package flask_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/pyproc"
	"github.com/sessionkit/session/interop/flask"
)

const secret = "flask-interop-fixture-secret"

func newManager(t *testing.T, st *flask.Store) *session.Manager {
	t.Helper()
	m, err := session.NewClientSide(st, session.WithCookieName("session"), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func goApp(t *testing.T, m *session.Manager) http.Handler {
	return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		switch r.URL.Path {
		case "/read-and-write":
			uid, _ := s.UserID()
			pair, _, err := session.Get[map[string][]any](s, "pair")
			if err != nil {
				t.Error(err)
			}
			if err := s.Set("from_go", "Zoë ☃ 😀"); err != nil {
				t.Error(err)
			}
			first := ""
			if len(pair[" t"]) > 0 {
				first, _ = pair[" t"][0].(string)
			}
			io.WriteString(w, uid+" "+first)
		case "/login":
			if err := m.Login(r.Context(), "42"); err != nil {
				t.Error(err)
			}
		case "/logout":
			if err := m.Destroy(r.Context()); err != nil {
				t.Error(err)
			}
		}
	}))
}

// A real Flask (Debian's python3-flask 2.2) and the Go side share one
// session cookie both ways, typed values and logins included.
func TestFlaskRoundTrip(t *testing.T) {
	py := pyproc.Start(t, "../testdata/pyside.py", "flask", secret)
	st, err := flask.New(flask.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	h := goApp(t, newManager(t, st))

	// Flask logs user 7 in and stores every typed value; Go reads the
	// login and the tuple, and writes a key.
	c := py.Call(map[string]any{"method": "POST", "path": "/login/7"})["cookie"].(string)
	c = py.Call(map[string]any{"method": "POST", "path": "/set-typed", "cookie": c})["cookie"].(string)
	goCookie, _, body := pyproc.Serve(t, h, "session", "/read-and-write", c)
	if body != "7 a" || goCookie == "" {
		t.Fatalf("Go read %q, wrote cookie %q", body, goCookie)
	}
	// Flask reads Go's cookie: Go's value, and every typed value still of its type.
	got := py.Call(map[string]any{"method": "GET", "path": "/get", "cookie": goCookie})["body"].(map[string]any)
	want := map[string]string{"from_go": "str", "pair": "tuple", "when": "datetime", "raw": "bytes", "uid": "UUID", "markup": "Markup", "onekey": "dict", "_user_id": "str", "_permanent": "bool"}
	for k, typ := range want {
		v, ok := got[k].([]any)
		if !ok || v[0] != typ {
			t.Errorf("Flask reads %s as %v, want a %s", k, got[k], typ)
		}
	}
	if v := got["from_go"].([]any)[1]; v != "Zoë ☃ 😀" {
		t.Errorf("Flask reads from_go as %q", v)
	}

	// A Go login is a Flask-Login login (_user_id); a Go logout deletes the cookie.
	goCookie, _, _ = pyproc.Serve(t, h, "session", "/login", "")
	got = py.Call(map[string]any{"method": "GET", "path": "/get", "cookie": goCookie})["body"].(map[string]any)
	if u, _ := got["_user_id"].([]any); len(u) != 2 || u[1] != "42" {
		t.Fatalf("Flask sees the Go login as %v", got)
	}
	if _, deleted, _ := pyproc.Serve(t, h, "session", "/logout", goCookie); !deleted {
		t.Fatal("Go logout did not delete the cookie")
	}
	// A Flask logout deletes it too.
	if res := py.Call(map[string]any{"method": "POST", "path": "/logout", "cookie": goCookie}); res["deleted"] != true {
		t.Fatalf("Flask logout: %v", res)
	}
}

// SPEC 2.3 pitfall: itsdangerous refuses a timestamp in its future, so a
// Go host whose clock runs ahead would write cookies Flask silently drops.
// Signatures are dated back by Skew (5 s by default); without it Flask
// drops the session.
func TestFlaskClockAhead(t *testing.T) {
	py := pyproc.Start(t, "../testdata/pyside.py", "flask", secret)
	ahead := func() time.Time { return time.Now().Add(3 * time.Second) }
	for _, c := range []struct {
		skew time.Duration
		kept bool
	}{{0, true}, {time.Nanosecond, false}} {
		st, err := flask.New(flask.Config{Secret: secret, Skew: c.skew})
		if err != nil {
			t.Fatal(err)
		}
		st.Now = ahead
		cookie, _, _ := pyproc.Serve(t, goApp(t, newManager(t, st)), "session", "/login", "")
		got := py.Call(map[string]any{"method": "GET", "path": "/get", "cookie": cookie})["body"].(map[string]any)
		if _, kept := got["_user_id"]; kept != c.kept {
			t.Errorf("skew %v, Go clock 3 s ahead: Flask kept the session: %v", c.skew, kept)
		}
	}
}

// SPEC 4.2 worked example: the cookie Flask wrote opens in Go, and Go
// writes the same bytes for the same session and time.
func TestFlaskWorkedExample(t *testing.T) {
	const cookie = "eyJfcGVybWFuZW50Ijp0cnVlLCJwYWlyIjp7IiB0IjpbImEiLDFdfSwidXNlcl9pZCI6N30.aVW5AA.kg95rDXz3O9NQpayqXEhiNf57dg"
	at := time.Unix(1767225600, 0)
	st, err := flask.New(flask.Config{Secret: secret, UserKey: "uid", Skew: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	_, rec, _, err := st.Open(context.Background(), "session", cookie, at)
	if err != nil {
		t.Fatal(err)
	}
	if string(rec.Values["pair"]) != `{" t":["a",1]}` || string(rec.Values["user_id"]) != "7" || string(rec.Values["_permanent"]) != "true" {
		t.Fatalf("values %q", rec.Values)
	}
	st.Now = func() time.Time { return at.Add(time.Nanosecond) }
	again, err := st.Seal(context.Background(), "session", session.Digest{}, rec)
	if err != nil || again != cookie {
		t.Fatalf("sealed %q, %v", again, err)
	}
	// Future-dated and expired cookies are refused, as Flask refuses them.
	for _, now := range []time.Time{at.Add(-time.Second), at.Add(31*24*time.Hour + time.Second)} {
		if _, _, _, err := st.Open(context.Background(), "session", cookie, now); !errors.Is(err, session.ErrInvalidCookie) {
			t.Errorf("opened at %v: %v", now, err)
		}
	}
}

// A compressed cookie that inflates beyond MaxPayload is refused.
func TestFlaskDecompressionBomb(t *testing.T) {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write([]byte(`{"a":"`))
	w.Write(bytes.Repeat([]byte("A"), 10<<20))
	w.Write([]byte(`"}`))
	w.Close()
	st, _ := flask.New(flask.Config{Secret: secret})
	now := time.Now()
	value := "." + base64.RawURLEncoding.EncodeToString(b.Bytes()) + "." + base64.RawURLEncoding.EncodeToString(beUnix(now))
	if _, _, _, err := st.Open(context.Background(), "session", signFlask(value), now); !errors.Is(err, session.ErrInvalidCookie) || !errors.Is(err, flask.ErrTooLarge) {
		t.Fatalf("bomb: %v", err)
	}
}

// SPEC 7.2: the signature is checked before anything is decoded, so a
// compressed payload that does not verify is never inflated: 64 MiB of
// zlib in a cookie with no, a wrong or another secret's signature is
// refused having allocated under 1 MiB, even with the inflation limit
// (MaxPayload, which alone would stop a bomb at 64 KiB) raised out of
// the way: inflating before verifying would allocate the whole payload.
func TestFlaskUnsignedBombNotInflated(t *testing.T) {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write(bytes.Repeat([]byte(" "), 64<<20))
	w.Close()
	st, err := flask.New(flask.Config{Secret: secret, MaxPayload: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	value := "." + base64.RawURLEncoding.EncodeToString(b.Bytes()) + "." + base64.RawURLEncoding.EncodeToString(beUnix(now))
	good := signFlask(value)
	other := hmac.New(sha1.New, []byte("another secret"))
	other.Write([]byte(value))
	for name, cookie := range map[string]string{
		"unsigned":      value,
		"bad signature": good[:len(good)-4] + "AAAA",
		"other secret":  value + "." + base64.RawURLEncoding.EncodeToString(other.Sum(nil)),
		"empty":         value + ".",
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, _, err := st.Open(context.Background(), "session", cookie, now)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, session.ErrInvalidCookie) {
			t.Fatalf("%s: %v, want ErrInvalidCookie", name, err)
		}
		if grown := after.TotalAlloc - before.TotalAlloc; grown > 1<<20 {
			t.Fatalf("%s: refusing it allocated %d bytes: the payload was inflated", name, grown)
		}
	}
}

func beUnix(t time.Time) []byte {
	n := t.Unix()
	return []byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
}

// signFlask signs as Flask does, independently of the package's signer.
func signFlask(value string) string {
	k := hmac.New(sha1.New, []byte(secret))
	k.Write([]byte("cookie-session"))
	m := hmac.New(sha1.New, k.Sum(nil))
	m.Write([]byte(value))
	return value + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// FuzzOpen opens fuzzed cookies; with sign, the fuzzed text is signed
// first, so that mutated payloads pass the HMAC and reach the base64,
// zlib and JSON decoders behind it.
func FuzzOpen(f *testing.F) {
	st, _ := flask.New(flask.Config{Secret: secret})
	f.Add("eyJfcGVybWFuZW50Ijp0cnVlLCJwYWlyIjp7IiB0IjpbImEiLDFdfSwidXNlcl9pZCI6N30.aVW5AA.kg95rDXz3O9NQpayqXEhiNf57dg", false)
	f.Add(".eJyrVkrMVrJSSsxRqgUAEm0DcQ.aVW5AA", true)
	f.Add("e30.aVW5AA", true)
	f.Add(".eJzzSM3JyVcozy/KSQEAGgQEXQ.aVW5AA", true)
	f.Fuzz(func(t *testing.T, v string, sign bool) {
		if sign {
			v = signFlask(v)
		}
		_, rec, _, err := st.Open(context.Background(), "session", v, time.Unix(1767225600, 0))
		if err == nil && rec == nil {
			t.Fatal("no record and no error")
		}
	})
}
