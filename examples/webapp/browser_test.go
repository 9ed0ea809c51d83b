package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium, which .ci/run installs. The test
// fails without it: it is the end-to-end check of the whole mission.
func chromiumPath(t *testing.T) string {
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Fatal("chromium is required for the browser test (apt-get install chromium; .ci/run does it)")
	return ""
}

// TestBrowserEndToEnd drives the demo as served by the README's command
// (plain HTTP on 127.0.0.1, the default __Host- Secure cookie) in headless
// Chromium: two browser contexts log in as alice; the first sees two
// sessions and revokes the other, which is sent to /login; logout, then the
// back button shows no private data.
func TestBrowserEndToEnd(t *testing.T) {
	exe := chromiumPath(t)
	t.Chdir(t.TempDir())
	runCtx, stopApp := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(runCtx, []string{"--addr", "127.0.0.1:0", "--bcrypt-cost", "4"}, discard{}, ready) }()
	base := "http://" + <-ready
	defer func() {
		stopApp()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	defer cancelAlloc()
	first, cancelFirst := chromedp.NewContext(allocCtx)
	defer cancelFirst()
	if err := chromedp.Do(first); err != nil { // starts the browser (no timeout on this call)
		t.Fatal(err)
	}
	second, cancelSecond := chromedp.NewContext(first, chromedp.WithNewBrowserContext())
	defer cancelSecond()
	if err := chromedp.Do(second); err != nil {
		t.Fatal(err)
	}
	// Bound every later step.
	limit := func(ctx context.Context) context.Context {
		c, cancel := context.WithTimeout(ctx, 30*time.Second)
		t.Cleanup(cancel)
		return c
	}
	sel := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	login := func(ctx context.Context) {
		t.Helper()
		ctx = limit(ctx)
		if err := chromedp.Do(ctx,
			chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(sel(`#username`)),
			chromedp.SendKeys(sel(`#username`), "alice"),
			chromedp.SendKeys(sel(`#password`), "wonderland"),
			chromedp.Click(sel(`#submit`)),
			chromedp.WaitVisible(sel(`#welcome`)),
		); err != nil {
			t.Fatalf("logging in: %v", err)
		}
		user, err := chromedp.Run(ctx, chromedp.Text(sel(`#user`)))
		if err != nil || user != "alice" {
			t.Fatalf("dashboard shows %q (%v)", user, err)
		}
	}
	cookies := func(ctx context.Context) []*network.Cookie {
		t.Helper()
		res, err := chromedp.Call(limit(ctx), network.GetCookies, network.GetCookiesParams{URLs: []string{base}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Cookies
	}
	countRows := func(ctx context.Context) int {
		t.Helper()
		n, err := chromedp.Run(limit(ctx), chromedp.Evaluate[int](`document.querySelectorAll("#sessions tr.session").length`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	login(first)
	// The browser stored the cookie with its secure attributes, over plain
	// HTTP on loopback.
	if c := cookies(first); len(c) != 1 || c[0].Name != "__Host-sid" || !c[0].HTTPOnly || !c[0].Secure || c[0].SameSite != network.CookieSameSiteLax {
		t.Fatalf("browser cookies: %+v", c)
	}
	login(second)

	if err := chromedp.Do(limit(first), chromedp.Navigate(base+"/sessions"), chromedp.WaitVisible(sel(`#sessions`))); err != nil {
		t.Fatal(err)
	}
	if n := countRows(first); n != 2 {
		t.Fatalf("first browser sees %d sessions, want 2", n)
	}
	if err := chromedp.Do(limit(first), chromedp.Click(sel(`button.revoke`)), chromedp.WaitVisible(sel(`p.ok`))); err != nil {
		t.Fatal(err)
	}
	if n := countRows(first); n != 1 {
		t.Fatalf("after revoking, %d sessions listed", n)
	}
	// The second browser is sent to the login page.
	if err := chromedp.Do(limit(second), chromedp.Navigate(base+"/dashboard"), chromedp.WaitVisible(sel(`#username`))); err != nil {
		t.Fatal(err)
	}
	if loc, err := chromedp.Run(limit(second), chromedp.Location()); err != nil || !strings.HasSuffix(loc, "/login") {
		t.Fatalf("revoked browser is at %s (%v)", loc, err)
	}

	// Logout, then the back button: no private data.
	if err := chromedp.Do(limit(first),
		chromedp.Navigate(base+"/dashboard"),
		chromedp.WaitVisible(sel(`#welcome`)),
		chromedp.Click(sel(`header form button`)),
		chromedp.WaitVisible(sel(`#username`)),
		chromedp.NavigateBack(),
		chromedp.Sleep(300*time.Millisecond),
		chromedp.WaitReady(sel(`body`)),
	); err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(limit(first), chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(limit(first), chromedp.Text(sel(`body`)))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(body, "Hello, alice") || strings.Contains(body, "Session created") {
		t.Fatalf("after logout the back button shows private data at %s:\n%s", loc, body)
	}
	if !strings.HasSuffix(loc, "/login") {
		t.Fatalf("back after logout is at %s, want the login page", loc)
	}
	if c := cookies(first); len(c) != 0 {
		t.Fatalf("cookie kept after logout: %+v", c)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
