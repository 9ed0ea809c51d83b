package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/stores/memcachedstore/memcachedtest"
	"github.com/sessionkit/session/stores/storeurl"
)

// zeros is an endless body of zero bytes, cut at n: a large upload that
// costs the client no memory.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > z.n {
		p = p[:z.n]
	}
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

// vmRSS returns the process's resident set size in bytes.
func vmRSS(t *testing.T) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// Issue 18: every form is capped at 64 KiB. Four anonymous 60 MB posts at
// once (URL-encoded and multipart) are answered 413 with a clear message,
// and the process's memory stays bounded (they took the demo from 24 to
// 460 MB before); an 11 MB form no longer gets a misleading 400 about the
// key length.
func TestOversizedBodiesRefused(t *testing.T) {
	srv, _ := testServer(t)
	runtime.GC()
	before := vmRSS(t)
	var wg sync.WaitGroup
	codes := make([]int, 4)
	bodies := make([]string, 4)
	for i := range codes {
		wg.Go(func() {
			var req *http.Request
			if i%2 == 0 {
				req, _ = http.NewRequest("POST", srv.URL+"/api/prefs", io.MultiReader(strings.NewReader("key=k&value="), &zeros{60 << 20}))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			} else {
				pr, pw := io.Pipe()
				mw := multipart.NewWriter(pw)
				go func() {
					fw, _ := mw.CreateFormFile("value", "big.bin")
					io.Copy(fw, &zeros{60 << 20})
					mw.Close()
					pw.Close()
				}()
				req, _ = http.NewRequest("POST", srv.URL+"/login", pr)
				req.Header.Set("Content-Type", mw.FormDataContentType())
				defer pr.Close()
			}
			req.Header.Set("Origin", srv.URL)
			res, err := srv.Client().Do(req)
			if err != nil {
				codes[i], bodies[i] = -1, err.Error()
				return
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			codes[i], bodies[i] = res.StatusCode, string(b)
		})
	}
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(bodies[i], "too large") {
			t.Errorf("post %d: %d %q, want 413 with a clear message", i, code, bodies[i])
		}
	}
	runtime.GC()
	grew := vmRSS(t) - before
	t.Logf("RSS grew by %d MB for 240 MB posted", grew>>20)
	if grew > 64<<20 {
		t.Fatalf("RSS grew by %d MB for four 60 MB posts: bodies are not bounded", grew>>20)
	}
	b := newBrowser(t, srv)
	if r := b.post("/api/prefs", "key", "k", "value", strings.Repeat("v", 11<<20)); r.code != http.StatusRequestEntityTooLarge {
		t.Fatalf("11 MB form: %d %q", r.code, r.body)
	}
}

// Issue 18: failed logins are throttled per account and per client
// address: after 5 failures the next attempts get 429 with Retry-After,
// even with the right password, until the window passes.
func TestLoginThrottled(t *testing.T) {
	srv, _ := testServer(t)
	b := newBrowser(t, srv)
	for i := range maxLoginFailures {
		if r := b.post("/login", "username", "alice", "password", fmt.Sprint("guess", i)); r.code != http.StatusUnauthorized {
			t.Fatalf("failed login %d: %d", i, r.code)
		}
	}
	r := b.post("/login", "username", "alice", "password", "wonderland")
	if r.code != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many failed logins") {
		t.Fatalf("login after %d failures: %d, Retry-After %q", maxLoginFailures, r.code, r.header.Get("Retry-After"))
	}
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s <= 0 || s > int(loginWindow/time.Second) {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// Per address too: the same client guessing another account is
	// throttled (its address has 5 failures).
	if r := b.post("/login", "username", "bob", "password", "builder"); r.code != http.StatusTooManyRequests {
		t.Fatalf("another account from the same address: %d", r.code)
	}
}

// Guesses sent at once are throttled as guesses sent one after another:
// the throttle used to be checked before the password and counted after
// it, so concurrent guesses all passed the check before the first failure
// was counted (20 at once were all checked against the password).
func TestConcurrentGuessesThrottled(t *testing.T) {
	srv, _ := testServer(t)
	const guesses = 20
	codes := make([]int, guesses)
	var wg sync.WaitGroup
	for i := range guesses {
		b := newBrowser(t, srv)
		wg.Go(func() { codes[i] = b.post("/login", "username", "alice", "password", fmt.Sprint("guess", i)).code })
	}
	wg.Wait()
	checked := 0
	for _, c := range codes {
		switch c {
		case http.StatusUnauthorized:
			checked++
		case http.StatusTooManyRequests:
		default:
			t.Fatalf("a guess answered %d", c)
		}
	}
	if checked > maxLoginFailures {
		t.Fatalf("%d of %d concurrent guesses were checked against the password; the throttle allows %d", checked, guesses, maxLoginFailures)
	}
}

// The throttle's own rules, on a fake clock: the window slides, a correct
// password clears the account's count, and the key count is bounded.
func TestThrottleWindow(t *testing.T) {
	now := time.Now()
	th := NewThrottle(3, time.Minute)
	th.now = func() time.Time { return now }
	for range 3 {
		th.Fail("a")
		now = now.Add(10 * time.Second)
	}
	if w := th.Wait("a"); w != 30*time.Second {
		t.Fatalf("wait after 3 failures = %v, want 30s (until the first leaves the window)", w)
	}
	now = now.Add(30 * time.Second)
	if w := th.Wait("a"); w != 0 {
		t.Fatalf("wait once the first failure left the window = %v", w)
	}
	th.maxKeys = 10
	for i := range 100 {
		th.Fail(fmt.Sprint("k", i))
	}
	if n := len(th.failures); n > 10 {
		t.Fatalf("throttle keeps %d keys, bound 10", n)
	}
}

// A login waiting in Begin for the attempts in progress stops waiting when
// its client goes away, instead of holding its goroutine for queueFor.
func TestThrottleBeginStopsWithTheRequest(t *testing.T) {
	th := NewThrottle(1, time.Minute)
	if w := th.Begin(context.Background(), "k"); w != 0 {
		t.Fatalf("first attempt waits %v", w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan time.Duration)
	go func() { got <- th.Begin(ctx, "k") }()
	select {
	case w := <-got:
		t.Fatalf("second attempt returned %v while the first is in progress; want it to wait", w)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	select {
	case w := <-got:
		if w == 0 {
			t.Fatal("the attempt of a client that went away was let through")
		}
	case <-time.After(queueFor / 2):
		t.Fatal("Begin kept waiting after its request's context ended")
	}
	if th.pending["k"] != 1 {
		t.Fatalf("pending attempts = %d, want the first one only", th.pending["k"])
	}
}

// panickingAccounts is an account check that panics.
type panickingAccounts struct{}

func (panickingAccounts) Authenticate(context.Context, string, string) (string, error) {
	panic("account backend bug")
}

// A login whose password check panics counts as a failed attempt and
// leaves nothing in progress: otherwise every panic would hold one of the
// account's attempts for good, and maxLoginFailures of them would lock
// the account out.
func TestPanickingLoginCountsAsFailure(t *testing.T) {
	_, _, m := testServerManager(t)
	app, err := NewApp(m, panickingAccounts{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	h := app.Handler()
	login := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "https://example.test/login", strings.NewReader("username=alice&password=x"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for range maxLoginFailures {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("the login did not reach the panicking check")
				}
			}()
			login()
		}()
		if len(app.logins.pending) != 0 {
			t.Fatalf("attempts left in progress after a panic: %v", app.logins.pending)
		}
	}
	if n := len(app.logins.failures[throttleKey("user", foldAccount("alice"))]); n != maxLoginFailures {
		t.Fatalf("alice has %d failures recorded after %d panicking logins, want %d", n, maxLoginFailures, maxLoginFailures)
	}
	if w := login(); w.Code != http.StatusTooManyRequests {
		t.Fatalf("the next login answered %d, want 429", w.Code)
	}
}

// Issue 18, then issue 20: the devices page shows the messages of the
// action that redirected to it from the session (flash messages), once;
// nothing in the URL is shown.
func TestDoneMessagesAreFlashes(t *testing.T) {
	srv, _ := testServer(t)
	other := newBrowser(t, srv)
	other.post("/login", "username", "alice", "password", "wonderland")
	b := newBrowser(t, srv)
	b.post("/login", "username", "alice", "password", "wonderland")
	if r := b.get("/sessions?done=" + url.QueryEscape("Your account is locked, call +1 555 0100")); strings.Contains(r.body, "locked") {
		t.Fatal("free text from the URL shown on the page")
	}
	r := b.do("POST", "/api/sessions/revoke-others", url.Values{}, "Accept", "text/html")
	if r.code != http.StatusSeeOther || r.header.Get("Location") != "/sessions" {
		t.Fatalf("revoke-others from the page: %d %q", r.code, r.header.Get("Location"))
	}
	if r := b.get("/sessions"); !strings.Contains(r.body, "Logged out of 1 other session.") {
		t.Fatalf("the message of the action is not shown after its redirect: %d %q", r.code, r.body)
	}
	if r := b.get("/sessions"); strings.Contains(r.body, "Logged out of") {
		t.Fatal("the message is shown twice")
	}
}

// User agents are cut at a character boundary and lose control
// characters on the devices page.
func TestTruncateIsRuneSafe(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"ünïcödé", 3, "ünï…"},
		{"abc", 3, "abc"},
		{"a\x1b[2Jb\u202ec", 10, "a\ufffd[2Jb\ufffdc"},
		{"x\xffy", 10, "x\ufffdy"},
	} {
		if got := truncate(c.in, c.n); got != c.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
	if got := browserName(strings.Repeat("é", 40)); !bytes.Equal([]byte(got), []byte(strings.Repeat("é", 30)+"…")) {
		t.Fatalf("browserName of a long unknown agent = %q", got)
	}
}

// Issue 20: the login form's "remember me" keeps that session for 30 days,
// beyond the 12-hour absolute timeout that ends the others.
func TestRememberMeCheckbox(t *testing.T) {
	srv, clk := testServer(t)
	remembered, ordinary := newBrowser(t, srv), newBrowser(t, srv)
	r := remembered.post("/login", "username", "alice", "password", "wonderland", "remember", "on")
	if r.code != http.StatusSeeOther || !strings.Contains(r.header.Get("Set-Cookie"), "Max-Age=2592000") {
		t.Fatalf("remember-me login: %d %q", r.code, r.header.Get("Set-Cookie"))
	}
	ordinary.login("alice", "wonderland")
	for i := range 39 { // 13 hours of activity, 20 minutes apart
		clk.Add(20 * time.Minute)
		remembered.get("/api/me")
		if r := ordinary.get("/api/me"); i < 35 && r.code != http.StatusOK {
			t.Fatalf("ordinary session after %v: %d", time.Duration(i+1)*20*time.Minute, r.code)
		}
	}
	if r := remembered.get("/api/me"); r.code != http.StatusOK || !strings.Contains(r.body, "alice") {
		t.Fatalf("remembered session after 13 hours: %d %q", r.code, r.body)
	}
	if r := ordinary.get("/api/me"); r.code == http.StatusOK {
		t.Fatalf("ordinary session after 13 hours: %d %q", r.code, r.body)
	}
	// Logging in again on the remembered browser: ticked, the month goes
	// on; unticked, an ordinary session (12 hours at most).
	if r := remembered.post("/login", "username", "alice", "password", "wonderland", "remember", "on"); !strings.Contains(r.header.Get("Set-Cookie"), "Max-Age=2592000") {
		t.Fatalf("a ticked re-login: %d %q", r.code, r.header.Get("Set-Cookie"))
	}
	r = remembered.post("/login", "username", "alice", "password", "wonderland")
	if r.code != http.StatusSeeOther || strings.Contains(r.header.Get("Set-Cookie"), "Max-Age=2592000") || !strings.Contains(r.header.Get("Set-Cookie"), "Max-Age=") {
		t.Fatalf("an unticked re-login on a remembered browser: %d %q", r.code, r.header.Get("Set-Cookie"))
	}
}

// Issue 18: a login loop cannot pile up sessions for one account: the demo
// keeps at most 10 (session.WithMaxSessionsPerUser), ending the least
// recently active ones (a loop made 10,000 in 23 s before).
func TestLoginLoopCapped(t *testing.T) {
	store := "sqlite:" + filepath.Join(t.TempDir(), "s.db")
	d := startDemo(t, "--store", store, "--users", "alice:wonderland")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i := range 15 {
		res, err := client.PostForm(d.base+"/login", url.Values{"username": {"alice"}, "password": {"wonderland"}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("login %d: %d", i, res.StatusCode)
		}
	}
	d.stop()
	st, err := storeurl.OpenExisting(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := session.New(st)
	if err != nil {
		t.Fatal(err)
	}
	if list, err := m.UserSessions(context.Background(), "alice"); err != nil || len(list) != 10 {
		t.Fatalf("alice has %d sessions after 15 logins (%v); the demo keeps 10", len(list), err)
	}
}

// The demo runs on memcached:// (issue 24): Memcached has no cleanup, so
// the demo runs without a cleaner and says so, and logins work.
func TestDemoOnMemcached(t *testing.T) {
	mc := memcachedtest.Start(t)
	d := startDemo(t, "--store", "memcached://"+mc.Addr+"?prefix=demo:", "--users", "alice:wonderland")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.PostForm(d.base+"/login", url.Values{"username": {"alice"}, "password": {"wonderland"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login on Memcached: %d", res.StatusCode)
	}
	if out := d.stop(); !strings.Contains(out, "no cleaner") {
		t.Fatalf("the demo on Memcached did not say it runs without a cleaner:\n%s", out)
	}
}

// The throttle's keys: the account folded as user tables may match it
// (case, accents, compatibility forms), so that variants of one name share
// its budget; an IPv6 client's /64, so that one host does not get a budget
// per address; each key of a fixed size, however long the name.
func TestThrottleKeys(t *testing.T) {
	keysFor := func(addr, user string) []string {
		r := httptest.NewRequest("POST", "/login", nil)
		r.RemoteAddr = addr
		return throttleKeys(r, user)
	}
	alice := keysFor("192.0.2.1:1234", "alice")
	for _, variant := range []string{"Alice", "ALICE", "alicé", "ÁLICE", "ａｌｉｃｅ", "alice ", "al\u00adice", "alice\u00a0"} {
		if got := keysFor("192.0.2.1:1234", variant); got[0] != alice[0] {
			t.Errorf("%q has its own budget: %q, alice's %q", variant, got[0], alice[0])
		}
	}
	if keysFor("192.0.2.1:1234", "bob")[0] == alice[0] {
		t.Error("bob shares alice's budget")
	}
	a := keysFor("[2001:db8:1:2::1]:1234", "x")[1]
	if b := keysFor("[2001:db8:1:2:ffff::9]:99", "x")[1]; b != a {
		t.Errorf("two addresses of one /64: %q and %q", a, b)
	}
	if c := keysFor("[2001:db8:1:3::1]:1234", "x")[1]; c == a {
		t.Error("two /64s share a budget")
	}
	if d := keysFor("192.0.2.2:1", "x")[1]; d == alice[1] {
		t.Error("two IPv4 addresses share a budget")
	}
	long := keysFor("192.0.2.1:1", strings.Repeat("n", 60000))
	if len(long[0]) != len(alice[0]) {
		t.Errorf("a 60,000-byte name makes a key of %d bytes", len(long[0]))
	}
}
