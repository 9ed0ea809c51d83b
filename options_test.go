package session_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

func TestNewRejectsInvalidCombinations(t *testing.T) {
	st := memstore.New(memstore.WithCleanupInterval(0))
	defer st.Stop()
	cases := []struct {
		name string
		opts []session.Option
	}{
		{"__Host- with Domain", []session.Option{session.WithCookieName("__Host-sid"), session.WithDomain("example.com")}},
		{"__Host- with non-root Path", []session.Option{session.WithCookieName("__Host-sid"), session.WithPath("/app")}},
		{"__Host- insecure", []session.Option{session.WithCookieName("__Host-sid"), session.WithInsecureCookie()}},
		{"__Secure- insecure", []session.Option{session.WithCookieName("__Secure-sid"), session.WithInsecureCookie()}},
		{"SameSite=None insecure", []session.Option{session.WithCookieName("sid"), session.WithInsecureCookie(), session.WithSameSite(http.SameSiteNoneMode)}},
		{"Partitioned insecure", []session.Option{session.WithCookieName("sid"), session.WithInsecureCookie(), session.WithPartitioned()}},
		{"SameSite default mode", []session.Option{session.WithSameSite(http.SameSiteDefaultMode)}},
		{"empty name", []session.Option{session.WithCookieName("")}},
		{"name with ;", []session.Option{session.WithCookieName("a;b")}},
		{"name with space", []session.Option{session.WithCookieName("a b")}},
		{"name with =", []session.Option{session.WithCookieName("a=b")}},
		{"name non-ASCII", []session.Option{session.WithCookieName("sïd")}},
		{"path with ;", []session.Option{session.WithCookieName("sid"), session.WithPath("/a;Domain=evil")}},
		{"relative path", []session.Option{session.WithCookieName("sid"), session.WithPath("app")}},
		{"path with newline", []session.Option{session.WithCookieName("sid"), session.WithPath("/a\nb")}},
		{"domain with ;", []session.Option{session.WithCookieName("sid"), session.WithDomain("a.com;x")}},
		{"domain empty label", []session.Option{session.WithCookieName("sid"), session.WithDomain("a..com")}},
		{"zero idle", []session.Option{session.WithIdleTimeout(0)}},
		{"negative absolute", []session.Option{session.WithAbsoluteTimeout(-time.Second)}},
		{"touch fraction 0", []session.Option{session.WithTouchFraction(0)}},
		{"touch fraction > 1", []session.Option{session.WithTouchFraction(1.5)}},
		{"zero max size", []session.Option{session.WithMaxSize(0)}},
		{"nil codec", []session.Option{session.WithCodec(nil)}},
		{"short log key", []session.Option{session.WithLogHashKey([]byte("short"))}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := session.New(st, tc.opts...)
			if !errors.Is(err, session.ErrConfig) {
				t.Fatalf("New = %v, %v; want an ErrConfig error", m, err)
			}
		})
	}
	if _, err := session.New(nil); !errors.Is(err, session.ErrConfig) {
		t.Fatalf("New(nil) = %v", err)
	}
	valid := [][]session.Option{
		nil,
		{session.WithCookieName("__Secure-sid"), session.WithDomain("example.com"), session.WithPath("/app")},
		{session.WithCookieName("sid"), session.WithInsecureCookie()},
		{session.WithSameSite(http.SameSiteNoneMode), session.WithPartitioned()},
		{session.WithSameSite(http.SameSiteStrictMode)},
	}
	for i, opts := range valid {
		if _, err := session.New(st, opts...); err != nil {
			t.Errorf("valid option set %d rejected: %v", i, err)
		}
	}
}

func parseSetCookie(t *testing.T, line string) map[string]string {
	t.Helper()
	attrs := map[string]string{}
	for i, part := range strings.Split(line, ";") {
		part = strings.TrimSpace(part)
		k, v, _ := strings.Cut(part, "=")
		if i == 0 {
			attrs["name"], attrs["value"] = k, v
			continue
		}
		attrs[strings.ToLower(k)] = v
	}
	return attrs
}

func TestDefaultCookieAttributes(t *testing.T) {
	e := newEnv(t)
	w := e.do("/set?k=a&v=1", "")
	lines := w.Header()["Set-Cookie"]
	if len(lines) != 1 {
		t.Fatalf("Set-Cookie lines: %q", lines)
	}
	a := parseSetCookie(t, lines[0])
	if a["name"] != "__Host-sid" || len(a["value"]) != 43 {
		t.Fatalf("cookie %q", lines[0])
	}
	for _, flag := range []string{"httponly", "secure"} {
		if _, ok := a[flag]; !ok {
			t.Errorf("missing %s in %q", flag, lines[0])
		}
	}
	if a["path"] != "/" || a["samesite"] != "Lax" {
		t.Errorf("path/samesite wrong in %q", lines[0])
	}
	if _, ok := a["domain"]; ok {
		t.Errorf("Domain set by default: %q", lines[0])
	}
	// Max-Age follows the idle timeout (30 minutes).
	if a["max-age"] != "1800" {
		t.Errorf("Max-Age = %q, want 1800", a["max-age"])
	}
	// Plain HTTP request (no TLS): Secure is still set, never inferred.
	if w.Result().Cookies()[0].Secure != true {
		t.Error("Secure not set on a plain-HTTP request")
	}
}

func TestDeletionCookieRepeatsAttributes(t *testing.T) {
	e := newEnv(t, session.WithCookieName("__Secure-app"), session.WithDomain("example.com"), session.WithPath("/app"),
		session.WithSameSite(http.SameSiteStrictMode), session.WithPartitioned())
	h := e.h
	do := func(path, tok string) *http.Response {
		r, _ := http.NewRequest("GET", "http://example.com"+path, nil)
		if tok != "" {
			r.AddCookie(&http.Cookie{Name: "__Secure-app", Value: tok})
		}
		w := newRecorder()
		h.ServeHTTP(w, r)
		return w.Result()
	}
	res := do("/set?k=a&v=1", "")
	set := parseSetCookie(t, res.Header.Get("Set-Cookie"))
	res = do("/logout", set["value"])
	del := parseSetCookie(t, res.Header.Get("Set-Cookie"))
	if del["name"] != "__Secure-app" || del["value"] != "" || del["max-age"] != "0" || !strings.Contains(del["expires"], "1970") {
		t.Fatalf("deletion cookie %q", res.Header.Get("Set-Cookie"))
	}
	for _, k := range []string{"path", "domain", "samesite", "secure", "httponly", "partitioned"} {
		if set[k] != del[k] {
			t.Errorf("%s: set %q, deleted with %q", k, set[k], del[k])
		}
		if _, ok := del[k]; !ok {
			t.Errorf("deletion cookie lacks %s", k)
		}
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("deletion response Cache-Control = %q", res.Header.Get("Cache-Control"))
	}
}

func TestInsecureCookieWarns(t *testing.T) {
	e := newEnv(t, session.WithCookieName("dev"), session.WithInsecureCookie())
	if !strings.Contains(e.logs.String(), "without the Secure attribute") {
		t.Fatalf("no warning logged: %s", e.logs.String())
	}
	r, _ := http.NewRequest("GET", "http://localhost/set?k=a&v=1", nil)
	w := newRecorder()
	e.h.ServeHTTP(w, r)
	if strings.Contains(strings.ToLower(w.Header().Get("Set-Cookie")), "secure") {
		t.Fatalf("insecure cookie has Secure: %q", w.Header().Get("Set-Cookie"))
	}
}
