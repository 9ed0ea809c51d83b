package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/sessiontest"
)

// usersEnv adds handlers for the users'-sessions API to an env.
func usersEnv(t *testing.T, opts ...session.Option) *env {
	e := newEnv(t, opts...)
	e.mux.HandleFunc("/mine", func(w http.ResponseWriter, r *http.Request) {
		list, err := e.m.MySessions(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		json.NewEncoder(w).Encode(list)
	})
	e.mux.HandleFunc("/revoke", func(w http.ResponseWriter, r *http.Request) {
		if err := e.m.RevokeSession(r.Context(), r.FormValue("h")); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
		}
	})
	e.mux.HandleFunc("/revoke-others", func(w http.ResponseWriter, r *http.Request) {
		n, err := e.m.RevokeOtherSessions(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		fmt.Fprint(w, n)
	})
	return e
}

func (e *env) doFrom(path, token, remote, ua string, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "http://example.test"+path, nil)
	r.RemoteAddr = remote
	r.Header.Set("User-Agent", ua)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	if token != "" {
		r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: token})
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

func mine(t *testing.T, e *env, token string) []session.SessionInfo {
	t.Helper()
	w := e.do("/mine", token)
	if w.Code != 200 {
		t.Fatalf("/mine: %d %s", w.Code, body(w))
	}
	var list []session.SessionInfo
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	return list
}

func TestUserSessionsListMetadataAndCurrent(t *testing.T) {
	e := usersEnv(t)
	laptop := mustToken(t, e.doFrom("/login?u=alice", "", "198.51.100.7:5555", "Firefox/140"))
	e.clock.Advance(time.Minute)
	phone := mustToken(t, e.doFrom("/login?u=alice", "", "[2001:db8::9]:443", "Safari/18 "+strings.Repeat("x", 400)))
	mustToken(t, e.do("/login?u=bob", ""))
	list := mine(t, e, laptop)
	if len(list) != 2 {
		t.Fatalf("alice has %d sessions listed, want 2", len(list))
	}
	// Most recently active first; the request's own session is Current.
	if list[0].IP != "2001:db8::9" || list[1].IP != "198.51.100.7" {
		t.Fatalf("order or IPs: %+v", list)
	}
	if !list[1].Current || list[0].Current {
		t.Fatalf("current flags: %v %v", list[0].Current, list[1].Current)
	}
	if len(list[0].UserAgent) != session.MaxUserAgentLength || list[1].UserAgent != "Firefox/140" {
		t.Fatalf("user agents: %q / %q", list[0].UserAgent, list[1].UserAgent)
	}
	if list[1].AuthTime.IsZero() || list[1].Created.IsZero() || list[1].ExpiresAt.IsZero() {
		t.Fatalf("times missing: %+v", list[1])
	}
	raw := e.do("/mine", laptop).Body.String()
	for _, tok := range []string{laptop, phone} {
		if strings.Contains(raw, tok) {
			t.Fatal("a token appears in the sessions list")
		}
	}
	// Anonymous callers are refused.
	if w := e.do("/mine", ""); w.Code != http.StatusConflict || !strings.Contains(body(w), "not logged in") {
		t.Fatalf("anonymous /mine: %d %q", w.Code, body(w))
	}
}

func TestRenewedSessionMovesInListAndExpiredDisappears(t *testing.T) {
	e := usersEnv(t, session.WithIdleTimeout(10*time.Minute))
	a := mustToken(t, e.do("/login?u=alice", ""))
	b := mustToken(t, e.do("/login?u=alice", ""))
	before := mine(t, e, a)
	b2 := mustToken(t, e.do("/renew", b))
	after := mine(t, e, a)
	if len(after) != 2 {
		t.Fatalf("after renew: %d sessions", len(after))
	}
	handles := map[string]bool{}
	for _, s := range after {
		handles[s.Handle] = true
	}
	for _, s := range before {
		if !s.Current && handles[s.Handle] {
			t.Fatal("the renewed session's old handle is still listed")
		}
	}
	// b2 stays active, a expires.
	e.clock.Advance(6 * time.Minute)
	e.do("/whoami", b2)
	e.clock.Advance(5 * time.Minute)
	list := mine(t, e, b2)
	if len(list) != 1 || !list[0].Current {
		t.Fatalf("after a's idle expiry: %+v", list)
	}
}

func TestRevokeSessionOwnerOnly(t *testing.T) {
	e := usersEnv(t)
	a1 := mustToken(t, e.do("/login?u=alice", ""))
	a2 := mustToken(t, e.do("/login?u=alice", ""))
	b1 := mustToken(t, e.do("/login?u=bob", ""))
	var bobHandle string
	for _, s := range mine(t, e, b1) {
		bobHandle = s.Handle
	}
	// Alice cannot revoke Bob's session, nor learn whether it exists.
	w := e.do("/revoke?h="+bobHandle, a1)
	if w.Code != http.StatusConflict || !strings.Contains(body(w), "not found") {
		t.Fatalf("revoking another user's session: %d %q", w.Code, body(w))
	}
	if w := e.do("/revoke?h=zz", a1); w.Code != http.StatusConflict {
		t.Fatalf("malformed handle: %d", w.Code)
	}
	if got := body(e.do("/whoami", b1)); got != "bob" {
		t.Fatal("bob's session was revoked by alice")
	}
	var a2Handle string
	for _, s := range mine(t, e, a1) {
		if !s.Current {
			a2Handle = s.Handle
		}
	}
	if w := e.do("/revoke?h="+a2Handle, a1); w.Code != 200 {
		t.Fatalf("revoking own other session: %d %q", w.Code, body(w))
	}
	if got := body(e.do("/whoami", a2)); got != "" {
		t.Fatal("revoked session still works")
	}
	// Revoking the current session logs out (cookie cleared).
	var cur string
	for _, s := range mine(t, e, a1) {
		cur = s.Handle
	}
	w = e.do("/revoke?h="+cur, a1)
	if c := sessionCookie(w); c == nil || c.MaxAge != -1 {
		t.Fatalf("revoking the current session did not clear the cookie: %v", w.Header()["Set-Cookie"])
	}
	if got := body(e.do("/whoami", a1)); got != "" {
		t.Fatal("current session survived its revocation")
	}
}

func TestRevokeOtherSessionsAndAdmin(t *testing.T) {
	e := usersEnv(t)
	keep := mustToken(t, e.do("/login?u=alice", ""))
	var others []string
	for range 3 {
		others = append(others, mustToken(t, e.do("/login?u=alice", "")))
	}
	if got := body(e.do("/revoke-others", keep)); got != "3" {
		t.Fatalf("revoke-others = %q", got)
	}
	for _, tok := range others {
		if body(e.do("/whoami", tok)) != "" {
			t.Fatal("other session survived")
		}
	}
	if body(e.do("/whoami", keep)) != "alice" {
		t.Fatal("current session revoked")
	}
	list := mine(t, e, keep)
	existed, err := e.m.AdminRevokeSession(context.Background(), list[0].Handle)
	if err != nil || !existed {
		t.Fatalf("AdminRevokeSession = %v, %v", existed, err)
	}
	if body(e.do("/whoami", keep)) != "" {
		t.Fatal("admin revocation did not take effect")
	}
	if _, err := e.m.AdminRevokeSession(context.Background(), "nope"); err == nil {
		t.Fatal("malformed handle accepted")
	}
}

func TestMaxSessionsPerUserEvictsLeastRecentlyActive(t *testing.T) {
	e := usersEnv(t, session.WithMaxSessionsPerUser(2))
	first := mustToken(t, e.do("/login?u=alice", ""))
	e.clock.Advance(time.Minute)
	second := mustToken(t, e.do("/login?u=alice", ""))
	e.clock.Advance(5 * time.Minute)
	e.do("/whoami", first) // first is now more recently active (touched)
	e.clock.Advance(time.Minute)
	third := mustToken(t, e.do("/login?u=alice", ""))
	if body(e.do("/whoami", second)) != "" {
		t.Fatal("the least recently active session was not evicted")
	}
	if body(e.do("/whoami", first)) != "alice" || body(e.do("/whoami", third)) != "alice" {
		t.Fatal("a recent session was evicted")
	}
	if _, err := session.New(minimalStore{}, session.WithMaxSessionsPerUser(1)); !errors.Is(err, session.ErrConfig) {
		t.Fatalf("limit without a user index: %v", err)
	}
}

func TestClientIPFromTrustedProxiesOnly(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	cases := []struct {
		name    string
		remote  string
		headers []string
		want    string
	}{
		{"direct", "203.0.113.5:1000", nil, "203.0.113.5"},
		{"spoofed XFF from untrusted peer", "203.0.113.5:1000", []string{"X-Forwarded-For", "1.2.3.4"}, "203.0.113.5"},
		{"XFF via trusted proxy", "10.1.2.3:1000", []string{"X-Forwarded-For", "198.51.100.1"}, "198.51.100.1"},
		{"XFF chain: rightmost untrusted", "10.1.2.3:1000", []string{"X-Forwarded-For", "6.6.6.6, 198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"Forwarded", "[::1]:1000", []string{"Forwarded", `for="[2001:db8::5]:4711";proto=https`}, "2001:db8::5"},
		{"garbage chain", "10.1.2.3:1000", []string{"X-Forwarded-For", "not-an-ip"}, "10.1.2.3"},
		{"only proxies", "10.1.2.3:1000", []string{"X-Forwarded-For", "10.0.0.1"}, "10.1.2.3"},
		{"IPv4-mapped peer", "[::ffff:192.0.2.44]:80", nil, "192.0.2.44"},
	}
	e := usersEnv(t, session.WithTrustedProxies(proxies...))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := mustToken(t, e.doFrom("/login?u="+url.QueryEscape("ip-"+tc.name), "", tc.remote, "UA", tc.headers...))
			list := mine(t, e, tok)
			if len(list) != 1 || list[0].IP != tc.want {
				t.Fatalf("recorded IP %+v, want %q", list, tc.want)
			}
		})
	}
	// Privacy switches.
	e = usersEnv(t, session.WithoutClientIP(), session.WithoutUserAgent())
	tok := mustToken(t, e.doFrom("/login?u=private", "", "203.0.113.5:1", "Firefox"))
	if list := mine(t, e, tok); list[0].IP != "" || list[0].UserAgent != "" {
		t.Fatalf("recorded despite the privacy options: %+v", list[0])
	}
}

// A session used from a new address records it at the next refresh.
func TestClientChangeRecordedOnRefresh(t *testing.T) {
	e := usersEnv(t)
	tok := mustToken(t, e.doFrom("/login?u=alice", "", "203.0.113.5:1", "Firefox"))
	e.clock.Advance(10 * time.Minute)
	e.store.reset()
	e.doFrom("/whoami", tok, "198.51.100.9:2", "Firefox")
	if e.store.count("update") != 1 || e.store.count("touch") != 0 {
		t.Fatalf("refresh from a new address: %v", e.store.calls)
	}
	if list := mine(t, e, tok); list[0].IP != "198.51.100.9" {
		t.Fatalf("IP after moving: %q", list[0].IP)
	}
}

// renewingStore is a memstore whose next Delete first renews the session
// it is asked to delete to a new digest: a renewal committed between a
// revocation's read and its delete.
type renewingStore struct {
	*memstore.Store
	renewed *session.Digest // set: the next Delete renews to it
}

func (s *renewingStore) Delete(ctx context.Context, d session.Digest) (bool, error) {
	if to := s.renewed; to != nil {
		s.renewed = nil
		rec, err := s.Store.Load(ctx, d)
		if err != nil {
			return false, err
		}
		if err := s.Store.Renew(ctx, d, *to, rec); err != nil {
			return false, err
		}
	}
	return s.Store.Delete(ctx, d)
}

// Issue 17: AdminRevokeSession ends a session that a renewal moves while
// the call runs (before, it deleted by digest only, found nothing and
// left the renewed session alive, reporting false).
func TestAdminRevokeFollowsARenewal(t *testing.T) {
	inner := memstore.New(memstore.WithCleanupInterval(0))
	t.Cleanup(inner.Stop)
	st := &renewingStore{Store: inner}
	m, err := session.New(st, session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	token := sessiontest.LoginToken(t, m, "alice", nil)
	d, _ := session.DigestOf(token)
	to := sessiontest.NewDigest()
	st.renewed = &to
	existed, err := m.AdminRevokeSession(ctx, d.Handle())
	if err != nil || !existed {
		t.Fatalf("AdminRevokeSession = %v, %v; want true", existed, err)
	}
	if _, err := inner.Load(ctx, to); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("the session renewed during the revocation survived it (Load: %v)", err)
	}
	if existed, err := m.AdminRevokeSession(ctx, d.Handle()); err != nil || existed {
		t.Fatalf("AdminRevokeSession of a revoked handle = %v, %v", existed, err)
	}
}

// AdminRevokeSession ends a session it cannot read (a record the store
// cannot decode, such as a Python pickle, or a failed read) by its handle
// alone, and fails when it can neither read nor find it.
func TestAdminRevokeUnreadableSession(t *testing.T) {
	e := usersEnv(t)
	ctx := context.Background()
	tok := mustToken(t, e.do("/login?u=alice", ""))
	d, _ := session.DigestOf(tok)
	e.store.setFail("load", errBoom)
	existed, err := e.m.AdminRevokeSession(ctx, d.Handle())
	if err != nil || !existed {
		t.Fatalf("AdminRevokeSession of an unreadable session = %v, %v; want true", existed, err)
	}
	if _, err := e.store.inner.Load(ctx, d); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("the unreadable session survived its revocation: %v", err)
	}
	if existed, err := e.m.AdminRevokeSession(ctx, d.Handle()); err == nil || existed {
		t.Fatalf("neither read nor found: %v, %v; want an error", existed, err)
	}
	e.store.setFail("load", fmt.Errorf("%w: garbled", session.ErrCorrupt))
	if existed, err := e.m.AdminRevokeSession(ctx, d.Handle()); err != nil || existed {
		t.Fatalf("a corrupt record not found: %v, %v; want false, nil", existed, err)
	}
}

// RevokeOtherSessions and MySessions after the response was written (a
// login, a redirect, then the call) know the session the login stored: the
// review found it deleted as one of the others, the request's own digest
// read as none once the commit had created the session.
func TestRevokeOtherSessionsAfterCommitKeepsOwn(t *testing.T) {
	e := usersEnv(t)
	other := mustToken(t, e.do("/login?u=alice", ""))
	var n int
	var current int
	e.mux.HandleFunc("/login-redirect-revoke", func(w http.ResponseWriter, r *http.Request) {
		if err := e.m.Login(r.Context(), "alice"); err != nil {
			t.Error(err)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther) // commits: the session is created
		var err error
		if n, err = e.m.RevokeOtherSessions(r.Context()); err != nil {
			t.Error(err)
		}
		list, err := e.m.MySessions(r.Context())
		if err != nil {
			t.Error(err)
		}
		for _, s := range list {
			if s.Current {
				current++
			}
		}
	})
	tok := mustToken(t, e.do("/login-redirect-revoke", ""))
	if n != 1 || current != 1 {
		t.Fatalf("revoked %d (want the 1 other), %d current sessions listed", n, current)
	}
	if body(e.do("/whoami", tok)) != "alice" {
		t.Fatal("the request's own new session was revoked")
	}
	if body(e.do("/whoami", other)) != "" {
		t.Fatal("the other session survived")
	}
}
