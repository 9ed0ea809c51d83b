package session_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Issue 20, gap 4: a dead cookie (its session revoked, expired or never
// issued, or no token at all) is deleted on the first request that
// presents it, with the attributes it was set with, and costs nothing
// afterwards. Before, it cost a store read, a log line and an
// invalid-token count on every request until its Max-Age ran out. Page
// navigations and non-browser clients delete it; a browser's background
// requests do not.
func TestDeadCookieClearedOnce(t *testing.T) {
	e := newEnv(t)
	revoked := mustToken(t, e.do("/login?u=alice", ""))
	if _, err := e.m.RevokeUser(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	expired := mustToken(t, e.do("/set?k=a&v=1", ""))
	e.clock.Advance(31 * time.Minute)
	srv := httptest.NewTLSServer(e.h)
	defer srv.Close()
	srvURL, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for name, cookie := range map[string]string{
		"revoked":   revoked,
		"expired":   expired,
		"unknown":   randomToken(),
		"malformed": "not-a-token",
	} {
		e.store.reset()
		e.logs.Reset()
		r := httptest.NewRequest("GET", "http://example.test/get?k=a", nil)
		r.Header.Set("Cookie", "__Host-sid="+cookie)
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != http.StatusOK || body(w) != "false:" {
			t.Fatalf("%s: %d %q", name, w.Code, body(w))
		}
		set := w.Header().Values("Set-Cookie")
		if len(set) != 1 || !strings.HasPrefix(set[0], "__Host-sid=; ") || !strings.Contains(set[0], "Max-Age=0") ||
			!strings.Contains(set[0], "Path=/") || !strings.Contains(set[0], "Secure") || !strings.Contains(set[0], "HttpOnly") ||
			!strings.Contains(set[0], "SameSite=Lax") {
			t.Fatalf("%s: the dead cookie is not deleted with its attributes: %q", name, set)
		}
		if n := strings.Count(e.logs.String(), "event=invalid_token") + strings.Count(e.logs.String(), "event=expired"); n != 1 {
			t.Fatalf("%s: %d log lines for the dead cookie, want 1:\n%s", name, n, e.logs.String())
		}
		// The deletion matches the cookie the client holds: a cookie jar
		// holding it drops it (a deletion with another path or name would
		// not), so the client's next request costs no store call.
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		jar.SetCookies(srvURL, []*http.Cookie{{Name: "__Host-sid", Value: cookie, Path: "/", Secure: true, HttpOnly: true}})
		client := &http.Client{Transport: srv.Client().Transport, Jar: jar}
		for i, want := range []int{-1, 0} {
			e.store.reset()
			resp, err := client.Get(srv.URL + "/get?k=a")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if want == 0 && e.store.total() != 0 {
				t.Fatalf("%s: request %d through the jar after the deletion: %d store calls", name, i+1, e.store.total())
			}
			if got := len(jar.Cookies(srvURL)); got != 0 {
				t.Fatalf("%s: after request %d the jar still holds %d cookies", name, i+1, got)
			}
		}
		// A browser's background request (fetch, XHR) does not delete it:
		// its response may arrive after a concurrent login's and would
		// delete the new cookie.
		r = httptest.NewRequest("GET", "http://example.test/get?k=a", nil)
		r.Header.Set("Cookie", "__Host-sid="+cookie)
		r.Header.Set("Sec-Fetch-Mode", "cors")
		w = httptest.NewRecorder()
		e.logs.Reset()
		e.h.ServeHTTP(w, r)
		if body(w) != "false:" || len(w.Header().Values("Set-Cookie")) != 0 {
			t.Fatalf("%s: a background request deleted the cookie: %q %q", name, body(w), w.Header().Values("Set-Cookie"))
		}
		// It will come again with every background request: not a line
		// at info level each time, for a token of ours the store does
		// not know; a malformed cookie stays at info level (the header
		// is the client's to send).
		if info, want := strings.Contains(e.logs.String(), "level=INFO"), name == "malformed"; info != want {
			t.Fatalf("%s: a dead cookie a background request sends again: logged at info level %v, want %v:\n%s", name, info, want, e.logs.String())
		}
	}
}

// The same rule for a session that expired or is corrupt when a browser's
// background request is the first to present it: the session ends (and
// its record goes), but the response deletes no cookie, since it may
// reach the browser after a concurrent login's and delete the new one; the
// next page navigation deletes it.
func TestBackgroundRequestKeepsExpiredCookie(t *testing.T) {
	e := newEnv(t)
	expired := mustToken(t, e.do("/set?k=a&v=1", ""))
	e.clock.Advance(31 * time.Minute)
	r := httptest.NewRequest("GET", "http://example.test/get?k=a", nil)
	r.Header.Set("Cookie", "__Host-sid="+expired)
	r.Header.Set("Sec-Fetch-Mode", "cors")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if body(w) != "false:" || len(w.Header().Values("Set-Cookie")) != 0 {
		t.Fatalf("a background request with an expired session: %q, Set-Cookie %q", body(w), w.Header().Values("Set-Cookie"))
	}
	w = e.do("/get?k=a", expired)
	if set := w.Header().Values("Set-Cookie"); body(w) != "false:" || len(set) != 1 || !strings.Contains(set[0], "Max-Age=0") {
		t.Fatalf("the next navigation: %q, Set-Cookie %q", body(w), set)
	}
}

// Two different tokens under the session cookie's name (one planted by a
// sibling subdomain or a more specific path, with other attributes than
// ours) choose no session, and the response deletes neither: a deletion
// with our attributes removes the client's own cookie, and the planted
// one, left alone, then chooses the session on the next request.
func TestDuplicateCookiesNotDeleted(t *testing.T) {
	e := newEnv(t)
	victim := mustToken(t, e.do("/login?u=victim", ""))
	planted := mustToken(t, e.do("/login?u=attacker", ""))
	for _, mode := range []string{"", "navigate"} {
		r := httptest.NewRequest("GET", "http://example.test/whoami", nil)
		r.Header.Add("Cookie", "__Host-sid="+planted)
		r.Header.Add("Cookie", "__Host-sid="+victim)
		if mode != "" {
			r.Header.Set("Sec-Fetch-Mode", mode)
		}
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if got := w.Header().Values("Set-Cookie"); len(got) != 0 {
			t.Fatalf("Sec-Fetch-Mode %q: a request with two session cookies answered with %q", mode, got)
		}
		if got := body(w); got == "victim" || got == "attacker" {
			t.Fatalf("Sec-Fetch-Mode %q: two session cookies chose the session of %q", mode, got)
		}
	}
	if got := body(e.do("/whoami", victim)); got != "victim" {
		t.Fatalf("the client's own cookie afterwards: %q", got)
	}
}
