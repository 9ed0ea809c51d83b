package starlette_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/pyproc"
	"github.com/sessionkit/session/interop/starlette"
)

const secret = "starlette-interop-fixture-secret"

func goApp(t *testing.T, m *session.Manager) http.Handler {
	return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		switch r.URL.Path {
		case "/read-and-write":
			uid, _ := s.UserID()
			name, _, err := session.Get[string](s, "name")
			if err != nil {
				t.Error(err)
			}
			// JSON whose standard base64 holds "+" and "/", which a
			// URL-safe writer would turn into "-" and "_".
			if err := s.Set("from_go", "~~~???>>> Zoë"); err != nil {
				t.Error(err)
			}
			io.WriteString(w, uid+" "+name)
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

// A real Starlette (Debian's python3-starlette 0.26) and a real FastAPI
// (python3-fastapi 0.92, on Starlette's session middleware) share one
// session cookie with the Go side, both ways.
func TestStarletteRoundTrip(t *testing.T) {
	for _, framework := range []string{"starlette", "fastapi"} {
		t.Run(framework, func(t *testing.T) { roundTrip(t, framework) })
	}
}

func roundTrip(t *testing.T, framework string) {
	py := pyproc.Start(t, "../testdata/pyside.py", framework, secret)
	st, err := starlette.New(starlette.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.NewClientSide(st, session.WithCookieName("session"), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	h := goApp(t, m)
	c := py.Call(map[string]any{"method": "POST", "path": "/login/7"})["cookie"].(string)
	c = py.Call(map[string]any{"method": "POST", "path": "/set", "cookie": c, "json": map[string]any{"name": "Zoë ☃"}})["cookie"].(string)
	goCookie, _, body := pyproc.Serve(t, h, "session", "/read-and-write", c)
	if body != "7 Zoë ☃" || goCookie == "" {
		t.Fatalf("Go read %q, wrote %q", body, goCookie)
	}
	payload := goCookie[:strings.IndexByte(goCookie, '.')]
	if !strings.ContainsAny(payload, "+/") {
		t.Fatalf("test data should make standard base64 use + or /: %s", payload)
	}
	res := py.Call(map[string]any{"method": "GET", "path": "/get", "cookie": goCookie})
	got, _ := res["body"].(map[string]any)
	if res["status"] != float64(200) || got == nil || got["from_go"].([]any)[1] != "~~~???>>> Zoë" || got["_user_id"].([]any)[1] != "7" {
		t.Fatalf("Starlette reads %v", res)
	}
	goCookie, _, _ = pyproc.Serve(t, h, "session", "/login", "")
	got = py.Call(map[string]any{"method": "GET", "path": "/get", "cookie": goCookie})["body"].(map[string]any)
	if got["_user_id"].([]any)[1] != "42" {
		t.Fatalf("Starlette sees the Go login as %v", got)
	}
	if _, deleted, _ := pyproc.Serve(t, h, "session", "/logout", goCookie); !deleted {
		t.Fatal("Go logout did not delete the cookie")
	}
	if res := py.Call(map[string]any{"method": "POST", "path": "/logout", "cookie": goCookie}); res["deleted"] != true {
		t.Fatalf("Starlette logout: %v", res)
	}
}

// SPEC 6 pitfall: a correctly signed cookie whose payload is URL-safe
// base64 makes Starlette fail with a 500 on every request; the store
// writes padded standard base64, which it reads.
func TestStarletteStandardBase64(t *testing.T) {
	py := pyproc.Start(t, "../testdata/pyside.py", "starlette", secret)
	data := []byte(`{"from_go": "~~~???>>>"}`)
	now := time.Now().Add(-time.Second)
	for _, c := range []struct {
		enc    *base64.Encoding
		status float64
	}{{base64.StdEncoding, 200}, {base64.URLEncoding, 500}} {
		res := py.Call(map[string]any{"method": "GET", "path": "/get", "cookie": signStarlette(c.enc.EncodeToString(data), now)})
		if res["status"] != c.status {
			t.Errorf("payload in %v: status %v", c.enc == base64.StdEncoding, res["status"])
		}
	}
	// The Go store writes the standard alphabet ("+" and "/" in this
	// payload's encoding), which Starlette reads.
	st, _ := starlette.New(starlette.Config{Secret: secret})
	rec := &session.Record{Values: map[string][]byte{"from_go": []byte(`"~~~???>>>"`)}}
	out, err := st.Seal(context.Background(), "session", session.Digest{}, rec)
	if err != nil {
		t.Fatal(err)
	}
	if payload := out[:strings.IndexByte(out, '.')]; !strings.ContainsAny(payload, "+/") || strings.ContainsAny(payload, "-_") {
		t.Fatalf("the Go store's payload %q is not in the standard alphabet", payload)
	}
	res := py.Call(map[string]any{"method": "GET", "path": "/get", "cookie": out})
	if res["status"] != float64(200) || !strings.Contains(fmt.Sprint(res), "~~~???>>>") {
		t.Fatalf("Starlette on the Go store's cookie: %v", res)
	}
}

// signStarlette signs as itsdangerous' TimestampSigner does for Starlette,
// independently of the package's signer.
func signStarlette(payload string, at time.Time) string {
	n := at.Unix()
	value := payload + "." + base64.RawURLEncoding.EncodeToString([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	k := sha1.Sum([]byte("itsdangerous.Signer" + "signer" + secret))
	m := hmac.New(sha1.New, k[:])
	m.Write([]byte(value))
	return value + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// SPEC 6 worked example: the cookie Starlette wrote opens in Go.
func TestStarletteWorkedExample(t *testing.T) {
	const cookie = "eyJ1c2VyIjogNywgIm5hbWUiOiAiWm9cdTAwZWIifQ==.aVW5AA.j0TYkWVjX799FXX-BNZ3zS4WgBY"
	st, _ := starlette.New(starlette.Config{Secret: secret})
	_, rec, _, err := st.Open(context.Background(), "session", cookie, time.Unix(1767225600, 0))
	if err != nil {
		t.Fatal(err)
	}
	if string(rec.Values["user"]) != "7" || string(rec.Values["name"]) != `"Zo\u00eb"` {
		t.Fatalf("values %q", rec.Values)
	}
}

// FuzzOpen opens fuzzed cookies; with sign, the fuzzed text is a payload
// signed first, so that mutated payloads pass the HMAC and reach the
// base64 and JSON decoders behind it.
func FuzzOpen(f *testing.F) {
	st, _ := starlette.New(starlette.Config{Secret: secret})
	f.Add("eyJ1c2VyIjogNywgIm5hbWUiOiAiWm9cdTAwZWIifQ==.aVW5AA.j0TYkWVjX799FXX-BNZ3zS4WgBY", false)
	f.Add("e30=", true)
	f.Add("eyJ1c2VyIjogNywgIm5hbWUiOiAiWm9cdTAwZWIifQ==", true)
	f.Fuzz(func(t *testing.T, v string, sign bool) {
		if sign {
			v = signStarlette(v, time.Unix(1767225600, 0))
		}
		_, rec, _, err := st.Open(context.Background(), "session", v, time.Unix(1767225600, 0))
		if err == nil && rec == nil {
			t.Fatal("no record and no error")
		}
	})
}

// An integer user id stays an integer when Go writes the session back.
func TestUserIDKeepsItsType(t *testing.T) {
	st, _ := starlette.New(starlette.Config{Secret: secret})
	now := time.Now().Add(-time.Second)
	cookie := signStarlette(base64.StdEncoding.EncodeToString([]byte(`{"_user_id": 7, "a": 1}`)), now)
	_, rec, _, err := st.Open(context.Background(), "session", cookie, time.Now())
	if err != nil || rec.UserID != "7" {
		t.Fatalf("%v %v", rec, err)
	}
	rec.Values["b"] = []byte("2")
	out, err := st.Seal(context.Background(), "session", session.Digest{}, rec)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := base64.StdEncoding.DecodeString(out[:strings.IndexByte(out, '.')])
	if !strings.Contains(string(data), `"_user_id": 7`) {
		t.Fatalf("written back as %s", data)
	}
}

// SPEC 7.2 pitfall: itsdangerous refuses a signature dated in its future
// ("age < 0"), so a Go clock ahead of Starlette's would log every Go
// login out there; Config.Skew dates Go's signatures back (5 s by
// default). With the Go clock 3 s ahead, Starlette keeps a Go login with
// the default skew and drops it with none.
func TestStarletteClockAhead(t *testing.T) {
	py := pyproc.Start(t, "../testdata/pyside.py", "starlette", secret)
	ahead := func() time.Time { return time.Now().Add(3 * time.Second) }
	for _, c := range []struct {
		skew time.Duration
		kept bool
	}{{0, true}, {time.Nanosecond, false}} {
		st, err := starlette.New(starlette.Config{Secret: secret, Skew: c.skew})
		if err != nil {
			t.Fatal(err)
		}
		st.Now = ahead
		m, err := session.NewClientSide(st, session.WithCookieName("session"), session.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		cookie, _, _ := pyproc.Serve(t, goApp(t, m), "session", "/login", "")
		res := py.Call(map[string]any{"method": "GET", "path": "/get", "cookie": cookie})
		got, _ := res["body"].(map[string]any)
		if res["status"] != float64(200) || got == nil {
			t.Fatalf("skew %v: Starlette answered %v", c.skew, res)
		}
		if _, kept := got["_user_id"]; kept != c.kept {
			t.Errorf("skew %v, Go clock 3 s ahead: Starlette kept the session: %v", c.skew, kept)
		}
	}
}

// SPEC 6 worked example, the other way: Go seals the session it opened
// from Starlette's cookie into the bytes Starlette writes for it (its
// json.dumps spacing and \u escapes, padded standard base64, the
// timestamp and signature), but for the order of the keys: Starlette
// keeps the dictionary's insertion order, which a session's values do not
// carry, and Go writes them sorted (each side reads either order).
func TestStarletteWritesTheWorkedExample(t *testing.T) {
	const cookie = "eyJ1c2VyIjogNywgIm5hbWUiOiAiWm9cdTAwZWIifQ==.aVW5AA.j0TYkWVjX799FXX-BNZ3zS4WgBY"
	at := time.Unix(1767225600, 0)
	st, err := starlette.New(starlette.Config{Secret: secret, Skew: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	_, rec, _, err := st.Open(context.Background(), "session", cookie, at)
	if err != nil {
		t.Fatal(err)
	}
	st.Now = func() time.Time { return at.Add(time.Nanosecond) }
	again, err := st.Seal(context.Background(), "session", session.Digest{}, rec)
	if err != nil {
		t.Fatal(err)
	}
	// The test's signer, checked against the cookie Starlette wrote:
	if got := signStarlette(strings.Split(cookie, ".")[0], at); got != cookie {
		t.Fatalf("signStarlette gives %q, Starlette wrote %q", got, cookie)
	}
	// Starlette's payload, {"user": 7, "name": "Zo\u00eb"}, with its keys
	// in sorted order.
	want := signStarlette(base64.StdEncoding.EncodeToString([]byte(`{"name": "Zo\u00eb", "user": 7}`)), at)
	if again != want {
		t.Fatalf("sealed %q, want %q", again, want)
	}
	if strings.Split(again, ".")[1] != strings.Split(cookie, ".")[1] {
		t.Fatalf("timestamp %q, Starlette's %q", strings.Split(again, ".")[1], strings.Split(cookie, ".")[1])
	}
}
