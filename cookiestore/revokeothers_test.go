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

// serve runs f in a request of a's manager carrying cookie and returns the
// response.
func serve(a *app, cookie string, f func(ctx context.Context) error) *httptest.ResponseRecorder {
	h := a.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := f(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	r := httptest.NewRequest("GET", "/", nil)
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: cookie})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// A RevokeUser that returned while a request of the user's ran covers that
// request's session, also when the request then calls RevokeOtherSessions
// (the review of the first version found that the call spared it).
func TestRevokeOtherSessionsAfterRevokeUser(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	a, _ := clockedApp(t, func() time.Time { return now })
	k := cookieOf(a.do("/login?u=bob", ""))
	now = now.Add(time.Millisecond)
	serve(a, k, func(ctx context.Context) error {
		if u, err := session.FromContext(ctx).UserID(); err != nil || u != "bob" { // the session is open
			t.Fatalf("the request's user: %q %v", u, err)
		}
		if _, err := a.m.RevokeUser(context.Background(), "bob"); err != nil { // an administrator's
			return err
		}
		now = now.Add(time.Millisecond)
		_, err := a.m.RevokeOtherSessions(ctx)
		return err
	})
	if got := a.do("/whoami", k).Body.String(); got != "" {
		t.Fatalf("a session revoked by RevokeUser works again after its own RevokeOtherSessions: %q", got)
	}
}

// Two devices logging each other out: the call that returned first covers
// the other device's session, whose own call came later (both end, as on a
// server-side store).
func TestRevokeOtherSessionsFromTwoDevices(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	a, _ := clockedApp(t, func() time.Time { return now })
	devA := cookieOf(a.do("/login?u=bob", ""))
	now = now.Add(time.Millisecond)
	devB := cookieOf(a.do("/login?u=bob", ""))
	now = now.Add(time.Millisecond)
	w := serve(a, devA, func(ctx context.Context) error {
		if u, err := session.FromContext(ctx).UserID(); err != nil || u != "bob" { // the session is open
			t.Fatalf("the request's user: %q %v", u, err)
		}
		if w := a.do("/revoke-others", devB); w.Code != http.StatusOK {
			t.Fatalf("B's call: %d", w.Code)
		}
		now = now.Add(time.Millisecond)
		_, err := a.m.RevokeOtherSessions(ctx)
		return err
	})
	if w.Code != http.StatusOK {
		t.Fatalf("A's call: %d %q", w.Code, w.Body.String())
	}
	if got := a.do("/whoami", devA).Body.String(); got != "" {
		t.Fatalf("device A survived B's call: %q", got)
	}
	if got := a.do("/whoami", devB).Body.String(); got != "" {
		t.Fatalf("device B survived A's later call: %q", got)
	}
}

// A server whose clock is ahead spares the lineage RevokeOtherSessions was
// called from only from its own revocation: a RevokeUser made later on a
// server with the right clock still covers it.
func TestRevokeOtherSessionsUnderClockSkew(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	mem := memstore.New(memstore.WithCleanupInterval(0))
	t.Cleanup(mem.Stop)
	rev, err := cookiestore.NewRevocations(mem, 12*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cs := mustNew(t, [][]byte{key1}, cookiestore.WithRevocations(rev))
	right := newApp(t, cs, session.WithClock(func() time.Time { return now }))
	ahead := newApp(t, cs, session.WithClock(func() time.Time { return now.Add(5 * time.Second) }))
	k := cookieOf(right.do("/login?u=bob", ""))
	now = now.Add(time.Millisecond)
	if w := ahead.do("/revoke-others", k); w.Code != http.StatusOK {
		t.Fatalf("RevokeOtherSessions: %d %q", w.Code, w.Body.String())
	}
	now = now.Add(time.Millisecond)
	if _, err := right.m.RevokeUser(context.Background(), "bob"); err != nil {
		t.Fatal(err)
	}
	for name, a := range map[string]*app{"right": right, "ahead": ahead} {
		if got := a.do("/whoami", k).Body.String(); got != "" {
			t.Fatalf("on the server whose clock is %s, RevokeUser left the spared session working: %q", name, got)
		}
	}
}

// A login after RevokeOtherSessions in the same request (same millisecond)
// is the request's own session: it is kept.
func TestRevokeOtherSessionsThenLogin(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	a, _ := clockedApp(t, func() time.Time { return now })
	k := cookieOf(a.do("/login?u=bob", ""))
	now = now.Add(time.Millisecond)
	w := serve(a, k, func(ctx context.Context) error {
		if _, err := a.m.RevokeOtherSessions(ctx); err != nil {
			return err
		}
		return a.m.Login(ctx, "bob")
	})
	fresh := cookieOf(w)
	if w.Code != http.StatusOK || fresh == "" {
		t.Fatalf("RevokeOtherSessions then Login: %d %q", w.Code, w.Body.String())
	}
	if got := a.do("/whoami", fresh).Body.String(); got != "bob" {
		t.Fatalf("the session the login started: %q", got)
	}
}

// A login after RevokeOtherSessions in the same request is a new session,
// authenticated after the call: a logout of the old session's lineage
// (from a copy of its cookie, in a parallel request) does not end it, nor
// does the call's own revocation when a Destroy came in between, all in
// one millisecond (the review of the second version found both).
func TestLoginAfterRevokeOtherSessionsIsNew(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	a, _ := clockedApp(t, func() time.Time { return now })
	for _, destroyFirst := range []bool{false, true} {
		k := cookieOf(a.do("/login?u=bob", ""))
		now = now.Add(time.Millisecond)
		w := serve(a, k, func(ctx context.Context) error {
			if _, err := a.m.RevokeOtherSessions(ctx); err != nil {
				return err
			}
			if destroyFirst {
				if err := a.m.Destroy(ctx); err != nil {
					return err
				}
			} else if w := a.do("/logout", k); w.Code != http.StatusOK { // a copy of the cookie
				t.Fatalf("parallel logout: %d", w.Code)
			}
			return a.m.Login(ctx, "bob")
		})
		fresh := cookieOf(w)
		if w.Code != http.StatusOK || fresh == "" {
			t.Fatalf("destroy first %v: %d %q", destroyFirst, w.Code, w.Body.String())
		}
		if got := a.do("/whoami", fresh).Body.String(); got != "bob" {
			t.Fatalf("destroy first %v: the login after the call: %q", destroyFirst, got)
		}
		now = now.Add(time.Millisecond)
	}
}

// Another user's login after RevokeOtherSessions in the same request
// starts a session of its own: created at its commit, not at the time
// the call chose for the first user's pending login.
func TestOtherUserLoginAfterRevokeOtherSessions(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	a, _ := clockedApp(t, func() time.Time { return now })
	var chosen time.Time
	w := serve(a, "", func(ctx context.Context) error {
		if err := a.m.Login(ctx, "bob"); err != nil {
			return err
		}
		if _, err := a.m.RevokeOtherSessions(ctx); err != nil {
			return err
		}
		chosen = now
		now = now.Add(time.Millisecond)
		return a.m.Login(ctx, "alice")
	})
	c := cookieOf(w)
	var created time.Time
	serve(a, c, func(ctx context.Context) (err error) {
		created, err = session.FromContext(ctx).CreatedAt()
		return err
	})
	if got := a.do("/whoami", c).Body.String(); got != "alice" || !created.After(chosen) {
		t.Fatalf("alice's session: %q, created %v (bob's pending login's time %v)", got, created, chosen)
	}
}

// A login that follows a revocation of its user in the same request (a
// password reset: RevokeUser, then Login; or a logout past the bound of
// logged-out lineages, which records a "not before" time, then Login) in
// the same millisecond leaves the client logged in: the review found the
// new cookie refused from the next request on, 100 times in 100 on the
// real clock.
func TestLoginAfterRevocationInOneRequest(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	a, _ := clockedApp(t, func() time.Time { return now })
	loginAfter := func(cookie string, revoke func(ctx context.Context) error) string {
		t.Helper()
		w := serve(a, cookie, func(ctx context.Context) error {
			if err := revoke(ctx); err != nil {
				return err
			}
			return a.m.Login(ctx, "bob")
		})
		fresh := cookieOf(w)
		if w.Code != http.StatusOK || fresh == "" {
			t.Fatalf("%d %q", w.Code, w.Body.String())
		}
		return fresh
	}
	c := loginAfter("", func(ctx context.Context) error {
		_, err := a.m.RevokeUser(ctx, "bob")
		return err
	})
	if got := a.do("/whoami", c).Body.String(); got != "bob" {
		t.Fatalf("after RevokeUser then Login: %q", got)
	}
	for range 300 { // past the bound of logged-out lineages
		now = now.Add(time.Millisecond)
		a.do("/logout", cookieOf(a.do("/login?u=bob", "")))
	}
	now = now.Add(time.Millisecond)
	k := cookieOf(a.do("/login?u=bob", ""))
	c = loginAfter(k, a.m.Destroy)
	if got := a.do("/whoami", c).Body.String(); got != "bob" {
		t.Fatalf("after a logout past the bound then Login: %q", got)
	}
}

// "Log out other devices" spares the caller's lineage only, named to the
// nanosecond: another session of the user created in the same millisecond
// is logged out (the review found it spared, a way for someone holding the
// password to keep a session by logging in continuously); so is it by a
// logout of its own lineage only.
func TestLineagesFinerThanAMillisecond(t *testing.T) {
	base := time.Now().UTC().Truncate(time.Millisecond)
	var mu sync.Mutex
	tick := time.Duration(0)
	a, _ := clockedApp(t, func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		tick += time.Microsecond // within one millisecond for the whole test
		return base.Add(tick)
	})
	attacker := cookieOf(a.do("/login?u=bob", ""))
	victim := cookieOf(a.do("/login?u=bob", ""))
	other := cookieOf(a.do("/login?u=bob", ""))
	if w := a.do("/logout", other); w.Code != http.StatusOK {
		t.Fatalf("logout: %d", w.Code)
	}
	if got := a.do("/whoami", victim).Body.String(); got != "bob" {
		t.Fatalf("a logout of another session created in the same millisecond ended this one: %q", got)
	}
	if w := a.do("/revoke-others", victim); w.Code != http.StatusOK {
		t.Fatalf("RevokeOtherSessions: %d %q", w.Code, w.Body.String())
	}
	if got := a.do("/whoami", attacker).Body.String(); got != "" {
		t.Fatalf("a session created in the caller's millisecond survived its RevokeOtherSessions: %q", got)
	}
	if got := a.do("/whoami", victim).Body.String(); got != "bob" {
		t.Fatalf("the caller: %q", got)
	}
	if tick >= time.Millisecond {
		t.Fatalf("the test left its millisecond (%v)", tick)
	}
}
