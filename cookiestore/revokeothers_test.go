package cookiestore_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/cookiestore"
	"github.com/sessionkit/session/memstore"
)

// clockedApp is a client-side app with a revocation hook on a memory store,
// all on clock, and the store of the markers.
func clockedApp(t *testing.T, clock func() time.Time) (*app, *widestRecord) {
	t.Helper()
	mem := memstore.New(memstore.WithCleanupInterval(0), memstore.WithClock(clock))
	t.Cleanup(mem.Stop)
	markers := &widestRecord{Store: mem}
	rev, err := cookiestore.NewRevocations(markers, 12*time.Hour, cookiestore.WithRevocationsClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	return newApp(t, mustNew(t, [][]byte{key1}, cookiestore.WithRevocations(rev)), session.WithClock(clock)), markers
}

// "Log out other devices" works on cookie sessions with a revocation hook:
// the user's other cookies are refused, the request's own and its renewals
// stay, and a later revocation of the user covers those too.
func TestRevokeOtherSessions(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	a, _ := clockedApp(t, func() time.Time { return now })
	var others []string
	for range 2 {
		now = now.Add(time.Millisecond)
		others = append(others, cookieOf(a.do("/login?u=bob", "")))
	}
	now = now.Add(time.Millisecond)
	alice := cookieOf(a.do("/login?u=alice", ""))
	cur := cookieOf(a.do("/login?u=bob", ""))
	now = now.Add(time.Millisecond)
	w := a.do("/revoke-others", cur)
	if w.Code != http.StatusOK {
		t.Fatalf("RevokeOtherSessions: %d %q", w.Code, w.Body.String())
	}
	if c := cookieOf(w); c != "" {
		t.Fatal("RevokeOtherSessions replaced the current cookie")
	}
	for i, c := range others {
		if got := a.do("/whoami", c).Body.String(); got != "" {
			t.Fatalf("other session %d still works: %q", i, got)
		}
	}
	if got := a.do("/whoami", cur).Body.String(); got != "bob" {
		t.Fatalf("the current session: %q", got)
	}
	if got := a.do("/whoami", alice).Body.String(); got != "alice" {
		t.Fatalf("another user's session: %q", got)
	}
	now = now.Add(time.Millisecond)
	renewed := cookieOf(a.do("/renew", cur))
	if renewed == "" || renewed == cur {
		t.Fatal("no renewal")
	}
	if got := a.do("/whoami", renewed).Body.String(); got != "bob" {
		t.Fatalf("the current session renewed: %q", got)
	}
	now = now.Add(time.Millisecond)
	if _, err := a.m.RevokeUser(context.Background(), "bob"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{cur, renewed} {
		if got := a.do("/whoami", c).Body.String(); got != "" {
			t.Fatalf("RevokeUser after RevokeOtherSessions left the kept session working: %q", got)
		}
	}
}

// A login and RevokeOtherSessions in one request (after a password reset)
// keep the session the login starts, whose creation time is set at commit,
// later than the call (the clock moves on with every reading).
func TestLoginThenRevokeOtherSessions(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	var mu sync.Mutex
	a, _ := clockedApp(t, func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond)
		return now
	})
	old := cookieOf(a.do("/login?u=bob", ""))
	anon := cookieOf(a.do("/set?k=x&v=1", ""))
	for _, presented := range []string{anon, ""} {
		w := a.do("/revoke-others?login=bob", presented)
		fresh := cookieOf(w)
		if w.Code != http.StatusOK || fresh == "" {
			t.Fatalf("login and RevokeOtherSessions: %d %q", w.Code, w.Body.String())
		}
		if got := a.do("/whoami", fresh).Body.String(); got != "bob" {
			t.Fatalf("the session the login started: %q", got)
		}
		if got := a.do("/whoami", old).Body.String(); got != "" {
			t.Fatalf("the earlier session still works: %q", got)
		}
		old = fresh
	}
}

// Each RevokeOtherSessions supersedes the earlier ones: the user's marker
// does not grow with them.
func TestRevokeOtherSessionsBounded(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	a, markers := clockedApp(t, func() time.Time { return now })
	devices := []string{cookieOf(a.do("/login?u=bob", ""))}
	for i := range 300 {
		now = now.Add(time.Millisecond)
		devices = append(devices, cookieOf(a.do("/login?u=bob", "")))
		cur := devices[len(devices)-1]
		now = now.Add(time.Millisecond)
		if w := a.do("/revoke-others", cur); w.Code != http.StatusOK {
			t.Fatalf("call %d: %d %q", i, w.Code, w.Body.String())
		}
		if got := a.do("/whoami", devices[len(devices)-2]).Body.String(); got != "" {
			t.Fatalf("call %d: the previous device still works", i)
		}
		if got := a.do("/whoami", cur).Body.String(); got != "bob" {
			t.Fatalf("call %d: the current device: %q", i, got)
		}
	}
	if n := markers.widest(); n > 4 {
		t.Fatalf("the user's marker holds %d keys after 300 calls", n)
	}
}

// Without a revocation hook a cookie cannot be revoked: RevokeOtherSessions
// says so. With one, after the response is written it refuses (the cookie
// sent may be a new session's).
func TestRevokeOtherSessionsRefused(t *testing.T) {
	plain := newApp(t, mustNew(t, [][]byte{key1}))
	if err := revokeOthersFrom(plain, cookieOf(plain.do("/login?u=bob", "")), false); !errors.Is(err, session.ErrUnsupported) {
		t.Fatalf("without a hook: %v", err)
	}
	a := revokingApp(t)
	if err := revokeOthersFrom(a, cookieOf(a.do("/login?u=bob", "")), true); !errors.Is(err, session.ErrCommitted) {
		t.Fatalf("after the response was written: %v", err)
	}
}

// revokeOthersFrom calls RevokeOtherSessions in a request with cookie,
// after writing the response when written, and returns its error.
func revokeOthersFrom(a *app, cookie string, written bool) error {
	var err error
	h := a.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if written {
			w.WriteHeader(http.StatusNoContent)
		}
		_, err = a.m.RevokeOtherSessions(r.Context())
	}))
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: cookie})
	h.ServeHTTP(httptest.NewRecorder(), r)
	return err
}
