package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/storeurl"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// testServer runs the app over TLS (so a standard cookie jar keeps the
// Secure cookie) on a fresh SQLite file, with a controllable clock.
func testServer(t *testing.T, opts ...session.Option) (*httptest.Server, *clock) {
	t.Helper()
	srv, clk, _ := testServerManager(t, opts...)
	return srv, clk
}

// testServerManager is testServer that also returns the app's manager, for
// logging browsers in with sessiontest.LoginCookie.
func testServerManager(t *testing.T, opts ...session.Option) (*httptest.Server, *clock, *session.Manager) {
	t.Helper()
	st, err := storeurl.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Now()}
	logger := slog.New(slog.DiscardHandler)
	anon, err := anonymousStore("") // as the demo runs: anonymous sessions in the cookie
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(st, append([]session.Option{session.WithClock(clk.Now), session.WithLogger(logger), session.WithAnonymousInCookie(anon),
		session.WithMaxLifetime(rememberFor)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	users, err := ParseUsers("alice:wonderland,bob:builder", 4)
	if err != nil {
		t.Fatal(err)
	}
	app, err := NewApp(m, users, logger)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(app.Handler())
	t.Cleanup(srv.Close)
	return srv, clk, m
}

// loginAs logs the browser in as user without the login form: the
// session is made by the manager itself (sessiontest.LoginCookie, issue
// 21), as a test of an application would.
func (b *browser) loginAs(m *session.Manager, user string) {
	b.t.Helper()
	u, err := url.Parse(b.srv.URL)
	if err != nil {
		b.t.Fatal(err)
	}
	b.c.Jar.SetCookies(u, []*http.Cookie{sessiontest.LoginCookie(b.t, m, user, nil)})
}

// browser is a client with its own cookie jar that does not follow
// redirects, so tests see them.
type browser struct {
	t   *testing.T
	srv *httptest.Server
	c   *http.Client
}

func newBrowser(t *testing.T, srv *httptest.Server) *browser {
	jar, _ := cookiejar.New(nil)
	c := new(http.Client)
	*c = *srv.Client() // a copy: srv.Client() returns one shared client
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: t, srv: srv, c: c}
}

type response struct {
	code   int
	body   string
	header http.Header
}

func (b *browser) do(method, path string, form url.Values, headers ...string) response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, string(data), res.Header}
}

func (b *browser) get(path string) response { return b.do("GET", path, nil) }

func (b *browser) post(path string, kv ...string) response {
	form := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	return b.do("POST", path, form)
}

func (b *browser) login(user, pass string) response {
	return b.post("/login", "username", user, "password", pass)
}

func (b *browser) token() string {
	u, _ := url.Parse(b.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == session.DefaultCookieName {
			return c.Value
		}
	}
	return ""
}

func TestLoginPagesAndLogout(t *testing.T) {
	srv, _ := testServer(t)
	b := newBrowser(t, srv)
	if r := b.get("/login"); r.code != 200 || !strings.Contains(r.body, `name="username"`) || !strings.Contains(r.body, `name="password"`) {
		t.Fatalf("GET /login: %d", r.code)
	}
	if r := b.get("/dashboard"); r.code != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("anonymous dashboard: %d %s", r.code, r.header.Get("Location"))
	}
	if r := b.get("/sessions"); r.code != http.StatusSeeOther {
		t.Fatalf("anonymous sessions page: %d", r.code)
	}
	for _, bad := range [][2]string{{"alice", "wrong"}, {"mallory", "wonderland"}, {"", ""}, {"alice", ""}} {
		r := b.login(bad[0], bad[1])
		if r.code != http.StatusUnauthorized || !strings.Contains(r.body, "Wrong user name or password") || !strings.Contains(r.body, `name="password"`) {
			t.Fatalf("login %v: %d", bad, r.code)
		}
	}
	if b.token() != "" {
		t.Fatal("a failed login created a session")
	}
	// An anonymous session (a preference) exists before login...
	if r := b.post("/api/prefs", "key", "theme", "value", "dark"); r.code != 200 {
		t.Fatalf("anonymous pref: %d %s", r.code, r.body)
	}
	anon := b.token()
	if anon == "" {
		t.Fatal("setting a preference created no session")
	}
	r := b.login("alice", "wonderland")
	if r.code != http.StatusSeeOther || r.header.Get("Location") != "/dashboard" {
		t.Fatalf("login: %d %s", r.code, r.body)
	}
	// ...and login renews the token but keeps the data.
	if tok := b.token(); tok == "" || tok == anon {
		t.Fatal("login did not renew the session token")
	}
	r = b.get("/dashboard")
	if r.code != 200 || !strings.Contains(r.body, `<span id="user">alice</span>`) || !strings.Contains(r.body, "dark") {
		t.Fatalf("dashboard: %d", r.code)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Fatal("dashboard is cacheable")
	}
	if r := b.get("/login"); r.code != http.StatusSeeOther {
		t.Fatal("login page for a logged-in user does not go to the dashboard")
	}
	// The old anonymous token is dead.
	thief := newBrowser(t, srv)
	thief.setToken(anon)
	if r := thief.get("/api/me"); r.code != http.StatusUnauthorized {
		t.Fatal("pre-login token still works (fixation)")
	}
	loggedIn := b.token()
	r = b.post("/logout")
	if r.code != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("logout: %d", r.code)
	}
	if b.token() != "" {
		t.Fatal("logout did not clear the cookie")
	}
	// Replaying the cookie after logout gets nothing.
	thief.setToken(loggedIn)
	if r := thief.get("/api/me"); r.code != http.StatusUnauthorized {
		t.Fatalf("replayed cookie after logout: %d %s", r.code, r.body)
	}
	if r := thief.get("/dashboard"); r.code != http.StatusSeeOther {
		t.Fatal("replayed cookie reaches the dashboard")
	}
}

func (b *browser) setToken(tok string) {
	u, _ := url.Parse(b.srv.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: session.DefaultCookieName, Value: tok, Path: "/", Secure: true}})
}

func TestAPI(t *testing.T) {
	srv, _, m := testServerManager(t)
	a := newBrowser(t, srv)
	if r := a.get("/api/me"); r.code != 401 || !strings.Contains(r.body, `"error"`) || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("anonymous /api/me: %d %s", r.code, r.body)
	}
	for _, path := range []string{"/api/sessions"} {
		if r := a.get(path); r.code != 401 {
			t.Fatalf("anonymous %s: %d", path, r.code)
		}
	}
	for _, path := range []string{"/api/sessions/revoke", "/api/sessions/revoke-others"} {
		if r := a.post(path, "id", "x"); r.code != 401 {
			t.Fatalf("anonymous %s: %d", path, r.code)
		}
	}
	if r := a.get("/api/prefs"); r.code != 200 || strings.TrimSpace(r.body) != "{}" {
		t.Fatalf("anonymous prefs: %d %s", r.code, r.body)
	}
	if a.token() != "" {
		t.Fatal("reading prefs created a session")
	}
	if r := a.post("/api/prefs", "key", "", "value", "x"); r.code != 400 {
		t.Fatalf("empty key: %d", r.code)
	}
	if r := a.post("/api/prefs", "key", "k", "value", strings.Repeat("v", 2000)); r.code != 400 {
		t.Fatalf("long value: %d", r.code)
	}
	a.post("/api/prefs", "key", "lang", "value", "fr")
	a.post("/api/prefs", "key", "theme", "value", "dark")
	// An anonymous session lives in its cookie (4096 bytes at most): the
	// preference that would overflow it is refused with a 413 that says
	// so (it was a bare 500), and the earlier ones stay.
	refused := false
	for i := range 5 {
		r := a.post("/api/prefs", "key", fmt.Sprintf("big%d", i), "value", strings.Repeat("v", 1000))
		if r.code == http.StatusRequestEntityTooLarge && strings.Contains(r.body, "too large") {
			refused = true
			break
		}
		if r.code != 200 {
			t.Fatalf("anonymous preference %d: %d %q", i, r.code, r.body)
		}
	}
	if !refused {
		t.Fatal("5 KB of anonymous preferences were accepted in a 4 KB cookie")
	}
	a.login("alice", "wonderland")
	var prefs map[string]string
	if r := a.get("/api/prefs"); json.Unmarshal([]byte(r.body), &prefs) != nil || prefs["lang"] != "fr" || prefs["theme"] != "dark" {
		t.Fatalf("prefs after login: %s", r.body)
	}
	var me map[string]string
	if r := a.get("/api/me"); r.code != 200 || json.Unmarshal([]byte(r.body), &me) != nil || me["user"] != "alice" {
		t.Fatalf("/api/me: %d %s", r.code, r.body)
	}
	// The other devices are logged in without the form (issue 21).
	b := newBrowser(t, srv)
	b.loginAs(m, "alice")
	c := newBrowser(t, srv)
	c.loginAs(m, "alice")
	bob := newBrowser(t, srv)
	bob.loginAs(m, "bob")

	var list []map[string]any
	r := a.get("/api/sessions")
	if err := json.Unmarshal([]byte(r.body), &list); err != nil || len(list) != 3 {
		t.Fatalf("/api/sessions: %s", r.body)
	}
	for _, k := range []string{"id", "created", "last_seen", "ip", "user_agent", "current"} {
		if _, ok := list[0][k]; !ok {
			t.Fatalf("/api/sessions item lacks %q: %v", k, list[0])
		}
	}
	for _, tok := range []string{a.token(), b.token(), c.token()} {
		if strings.Contains(r.body, tok) {
			t.Fatal("a token appears in /api/sessions")
		}
	}
	var other string
	currents := 0
	for _, s := range list {
		if s["current"] == true {
			currents++
		} else {
			other = s["id"].(string)
		}
	}
	if currents != 1 {
		t.Fatalf("%d current sessions", currents)
	}
	// Bob cannot revoke alice's session.
	if r := bob.post("/api/sessions/revoke", "id", other); r.code != 404 {
		t.Fatalf("bob revoking alice's session: %d", r.code)
	}
	if r := a.post("/api/sessions/revoke", "id", other); r.code != 200 {
		t.Fatalf("revoke: %d %s", r.code, r.body)
	}
	gone := 0
	for _, x := range []*browser{b, c} {
		if r := x.get("/api/me"); r.code == 401 {
			gone++
		}
	}
	if gone != 1 {
		t.Fatalf("%d sessions gone after one revocation", gone)
	}
	if r := a.post("/api/sessions/revoke-others"); r.code != 200 || !strings.Contains(r.body, `"revoked":1`) {
		t.Fatalf("revoke-others: %d %s", r.code, r.body)
	}
	for _, x := range []*browser{b, c} {
		if r := x.get("/api/me"); r.code != 401 {
			t.Fatal("revoke-others left a session")
		}
	}
	if r := a.get("/api/me"); r.code != 200 {
		t.Fatal("revoke-others ended the current session")
	}
	if r := bob.get("/api/me"); r.code != 200 {
		t.Fatal("bob was logged out")
	}
	// Browser forms get a redirect back to the page.
	if r := a.do("POST", "/api/sessions/revoke-others", url.Values{}, "Accept", "text/html"); r.code != http.StatusSeeOther {
		t.Fatalf("form post: %d", r.code)
	}
	if r := a.get("/sessions"); r.code != 200 || !strings.Contains(r.body, "this device") {
		t.Fatalf("/sessions: %d", r.code)
	}
}

func TestCrossOriginPostsRejected(t *testing.T) {
	srv, _, m := testServerManager(t)
	b := newBrowser(t, srv)
	b.loginAs(m, "alice")
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Origin", "https://evil.example"},
	} {
		for _, path := range []string{"/logout", "/api/sessions/revoke-others", "/api/prefs", "/login"} {
			r := b.do("POST", path, url.Values{"key": {"k"}, "value": {"v"}, "username": {"alice"}, "password": {"wonderland"}}, h...)
			if r.code != http.StatusForbidden {
				t.Fatalf("cross-origin POST %s with %v: %d", path, h, r.code)
			}
		}
	}
	if r := b.get("/api/me"); r.code != 200 {
		t.Fatal("a cross-origin request logged the user out")
	}
	// Same-origin browser requests pass.
	if r := b.do("POST", "/api/prefs", url.Values{"key": {"k"}, "value": {"v"}}, "Sec-Fetch-Site", "same-origin"); r.code != 200 {
		t.Fatalf("same-origin POST: %d", r.code)
	}
}

func TestIdleAndAbsoluteExpiry(t *testing.T) {
	srv, clk := testServer(t, session.WithIdleTimeout(10*time.Minute), session.WithAbsoluteTimeout(time.Hour))
	b := newBrowser(t, srv)
	b.login("alice", "wonderland")
	clk.Add(9 * time.Minute)
	if r := b.get("/api/me"); r.code != 200 {
		t.Fatal("logged out before the idle timeout")
	}
	clk.Add(10*time.Minute + time.Second)
	if r := b.get("/api/me"); r.code != 401 {
		t.Fatal("still logged in after the idle timeout")
	}
	// Absolute: active every 5 minutes, still out after an hour.
	b.login("alice", "wonderland")
	for range 11 {
		clk.Add(5 * time.Minute)
		if r := b.get("/api/me"); r.code != 200 {
			t.Fatal("logged out before the absolute timeout")
		}
	}
	clk.Add(5 * time.Minute)
	if r := b.get("/api/me"); r.code != 401 {
		t.Fatal("still logged in after the absolute timeout")
	}
}

func TestFlagsAndUsers(t *testing.T) {
	if _, err := parseFlags([]string{"--nope"}, io.Discard); err == nil {
		t.Fatal("unknown flag accepted")
	}
	// The anonymous cookies' key comes from the environment, and the usage
	// text (-h, any usage error) does not print it as a default.
	const key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	t.Setenv("WEBAPP_ANON_KEY", key)
	var usage strings.Builder
	if _, err := parseFlags([]string{"-h"}, &usage); err == nil || strings.Contains(usage.String(), key) || !strings.Contains(usage.String(), "anon-key") {
		t.Fatalf("-h: %v, printed the key: %v", err, strings.Contains(usage.String(), key))
	}
	if c, err := parseFlags(nil, io.Discard); err != nil || c.anonKey != key {
		t.Fatalf("the key from WEBAPP_ANON_KEY: %v (got it: %v)", err, c.anonKey == key)
	}
	for _, bad := range []string{"alice", "alice:", ":x", "a:1,a:2"} {
		if _, err := ParseUsers(bad, 4); err == nil {
			t.Errorf("users %q accepted", bad)
		}
	}
	u, err := ParseUsers("carol:pa:ss", 4)
	if err != nil || !u.Check("carol", "pa:ss") || u.Check("carol", "pa") || u.Check("dave", "pa:ss") {
		t.Fatalf("users with a colon in the password: %v", err)
	}
}

// demo is the whole program (run) serving on a loopback port.
type demo struct {
	t      *testing.T
	base   string // http://127.0.0.1:port
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	out    strings.Builder
}

// startDemo runs the program with args (plus a free loopback address and
// a cheap bcrypt cost) until stop.
func startDemo(t *testing.T, args ...string) *demo {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &demo{t: t, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan string, 1)
	args = append([]string{"--addr", "127.0.0.1:0", "--bcrypt-cost", "4"}, args...)
	go func() {
		d.done <- run(ctx, args, writerFunc(func(p []byte) (int, error) {
			d.mu.Lock()
			defer d.mu.Unlock()
			return d.out.Write(p)
		}), ready)
	}()
	select {
	case addr := <-ready:
		d.base = "http://" + addr
	case err := <-d.done:
		cancel()
		t.Fatalf("run: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("the demo did not start")
	}
	return d
}

// stop shuts the program down and returns everything it printed.
func (d *demo) stop() string {
	d.t.Helper()
	d.cancel()
	if err := <-d.done; err != nil {
		d.t.Fatalf("run: %v", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.String()
}

// The whole program: flags, SQLite file in the working directory, graceful
// shutdown when the context ends.
func TestRunServesAndShutsDown(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	d := startDemo(t)
	res, err := http.Get(d.base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET /login: %d", res.StatusCode)
	}
	out := d.stop()
	if _, err := filepath.Glob(filepath.Join(dir, "webapp-sessions.db")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "open http://127.0.0.1:") || !strings.Contains(out, "stopped") {
		t.Fatalf("output: %q", out)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Issue 18: the startup banner (and every log line of a run) names the
// store without its password, also when it is a query parameter.
func TestBannerHidesStorePassword(t *testing.T) {
	pg := os.Getenv("SESSION_TEST_POSTGRES_URL")
	if pg == "" {
		pg = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	// Trust authentication: the password is not checked.
	for _, store := range []string{
		pg + "&password=hunter2-banner",
		strings.Replace(pg, "://postgres@", "://postgres:hunter2-banner@", 1),
	} {
		out := startDemo(t, "--store", store).stop()
		if !strings.Contains(out, "xxxxx") || strings.Contains(out, "hunter2") || strings.Contains(out, "banner") {
			t.Fatalf("banner: %q", out)
		}
	}
}
