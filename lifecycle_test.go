package session_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func TestCreateOnFirstWriteOnly(t *testing.T) {
	e := newEnv(t)
	w := e.do("/get?k=a", "")
	if body(w) != "false:" || sessionCookie(w) != nil || e.store.total() != 0 {
		t.Fatalf("read of a new session: body %q cookie %v store calls %d", body(w), sessionCookie(w), e.store.total())
	}
	w = e.do("/set?k=a&v=1", "")
	tok := mustToken(t, w)
	if e.store.count("create") != 1 || e.store.total() != 1 {
		t.Fatalf("new session: %v store calls, want exactly 1 create", e.store.calls)
	}
	if got := body(e.do("/get?k=a", tok)); got != "true:1" {
		t.Fatalf("read back %q", got)
	}
}

// R03/R04: a token the server did not issue is never adopted, and reading
// with it creates nothing.
func TestStrictModeNeverAdoptsForeignTokens(t *testing.T) {
	e := newEnv(t)
	attacker := randomToken()
	for range 1000 {
		// The dead cookie is deleted (issue 20), nothing is created.
		w := e.do("/get?k=a", randomToken())
		if c := sessionCookie(w); c == nil || c.MaxAge >= 0 || c.Value != "" || w.Code != 200 {
			t.Fatalf("read with an unknown token: %d %v", w.Code, w.Header()["Set-Cookie"])
		}
	}
	if n := e.store.inner.Len(); n != 0 {
		t.Fatalf("reads with unknown tokens stored %d records", n)
	}
	w := e.do("/set?k=a&v=1", attacker)
	tok := mustToken(t, w)
	if tok == attacker {
		t.Fatal("attacker-chosen token adopted")
	}
	d, _ := session.DigestOf(attacker)
	if _, err := e.store.inner.Load(context.Background(), d); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("a record exists under the attacker's digest: %v", err)
	}
	// Logout with an unknown token: no record, the cookie deleted.
	w = e.do("/logout", randomToken())
	if c := sessionCookie(w); c != nil && (c.MaxAge >= 0 || c.Value != "") {
		t.Fatalf("logout of an unknown session set a cookie: %v", w.Header()["Set-Cookie"])
	}
}

func TestMalformedTokenNeverReachesStore(t *testing.T) {
	e := newEnv(t)
	good := randomToken()
	for _, bad := range []string{"x", good + "A", good[:42], strings.Replace(good, good[:1], "+", 1)[:43], "../../etc/passwd", strings.Repeat("é", 20)} {
		r := httptest.NewRequest("GET", "/get?k=a", nil)
		r.Header.Set("Cookie", "__Host-sid="+bad)
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != 200 || body(w) != "false:" {
			t.Fatalf("%q: %d %q", bad, w.Code, body(w))
		}
	}
	if n := e.store.total(); n != 0 {
		t.Fatalf("malformed tokens caused %d store calls", n)
	}
	if !strings.Contains(e.logs.String(), "reason=malformed") {
		t.Fatal("malformed token not logged as an invalid-token event")
	}
}

// R02: only SHA-256 digests of tokens reach the store.
func TestStoreSeesOnlyDigests(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/set?k=a&v=1", ""))
	e.do("/get?k=a", tok)
	e.do("/set?k=b&v=2", tok)
	tok2 := mustToken(t, e.do("/login?u=alice", tok))
	e.do("/logout", tok2)
	raw1, _ := base64.RawURLEncoding.DecodeString(tok)
	raw2, _ := base64.RawURLEncoding.DecodeString(tok2)
	d1, _ := session.DigestOf(tok)
	d2, _ := session.DigestOf(tok2)
	if len(e.store.digests) == 0 {
		t.Fatal("no store calls recorded")
	}
	for _, d := range e.store.digests {
		if string(d[:]) == string(raw1) || string(d[:]) == string(raw2) {
			t.Fatal("a raw token reached the store")
		}
		if d != d1 && d != d2 {
			t.Fatalf("store received %v, which is neither token's digest", d)
		}
	}
	// Presenting a stored digest as a cookie does not work.
	w := e.do("/get?k=a", base64.RawURLEncoding.EncodeToString(d1[:]))
	if body(w) != "false:" {
		t.Fatalf("digest accepted as a token: %q", body(w))
	}
}

func TestLazyNoTouchNoStoreCall(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/set?k=a&v=1", ""))
	e.store.reset()
	w := e.do("/noop", tok)
	if e.store.total() != 0 || len(w.Header()["Set-Cookie"]) != 0 || w.Header().Get("Vary") != "" {
		t.Fatalf("untouched session: store calls %v, headers %v", e.store.calls, w.Header())
	}
}

// Required behaviour 3: one read per read-only request, and an expiry-only
// touch at most once per touch fraction of the idle window.
func TestReadOnlyRequestsTouchThrottled(t *testing.T) {
	e := newEnv(t) // idle 30m, fraction 0.1: at most one touch per 3 minutes
	tok := mustToken(t, e.do("/set?k=a&v=1", ""))
	e.store.reset()
	refreshes := 0
	for range 100 {
		e.clock.Advance(30 * time.Second)
		w := e.do("/get?k=a", tok)
		if body(w) != "true:1" {
			t.Fatalf("read %q", body(w))
		}
		if c := sessionCookie(w); c != nil {
			refreshes++
			if c.Value != tok || w.Header().Get("Cache-Control") != "no-store" {
				t.Fatalf("refresh cookie %v, Cache-Control %q", c, w.Header().Get("Cache-Control"))
			}
		}
	}
	// 100 requests over 50 minutes: a touch every 3 minutes = 16.
	if got := e.store.count("load"); got != 100 {
		t.Fatalf("%d loads for 100 requests", got)
	}
	if got := e.store.count("update") + e.store.count("create"); got != 0 {
		t.Fatalf("read-only requests rewrote the session %d times", got)
	}
	if got := e.store.count("touch"); got != 16 {
		t.Fatalf("%d touches over 50 minutes with a 3-minute throttle, want 16", got)
	}
	if refreshes != 16 {
		t.Fatalf("%d cookie refreshes, want 16", refreshes)
	}
}

// Whether a read-only request refreshes the session is decided at the
// time the session was loaded (the request's activity time): a refresh
// that falls due while the handler runs is left to the next request, and a
// refresh due on arrival is written with the time of the commit.
func TestRefreshDecidedAtArrival(t *testing.T) {
	e := newEnv(t) // idle 30m, fraction 0.1: a refresh is due after 3 minutes
	tok := mustToken(t, e.do("/set?k=a&v=1", ""))
	e.mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		if _, _, err := session.Get[string](session.FromContext(r.Context()), "a"); err != nil {
			t.Error(err)
		}
		e.clock.Advance(2 * time.Minute) // the handler takes two minutes
	})
	e.store.reset()
	e.clock.Advance(2 * time.Minute)
	if w := e.do("/slow", tok); sessionCookie(w) != nil || e.store.count("touch") != 0 {
		t.Fatalf("refresh written for a request that arrived before it was due: calls %v", e.store.calls)
	}
	e.do("/slow", tok) // arrives 4 minutes after the last refresh
	if e.store.count("touch") != 1 {
		t.Fatalf("no refresh for a request that arrived after it was due: calls %v", e.store.calls)
	}
}

// Writes record activity at the touch granularity too: a write inside the
// throttle window changes values only (no expiry rewrite, no cookie
// refresh), and the session still slides with the writes.
func TestWriteRequestsRecordActivityWhenTouchDue(t *testing.T) {
	e := newEnv(t) // idle 30m, fraction 0.1
	tok := mustToken(t, e.do("/set?k=a&v=1", ""))
	d, _ := session.DigestOf(tok)
	load := func() *session.Record {
		t.Helper()
		rec, err := e.store.inner.Load(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	seen := map[time.Time]bool{load().LastSeen: true}
	refreshes := 0
	for i := range 100 { // 50 minutes, longer than the idle timeout
		e.clock.Advance(30 * time.Second)
		w := e.do(fmt.Sprintf("/set?k=a&v=%d", i), tok)
		if w.Code != 200 {
			t.Fatalf("write %d: %d", i, w.Code)
		}
		if c := sessionCookie(w); c != nil {
			refreshes++
		}
		rec := load()
		if got := string(rec.Values["a"]); got != strconv.Quote(strconv.Itoa(i)) {
			t.Fatalf("write %d stored %q", i, got)
		}
		seen[rec.LastSeen] = true
	}
	if len(seen) != 17 || refreshes != 16 {
		t.Fatalf("activity recorded %d times (cookie refreshed %d times) over 50 minutes with a 3-minute throttle, want 17 (16)", len(seen), refreshes)
	}
	if rec := load(); !rec.IdleExpiry.After(e.clock.Now().Add(26 * time.Minute)) {
		t.Fatalf("idle expiry %v did not slide with the writes (now %v)", rec.IdleExpiry, e.clock.Now())
	}
}

func TestWriteRequestIsOneReadOneWrite(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/set?k=a&v=1", ""))
	e.store.reset()
	e.do("/set?k=b&v=2", tok)
	if e.store.count("load") != 1 || e.store.count("update") != 1 || e.store.total() != 2 {
		t.Fatalf("write request store calls %v", e.store.calls)
	}
	e.store.reset()
	tok2 := mustToken(t, e.do("/login?u=alice", tok))
	if e.store.count("load") != 1 || e.store.count("renew") != 1 || e.store.total() != 2 {
		t.Fatalf("login from an anonymous session: store calls %v", e.store.calls)
	}
	if tok2 == tok {
		t.Fatal("login kept the token")
	}
}

func TestRenewKeepsDataDeletesOld(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/set?k=cart&v=3", ""))
	w := e.do("/renew", tok)
	tok2 := mustToken(t, w)
	if tok2 == tok {
		t.Fatal("Renew kept the token")
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Fatal("renewal response is cacheable")
	}
	if got := body(e.do("/get?k=cart", tok2)); got != "true:3" {
		t.Fatalf("data after renew %q", got)
	}
	if got := body(e.do("/get?k=cart", tok)); got != "false:" {
		t.Fatalf("old token still works: %q", got)
	}
}

func TestLoginBindsUserAndRestartsAbsoluteDeadline(t *testing.T) {
	e := newEnv(t, session.WithAbsoluteTimeout(time.Hour), session.WithIdleTimeout(20*time.Minute))
	tok := mustToken(t, e.do("/set?k=cart&v=3", ""))
	for range 5 { // stay active for 50 minutes of the 1-hour absolute lifetime
		e.clock.Advance(10 * time.Minute)
		e.do("/get?k=cart", tok)
	}
	loginAt := e.clock.Now()
	tok2 := mustToken(t, e.do("/login?u=alice", tok))
	if got := body(e.do("/whoami", tok2)); got != "alice" {
		t.Fatalf("whoami = %q", got)
	}
	if got := body(e.do("/get?k=cart", tok2)); got != "true:3" {
		t.Fatalf("anonymous data lost at login: %q", got)
	}
	d, _ := session.DigestOf(tok2)
	rec, err := e.store.inner.Load(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.AuthTime.Equal(loginAt) || !rec.AbsExpiry.Equal(loginAt.Add(time.Hour)) {
		t.Fatalf("auth time %v abs expiry %v, want %v and +1h", rec.AuthTime, rec.AbsExpiry, loginAt)
	}
	// Absolute deadline is never extended by activity.
	for range 5 {
		e.clock.Advance(10 * time.Minute)
		if got := body(e.do("/whoami", tok2)); got != "alice" {
			t.Fatalf("logged out early at %v", e.clock.Now().Sub(loginAt))
		}
	}
	e.clock.Advance(10*time.Minute - time.Millisecond)
	if got := body(e.do("/whoami", tok2)); got != "alice" {
		t.Fatal("logged out 1ms before the absolute deadline")
	}
	e.clock.Advance(time.Millisecond)
	if got := body(e.do("/whoami", tok2)); got != "" {
		t.Fatalf("still logged in at the absolute deadline: %q", got)
	}
}

func TestLoginValidatesUserID(t *testing.T) {
	e := newEnv(t)
	for _, u := range []string{"", strings.Repeat("u", 256), "\xff"} {
		w := e.do("/login?u="+u, "")
		if w.Code != http.StatusConflict || !strings.Contains(body(w), "user id") {
			t.Fatalf("Login(%q): %d %q", u, w.Code, body(w))
		}
	}
}

// R19: after Destroy the record is gone and a replayed cookie is anonymous.
func TestDestroyDeletesAndExpiresCookie(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/login?u=bob", ""))
	w := e.do("/logout", tok)
	c := sessionCookie(w)
	if c == nil || c.MaxAge != -1 || c.Value != "" {
		t.Fatalf("logout cookie %v", w.Header()["Set-Cookie"])
	}
	if e.store.inner.Len() != 0 {
		t.Fatal("record survived logout")
	}
	if got := body(e.do("/whoami", tok)); got != "" {
		t.Fatalf("replayed cookie after logout is %q", got)
	}
}

func TestDestroyThenWriteStartsNewSession(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/login?u=bob", ""))
	e.mux.HandleFunc("/flush-and-set", func(w http.ResponseWriter, r *http.Request) {
		if err := e.m.Destroy(r.Context()); err != nil {
			t.Error(err)
		}
		if err := session.FromContext(r.Context()).Set("flash", "bye"); err != nil {
			t.Error(err)
		}
	})
	w := e.do("/flush-and-set", tok)
	tok2 := mustToken(t, w)
	if tok2 == tok || len(w.Header()["Set-Cookie"]) != 1 {
		t.Fatalf("Set-Cookie %v", w.Header()["Set-Cookie"])
	}
	if got := body(e.do("/whoami", tok2)); got != "" {
		t.Fatalf("new session after flush is logged in as %q", got)
	}
	if got := body(e.do("/get?k=flash", tok2)); got != "true:bye" {
		t.Fatalf("flash %q", got)
	}
}

func TestIdleTimeoutBoundary(t *testing.T) {
	e := newEnv(t, session.WithIdleTimeout(10*time.Minute))
	start := e.clock.Now()
	tok := mustToken(t, e.do("/set?k=a&v=1", ""))
	e.clock.Advance(10*time.Minute - time.Millisecond)
	if got := body(e.do("/noop", tok)); got != "noop" {
		t.Fatal(got)
	}
	// Not touched by /noop, so still the same expiry.
	e.store.reset()
	w := e.do("/get?k=a", tok)
	if body(w) != "true:1" {
		t.Fatalf("1ms before idle expiry: %q", body(w))
	}
	// That read touched the session (more than a tenth of the window passed):
	// the new expiry is 10 minutes from now.
	if e.store.count("touch") != 1 {
		t.Fatalf("no touch after %v idle", e.clock.Now().Sub(start))
	}
	e.clock.Advance(10 * time.Minute)
	w = e.do("/get?k=a", tok)
	if body(w) != "false:" {
		t.Fatalf("at idle expiry: %q", body(w))
	}
	// The expired record is deleted lazily and the cookie cleared.
	if c := sessionCookie(w); c == nil || c.MaxAge != -1 {
		t.Fatalf("expired session cookie not cleared: %v", w.Header()["Set-Cookie"])
	}
	if e.store.inner.Len() != 0 {
		t.Fatal("expired record not deleted")
	}
	if !strings.Contains(e.logs.String(), "event=expired") {
		t.Fatal("expiry not logged")
	}
}

// R25: an expired record returned by the store is rejected and deleted.
func TestExpiredRecordFromStoreRejected(t *testing.T) {
	e := newEnv(t)
	tok := randomToken()
	d, _ := session.DigestOf(tok)
	now := e.clock.Now()
	rec := &session.Record{
		Values:  map[string][]byte{"a": []byte(`"1"`)},
		Created: now.Add(-time.Hour), LastSeen: now.Add(-time.Hour),
		IdleExpiry: now.Add(-time.Minute), AbsExpiry: now.Add(time.Hour), Version: 1,
	}
	if err := e.store.inner.Create(context.Background(), d, rec); err != nil {
		t.Fatal(err)
	}
	if got := body(e.do("/get?k=a", tok)); got != "false:" {
		t.Fatalf("expired record adopted: %q", got)
	}
	if _, err := e.store.inner.Load(context.Background(), d); !errors.Is(err, session.ErrNotFound) {
		t.Fatal("expired record not deleted")
	}
	// A record whose stored deadline is fine but whose last activity is
	// older than the configured idle timeout is rejected too.
	rec.IdleExpiry = now.Add(time.Hour)
	rec.LastSeen = now.Add(-31 * time.Minute)
	if err := e.store.inner.Create(context.Background(), d, rec); err != nil {
		t.Fatal(err)
	}
	if got := body(e.do("/get?k=a", tok)); got != "false:" {
		t.Fatalf("record idle for 31 minutes adopted: %q", got)
	}
}

func TestRememberMeAndExpireOnClose(t *testing.T) {
	e := newEnv(t, session.WithAbsoluteTimeout(30*24*time.Hour))
	e.mux.HandleFunc("/remember", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if err := s.SetIdleTimeout(14 * 24 * time.Hour); err != nil {
			t.Error(err)
		}
		if err := s.Set("u", "x"); err != nil {
			t.Error(err)
		}
	})
	e.mux.HandleFunc("/browser-session", func(w http.ResponseWriter, r *http.Request) {
		if err := session.FromContext(r.Context()).SetExpireOnClose(true); err != nil {
			t.Error(err)
		}
	})
	w := e.do("/remember", "")
	c := sessionCookie(w)
	if c == nil || c.MaxAge != 14*24*3600 {
		t.Fatalf("remember-me cookie %v", w.Header()["Set-Cookie"])
	}
	tok := c.Value
	e.clock.Advance(13 * 24 * time.Hour)
	if got := body(e.do("/get?k=u", tok)); got != "true:x" {
		t.Fatalf("remember-me session gone after 13 days: %q", got)
	}
	w = e.do("/browser-session", tok)
	c = sessionCookie(w)
	if c == nil || c.MaxAge != 0 || c.Expires.IsZero() == false {
		t.Fatalf("expire-on-close cookie %v", w.Header()["Set-Cookie"])
	}
	if strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age") {
		t.Fatalf("browser-session cookie has Max-Age: %q", w.Header().Get("Set-Cookie"))
	}
}

// R12: a persistent cookie never outlives the absolute deadline nor 400 days.
func TestCookieLifetimeCapped(t *testing.T) {
	e := newEnv(t, session.WithIdleTimeout(time.Hour), session.WithAbsoluteTimeout(time.Hour))
	e.mux.HandleFunc("/long", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		s.SetIdleTimeout(2 * time.Hour)
		s.Set("a", 1)
	})
	c := sessionCookie(e.do("/long", ""))
	if c.MaxAge != 3600 {
		t.Fatalf("Max-Age %d, want the absolute 3600", c.MaxAge)
	}
	e = newEnv(t, session.WithIdleTimeout(1000*24*time.Hour), session.WithAbsoluteTimeout(2000*24*time.Hour))
	if _, err := session.New(e.store, session.WithIdleTimeout(2*time.Hour), session.WithAbsoluteTimeout(time.Hour)); !errors.Is(err, session.ErrConfig) {
		t.Fatalf("an idle timeout longer than the absolute one accepted: %v", err)
	}
	c = sessionCookie(e.do("/set?k=a&v=1", ""))
	if c.MaxAge != 400*24*3600 {
		t.Fatalf("Max-Age %d, want the 400-day cap", c.MaxAge)
	}
}

// Issue 17 (4): Bob logging in on a browser that holds Alice's logged-in
// session does not see her values or inherit her "remember me"; logging in
// again as the same user, or from an anonymous session, keeps the values.
func TestLoginAsAnotherUserDropsValues(t *testing.T) {
	e := newEnv(t, session.WithIdleTimeout(20*time.Minute), session.WithAbsoluteTimeout(time.Hour))
	e.mux.HandleFunc("/remember", func(w http.ResponseWriter, r *http.Request) {
		session.FromContext(r.Context()).SetIdleTimeout(50 * time.Minute)
	})
	anon := mustToken(t, e.do("/set?k=cart&v=3", ""))
	alice := mustToken(t, e.do("/login?u=alice", anon))
	if got := body(e.do("/get?k=cart", alice)); got != "true:3" {
		t.Fatalf("anonymous values lost at login: %q", got)
	}
	e.do("/set?k=secret&v=alice-only", alice)
	e.do("/remember", alice)
	e.clock.Advance(time.Minute)
	again := mustToken(t, e.do("/login?u=alice", alice))
	if got := body(e.do("/get?k=secret", again)); got != "true:alice-only" {
		t.Fatalf("values lost at a second login of the same user: %q", got)
	}
	d, _ := session.DigestOf(again)
	aliceRec, err := e.store.inner.Load(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	bob := mustToken(t, e.do("/login?u=bob", again))
	if got := body(e.do("/whoami", bob)); got != "bob" {
		t.Fatalf("whoami = %q", got)
	}
	for _, k := range []string{"secret", "cart"} {
		if got := body(e.do("/get?k="+k, bob)); got != "false:" {
			t.Fatalf("bob sees alice's %s: %q", k, got)
		}
	}
	// The login handler's own value, set after Login, is kept.
	if got := body(e.do("/get?k=name", bob)); got != "true:bob" {
		t.Fatalf("value set after Login = %q", got)
	}
	d, _ = session.DigestOf(bob)
	rec, err := e.store.inner.Load(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if rec.IdleTimeout != 0 || !rec.Created.After(aliceRec.Created) || aliceRec.IdleTimeout != 50*time.Minute {
		t.Fatalf("bob's session: idle timeout %v (alice's %v), created %v (alice's %v); want the default and a new session",
			rec.IdleTimeout, aliceRec.IdleTimeout, rec.Created, aliceRec.Created)
	}
}

// An anonymous session whose store says its data is another user's
// (Record.ClaimedUser: a Django login Go does not honour) is that user's
// for Login: a login as someone else drops its values, a login as that
// user keeps them. Before, such a session passed for an anonymous
// visitor's and its values went to whoever logged in on it.
func TestLoginOverClaimedSession(t *testing.T) {
	e := newEnv(t)
	claimed := func() string {
		t.Helper()
		token := mustToken(t, e.do("/set?k=cart&v=carols", ""))
		d, _ := session.DigestOf(token)
		ctx := context.Background()
		rec, err := e.store.inner.Load(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		// memstore keeps the records it is given as they are, this
		// field with them: a store that reads it off its data.
		rec.ClaimedUser = "carol"
		if _, err := e.store.inner.Delete(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := e.store.inner.Create(ctx, d, rec); err != nil {
			t.Fatal(err)
		}
		if got := body(e.do("/whoami", token)); got != "" {
			t.Fatalf("a claimed session reads as user %q", got)
		}
		return token
	}
	bob := mustToken(t, e.do("/login?u=bob", claimed()))
	if got := body(e.do("/get?k=cart", bob)); got != "false:" {
		t.Fatalf("bob's login over carol's data kept it: %q", got)
	}
	if got := body(e.do("/get?k=name", bob)); got != "true:bob" {
		t.Fatalf("value set after Login = %q", got)
	}
	carol := mustToken(t, e.do("/login?u=carol", claimed()))
	if got := body(e.do("/get?k=cart", carol)); got != "true:carols" {
		t.Fatalf("carol's own login dropped her data: %q", got)
	}
	// A request that clears the claimed data first has nothing of
	// carol's left: what it sets before logging bob in is kept.
	e.mux.HandleFunc("/clear-then-login", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if err := s.Clear(); err != nil {
			t.Error(err)
		}
		if err := s.Set("theme", "dark"); err != nil {
			t.Error(err)
		}
		if err := e.m.Login(r.Context(), "bob"); err != nil {
			t.Error(err)
		}
	})
	bob = mustToken(t, e.do("/clear-then-login", claimed()))
	if got := body(e.do("/get?k=theme", bob)); got != "true:dark" {
		t.Fatalf("a value set after Clear, before Login, = %q", got)
	}
	if got := body(e.do("/get?k=cart", bob)); got != "false:" {
		t.Fatalf("carol's data after Clear = %q", got)
	}
}

// Issue 18: anonymous sessions can get a shorter idle timeout; logging in
// moves the session to the logged-in one.
func TestAnonymousIdleTimeout(t *testing.T) {
	e := newEnv(t, session.WithIdleTimeout(30*time.Minute), session.WithAnonymousIdleTimeout(5*time.Minute))
	w := e.do("/set?k=cart&v=1", "")
	anon := mustToken(t, w)
	if c := sessionCookie(w); c.MaxAge != 300 {
		t.Fatalf("anonymous cookie Max-Age %d, want 300", c.MaxAge)
	}
	e.do("/set?k=cart&v=2", anon)
	e.clock.Advance(5*time.Minute - time.Millisecond)
	if got := body(e.do("/get?k=cart", anon)); got != "true:2" {
		t.Fatalf("anonymous session 1ms before its idle timeout: %q", got)
	}
	other := mustToken(t, e.do("/set?k=cart&v=3", ""))
	e.clock.Advance(5 * time.Minute)
	if got := body(e.do("/get?k=cart", other)); got != "false:" {
		t.Fatalf("anonymous session alive at its 5-minute idle timeout: %q", got)
	}
	user := mustToken(t, e.do("/login?u=alice", mustToken(t, e.do("/set?k=cart&v=4", ""))))
	e.clock.Advance(20 * time.Minute)
	if got := body(e.do("/whoami", user)); got != "alice" {
		t.Fatalf("logged-in session after 20 idle minutes: %q", got)
	}
	if _, err := session.New(nil); err == nil {
		t.Fatal("nil store accepted")
	}
	if _, err := session.New(e.store, session.WithIdleTimeout(time.Minute), session.WithAnonymousIdleTimeout(time.Hour)); err == nil {
		t.Fatal("an anonymous idle timeout longer than the idle timeout accepted")
	}
}
