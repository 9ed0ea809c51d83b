package session_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/sessiontest"
)

// Issue 20, gap 7: development cookies take one option. WithInsecureCookie
// alone used to fail ("do not use WithInsecureCookie") because of the
// default __Host- name; WithDomain and WithPath failed the same way. The
// default name now follows the options, the switch is logged, and errors
// that involve a prefix name the fix.
func TestCookieNameFollowsOptions(t *testing.T) {
	st := memstore.New(memstore.WithCleanupInterval(0))
	defer st.Stop()
	cases := []struct {
		opts       []session.Option
		name, attr string // the cookie's name, and an attribute it must carry
		secure     bool
	}{
		{nil, "__Host-sid", "Path=/", true},
		{[]session.Option{session.WithInsecureCookie()}, "sid", "Path=/", false},
		{[]session.Option{session.WithDomain("example.com")}, "__Secure-sid", "Domain=example.com", true},
		{[]session.Option{session.WithPath("/app")}, "__Secure-sid", "Path=/app", true},
		{[]session.Option{session.WithPath("/app"), session.WithInsecureCookie()}, "sid", "Path=/app", false},
		{[]session.Option{session.WithCookieName("app"), session.WithDomain("example.com")}, "app", "Domain=example.com", true},
	}
	for _, tc := range cases {
		var logs bytes.Buffer
		opts := append([]session.Option{session.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))}, tc.opts...)
		m, err := session.New(st, opts...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if m.CookieName() != tc.name {
			t.Fatalf("cookie name %q, want %q", m.CookieName(), tc.name)
		}
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			session.FromContext(r.Context()).Set("k", 1)
		}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "http://example.com/app/", nil))
		set := w.Header().Get("Set-Cookie")
		if !strings.HasPrefix(set, tc.name+"=") || !strings.Contains(set, tc.attr) || strings.Contains(set, "Secure") != tc.secure {
			t.Fatalf("%s: Set-Cookie %q", tc.name, set)
		}
		if !tc.secure && !strings.Contains(logs.String(), "cookie="+tc.name) {
			t.Fatalf("%s: the insecure cookie is not logged with its name: %q", tc.name, logs.String())
		}
	}
	for _, tc := range []struct {
		opts []session.Option
		fix  string
	}{
		{[]session.Option{session.WithCookieName("__Host-sid"), session.WithInsecureCookie()}, `WithCookieName("sid")`},
		{[]session.Option{session.WithCookieName("__Secure-x"), session.WithInsecureCookie()}, `WithCookieName("sid")`},
		{[]session.Option{session.WithCookieName("__Host-sid"), session.WithDomain("example.com")}, `WithCookieName("__Secure-sid")`},
		{[]session.Option{session.WithCookieName("__Host-sid"), session.WithPath("/app")}, `WithCookieName("__Secure-sid")`},
	} {
		if _, err := session.New(st, tc.opts...); !errors.Is(err, session.ErrConfig) || !strings.Contains(err.Error(), tc.fix) {
			t.Fatalf("error %v does not name the fix %s", err, tc.fix)
		}
	}
}

// Local development over plain HTTP (Safari, a LAN address, a container
// name): one option. The cookie is then "sid" without Secure, and the
// manager logs a warning naming it. Never in production.
func ExampleWithInsecureCookie() {
	store := memstore.New()
	defer store.Stop()
	m, err := session.New(store, session.WithInsecureCookie(), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	fmt.Println(m.CookieName())
	// Output: sid
}

// Issue 20, gap 7: every browser drops a Secure cookie answered over plain
// HTTP to a host other than localhost (a LAN address, a container name,
// *.test), and nothing said why. The manager logs it once; HTTPS,
// localhost, loopback addresses, a TLS-terminating proxy's forwarded
// requests and WithInsecureCookie do not log.
func TestSecureCookieOverPlainHTTPLogged(t *testing.T) {
	st := memstore.New(memstore.WithCleanupInterval(0))
	defer st.Stop()
	newManager := func(opts ...session.Option) (http.Handler, *bytes.Buffer) {
		var logs bytes.Buffer
		m, err := session.New(st, append(opts, session.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))...)
		if err != nil {
			t.Fatal(err)
		}
		logs.Reset() // New's own lines
		return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			session.FromContext(r.Context()).Set("k", 1)
		})), &logs
	}
	send := func(h http.Handler, url string, header ...string) {
		r := httptest.NewRequest("GET", url, nil)
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d", url, w.Code)
		}
	}
	h, logs := newManager()
	for _, quiet := range []string{"https://myapp.test/", "http://localhost:8080/", "http://app.localhost/", "http://127.0.0.1:8080/", "http://[::1]:8080/"} {
		send(h, quiet)
	}
	send(h, "http://myapp.test/", "X-Forwarded-Proto", "https")
	send(h, "http://myapp.test/", "Forwarded", "for=192.0.2.1;proto=https")
	if logs.Len() != 0 {
		t.Fatalf("warned where the cookie works:\n%s", logs.String())
	}
	send(h, "http://192.168.1.20:8080/")
	send(h, "http://myapp.test/")
	if n := strings.Count(logs.String(), "plain HTTP"); n != 1 || !strings.Contains(logs.String(), "level=WARN") ||
		!strings.Contains(logs.String(), "WithInsecureCookie") || !strings.Contains(logs.String(), "X-Forwarded-Proto") {
		t.Fatalf("want one warning naming the fixes, got %d:\n%s", n, logs.String())
	}
	h, logs = newManager(session.WithInsecureCookie())
	send(h, "http://192.168.1.20:8080/")
	if logs.Len() != 0 {
		t.Fatalf("warned with WithInsecureCookie:\n%s", logs.String())
	}

	// Safari, and every browser on iOS, drops a Secure cookie on plain
	// HTTP even on localhost, where Chrome and Firefox keep it.
	const (
		chrome       = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
		firefox      = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0"
		safari       = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"
		chromeOniOS  = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1"
		firefoxOniOS = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15"
	)
	h, logs = newManager()
	for _, ua := range []string{chrome, firefox} {
		send(h, "http://localhost:8080/", "User-Agent", ua)
		send(h, "http://127.0.0.1:8080/", "User-Agent", ua)
	}
	if logs.Len() != 0 {
		t.Fatalf("warned on localhost for Chrome or Firefox:\n%s", logs.String())
	}
	for _, ua := range []string{safari, chromeOniOS, firefoxOniOS} {
		h, logs = newManager()
		send(h, "http://localhost:8080/", "User-Agent", ua)
		send(h, "http://[::1]:8080/", "User-Agent", ua)
		if n := strings.Count(logs.String(), "level=WARN"); n != 1 || !strings.Contains(logs.String(), "Safari") ||
			!strings.Contains(logs.String(), "WithInsecureCookie") {
			t.Fatalf("%s on localhost: want one warning naming Safari and the fix, got %d:\n%s", ua, n, logs.String())
		}
	}
	// The Safari warning does not silence the one for a host no browser
	// trusts.
	h, logs = newManager()
	send(h, "http://localhost:8080/", "User-Agent", safari)
	send(h, "http://192.168.1.20:8080/", "User-Agent", chrome)
	send(h, "http://192.168.1.21:8080/", "User-Agent", chrome)
	if n := strings.Count(logs.String(), "level=WARN"); n != 2 {
		t.Fatalf("Safari on localhost, then Chrome on a LAN address: %d warnings, want 2:\n%s", n, logs.String())
	}
}

// The plain-HTTP check runs on every request that uses its session: once
// its line is logged it allocates nothing (it allocated twice per request
// for a host that is not loopback, +2 of the read-only request's 7
// allocations, until the cheaper check).
func TestPlainHTTPCheckAllocatesNothingOnceWarned(t *testing.T) {
	st := memstore.New(memstore.WithCleanupInterval(0))
	t.Cleanup(st.Stop)
	m, err := session.New(st, session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session.GetOr(session.FromContext(r.Context()), "name", "")
	}))
	token := sessiontest.LoginToken(t, m, "alice", map[string]any{"name": "Ada"})
	allocs := func(target string, tls bool) float64 {
		r := httptest.NewRequest("GET", target, nil)
		if !tls {
			r.TLS = nil
		}
		r.AddCookie(&http.Cookie{Name: m.CookieName(), Value: token})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r) // the warning, if any, is logged here
		return testing.AllocsPerRun(200, func() {
			clear(w.Header())
			h.ServeHTTP(w, r)
		})
	}
	overTLS := allocs("https://example.com/", true)
	for _, target := range []string{"http://example.com/", "http://10.0.0.5:8080/", "http://localhost:8080/", "http://[::1]:8080/"} {
		if got := allocs(target, false); got != overTLS {
			t.Errorf("a request to %s over plain HTTP: %v allocations, over TLS %v", target, got, overTLS)
		}
	}
}
