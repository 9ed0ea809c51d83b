package cookiestore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/cookiestore"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/sessiontest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	key1 = bytes.Repeat([]byte{1}, 32)
	key2 = bytes.Repeat([]byte{2}, 48)
)

func mustNew(t testing.TB, keys [][]byte, opts ...cookiestore.Option) *cookiestore.Store {
	t.Helper()
	s, err := cookiestore.New(keys, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformanceClient(t *testing.T) {
	sessiontest.RunClient(t, func(t *testing.T) session.ClientStore { return mustNew(t, [][]byte{key1}) })
}

func TestKeysRefused(t *testing.T) {
	for name, keys := range map[string][][]byte{
		"none":      nil,
		"short":     {bytes.Repeat([]byte{1}, 31)},
		"all zero":  {make([]byte, 32)},
		"duplicate": {key1, key1},
	} {
		if _, err := cookiestore.New(keys); err == nil {
			t.Errorf("%s keys accepted", name)
		}
	}
}

// app is a manager with handlers: /set, /get, /login, /logout, /whoami.
type app struct {
	m *session.Manager
	h http.Handler
}

// revokingApp serves a client-side manager whose cookies a revocation
// hook over a memory store revokes.
func revokingApp(t testing.TB) *app {
	mem := memstore.New(memstore.WithCleanupInterval(0))
	t.Cleanup(mem.Stop)
	rev, err := cookiestore.NewRevocations(mem, 12*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return newApp(t, mustNew(t, [][]byte{key1}, cookiestore.WithRevocations(rev)))
}

// newApp serves a client-side manager on cs.
func newApp(t testing.TB, cs *cookiestore.Store, opts ...session.Option) *app {
	m, err := session.NewClientSide(cs, append([]session.Option{session.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return appFor(m)
}

// appFor serves m.
func appFor(m *session.Manager) *app {
	mux := http.NewServeMux()
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		session.FromContext(r.Context()).Set(r.FormValue("k"), r.FormValue("v"))
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		v, _, err := session.Get[string](session.FromContext(r.Context()), r.FormValue("k"))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		io.WriteString(w, v)
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) { m.Login(r.Context(), r.FormValue("u")) })
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Destroy(r.Context()); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.HandleFunc("/renew", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Renew(r.Context()); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.HandleFunc("/revoke-others", func(w http.ResponseWriter, r *http.Request) {
		if u := r.FormValue("login"); u != "" {
			if err := m.Login(r.Context(), u); err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
		}
		if _, err := m.RevokeOtherSessions(r.Context()); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		u, _ := session.FromContext(r.Context()).UserID()
		io.WriteString(w, u)
	})
	return &app{m: m, h: m.Handler(mux)}
}

func (a *app) do(path, cookie string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: cookie})
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w
}

func cookieOf(w *httptest.ResponseRecorder) string {
	for _, c := range w.Result().Cookies() {
		if c.Name == session.DefaultCookieName && c.MaxAge >= 0 {
			return c.Value
		}
	}
	return ""
}

func TestThroughTheManager(t *testing.T) {
	a := newApp(t, mustNew(t, [][]byte{key1}))
	c := cookieOf(a.do("/set?k=theme&v=dark", ""))
	if c == "" {
		t.Fatal("no cookie")
	}
	if got := a.do("/get?k=theme", c).Body.String(); got != "dark" {
		t.Fatalf("read back %q", got)
	}
	if w := a.do("/get?k=theme", c); len(w.Result().Cookies()) != 0 {
		t.Fatal("a read-only request rewrote the cookie")
	}
	c2 := cookieOf(a.do("/login?u=alice", c))
	if c2 == "" || c2 == c {
		t.Fatal("login did not issue a new cookie")
	}
	if got := a.do("/whoami", c2).Body.String(); got != "alice" {
		t.Fatalf("whoami %q", got)
	}
	if got := a.do("/get?k=theme", c2).Body.String(); got != "dark" {
		t.Fatal("login lost the data")
	}
	w := a.do("/logout", c2)
	if cs := w.Result().Cookies(); len(cs) != 1 || cs[0].MaxAge != -1 {
		t.Fatalf("logout cookie %v", w.Header()["Set-Cookie"])
	}
	// Without a revocation hook a copied cookie outlives logout, as the
	// package documents: only its deadline ends it.
	if got := a.do("/whoami", c2).Body.String(); got != "alice" {
		t.Fatalf("without a hook, the copied cookie is %q", got)
	}
	if _, err := a.m.RevokeUser(context.Background(), "alice"); !errors.Is(err, session.ErrUnsupported) {
		t.Fatalf("RevokeUser without a hook = %v", err)
	}
	if _, err := a.m.CountActive(context.Background()); !errors.Is(err, session.ErrUnsupported) {
		t.Fatalf("CountActive on cookie sessions = %v", err)
	}
}

func TestRevocationHook(t *testing.T) {
	a := revokingApp(t)
	anon := cookieOf(a.do("/set?k=x&v=1", ""))
	c := cookieOf(a.do("/login?u=alice", anon))
	// The pre-login cookie is dead after login (no fixation by a copy).
	if got := a.do("/get?k=x", anon).Body.String(); got != "" {
		t.Fatal("pre-login cookie still works after login")
	}
	a.do("/logout", c)
	if got := a.do("/whoami", c).Body.String(); got != "" {
		t.Fatal("copied cookie works after logout despite the hook")
	}
	// Logout everywhere.
	d1 := cookieOf(a.do("/login?u=bob", ""))
	d2 := cookieOf(a.do("/login?u=bob", ""))
	time.Sleep(2 * time.Millisecond)
	if _, err := a.m.RevokeUser(context.Background(), "bob"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{d1, d2} {
		if got := a.do("/whoami", c).Body.String(); got != "" {
			t.Fatal("bob's cookie works after RevokeUser")
		}
	}
	time.Sleep(2 * time.Millisecond)
	d3 := cookieOf(a.do("/login?u=bob", ""))
	if got := a.do("/whoami", d3).Body.String(); got != "bob" {
		t.Fatal("a login after the revocation does not work")
	}
}

func TestKeyRotation(t *testing.T) {
	old := newApp(t, mustNew(t, [][]byte{key1}))
	c := cookieOf(old.do("/set?k=a&v=1", ""))
	rotated := newApp(t, mustNew(t, [][]byte{key2, key1}))
	w := rotated.do("/get?k=a", c)
	if w.Body.String() != "1" {
		t.Fatal("old-key cookie does not open after rotation")
	}
	c2 := cookieOf(w)
	if c2 == "" {
		t.Fatal("old-key cookie not re-sealed with the current key")
	}
	onlyNew := newApp(t, mustNew(t, [][]byte{key2}))
	if got := onlyNew.do("/get?k=a", c2).Body.String(); got != "1" {
		t.Fatal("re-sealed cookie does not open with the new key alone")
	}
	if got := onlyNew.do("/get?k=a", c).Body.String(); got != "" {
		t.Fatal("a retired key still opens cookies")
	}
	// A cookie no key opens any more (a retired key, or tampered with) is
	// deleted by the first response, as a dead token is, instead of being
	// sent, refused and logged on every request until its Max-Age.
	w = onlyNew.do("/get?k=a", c)
	deleted := false
	for _, ck := range w.Result().Cookies() {
		deleted = deleted || (ck.Name == session.DefaultCookieName && ck.MaxAge < 0)
	}
	if !deleted {
		t.Fatalf("a cookie sealed with a retired key is not deleted: %q", w.Header().Values("Set-Cookie"))
	}
}

func TestOversizeIsAnError(t *testing.T) {
	a := newApp(t, mustNew(t, [][]byte{key1}))
	w := a.do("/set?k=big&v="+strings.Repeat("x", 5000), "")
	if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), "too large") || len(w.Result().Cookies()) != 0 {
		t.Fatalf("5 KB session: %d %q %v, want a 413 saying so", w.Code, w.Body.String(), w.Header()["Set-Cookie"])
	}
	// Just under the limit works.
	w = a.do("/set?k=big&v="+strings.Repeat("x", 2500), "")
	if c := cookieOf(w); c == "" || len(session.DefaultCookieName)+len(c) > session.MaxCookieSize {
		t.Fatalf("2.5 KB session: %d", w.Code)
	}
}

func TestExpiredPayloadRejected(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	a := newApp(t, mustNew(t, [][]byte{key1}), session.WithClock(clock), session.WithIdleTimeout(time.Minute))
	c := cookieOf(a.do("/set?k=a&v=1", ""))
	now = now.Add(2 * time.Minute)
	if got := a.do("/get?k=a", c).Body.String(); got != "" {
		t.Fatal("expired cookie session accepted")
	}
}

func FuzzOpen(f *testing.F) {
	s := mustNew(f, [][]byte{key1})
	good, _ := s.Seal(context.Background(), "sid", sessiontest.NewDigest(), &session.Record{Values: map[string][]byte{"a": []byte(`1`)},
		IdleExpiry: time.Now().Add(time.Hour), AbsExpiry: time.Now().Add(time.Hour)})
	f.Add(good)
	f.Add("")
	f.Add(good[:10])
	f.Add(strings.Repeat("A", 5000))
	f.Add(base64.RawURLEncoding.EncodeToString([]byte{1, 0, 0, 0, 0}))
	f.Fuzz(func(t *testing.T, v string) {
		_, rec, _, err := s.Open(context.Background(), "sid", v, time.Now())
		// Only cookies this key sealed open, and the fuzzer never sees the
		// key: anything that opens must carry the seeded record (each
		// fuzzing process seals its own copy, with its own nonce).
		if err == nil && (len(rec.Values) != 1 || string(rec.Values["a"]) != "1") {
			t.Fatalf("forged cookie %q opened: %+v", v, rec)
		}
		if err != nil && !errors.Is(err, session.ErrInvalidCookie) {
			t.Fatalf("error class %v", err)
		}
	})
}

func TestPayloadStringsRoundTrip(t *testing.T) {
	s := mustNew(t, [][]byte{key1})
	now := time.Now().UTC().Truncate(time.Millisecond)
	// Strings and values come back byte for byte, whatever they hold: the
	// payload is length-prefixed, and values are the codec's bytes.
	for _, str := range []string{`quote " backslash \ slash /`, "ctl \x01\x1f\t\n\x00", "bad utf8 \xff\xfe", "emoji 🙂 \u2028", ""} {
		rec := &session.Record{Values: map[string][]byte{str + "k": []byte(str)}, UserID: str, UserAgent: str, IP: str,
			Created: now, LastSeen: now, IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(time.Hour)}
		v, err := s.Seal(context.Background(), "sid", sessiontest.NewDigest(), rec)
		if err != nil {
			t.Fatal(err)
		}
		_, got, _, err := s.Open(context.Background(), "sid", v, now)
		if err != nil {
			t.Fatalf("%q: %v", str, err)
		}
		if got.UserID != str || got.UserAgent != str || got.IP != str {
			t.Fatalf("%q came back as %q, %q, %q", str, got.UserID, got.UserAgent, got.IP)
		}
		if b, ok := got.Values[str+"k"]; !ok || string(b) != str || len(got.Values) != 1 {
			t.Fatalf("values of %q came back as %q", str, got.Values)
		}
	}
}

// testdata/v1-cookie.txt was sealed with key1 for the default cookie name by the
// version-1 (JSON payload) code this package shipped before the binary
// payload, with deadlines in 2200.
func TestVersion1CookieOpensAndIsResealed(t *testing.T) {
	raw, err := os.ReadFile("testdata/v1-cookie.txt")
	if err != nil {
		t.Fatal(err)
	}
	v1 := strings.TrimSpace(string(raw))
	created := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	far := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
	// The manager's own idle and absolute checks run from the record's
	// times, so the clock stays a minute after the cookie was made.
	at := created.Add(time.Minute)
	s := mustNew(t, [][]byte{key1})
	id, rec, reseal, err := s.Open(context.Background(), session.DefaultCookieName, v1, at)
	if err != nil {
		t.Fatalf("version-1 cookie: %v", err)
	}
	for i := range id {
		if id[i] != byte(i) {
			t.Fatalf("id %x", id)
		}
	}
	if !reseal || rec.UserID != "ada" || !rec.AuthTime.Equal(created) || !rec.Created.Equal(created) || !rec.LastSeen.Equal(created) ||
		rec.IdleTimeout != time.Hour || !rec.IdleExpiry.Equal(far) || !rec.AbsExpiry.Equal(far) || rec.Version != 7 ||
		rec.IP != "192.0.2.1" || rec.UserAgent != "Firefox" || len(rec.Values) != 2 ||
		string(rec.Values["name"]) != `"Ada"` || string(rec.Values["n"]) != "42" {
		t.Fatalf("reseal %v, record %+v", reseal, rec)
	}
	if _, _, _, err := s.Open(context.Background(), "other", v1, at); err != session.ErrInvalidCookie {
		t.Fatalf("version-1 cookie under another name: %v", err)
	}

	// Through the manager, the first response re-seals it in the current
	// format, which then opens without asking for another re-seal.
	a := newApp(t, s, session.WithClock(func() time.Time { return at }))
	w := a.do("/get?k=name", v1)
	if w.Body.String() != `Ada` {
		t.Fatalf("value through the manager: %q", w.Body.String())
	}
	c := cookieOf(w)
	if c == "" {
		t.Fatal("version-1 cookie not re-sealed")
	}
	if b, _ := base64.RawURLEncoding.DecodeString(c); len(b) == 0 || b[0] != 2 {
		t.Fatalf("re-sealed cookie has format version %v", b[:1])
	}
	if _, rec, reseal, err := s.Open(context.Background(), session.DefaultCookieName, c, at); err != nil || reseal || rec.UserID != "ada" {
		t.Fatalf("re-sealed cookie: reseal %v, %v", reseal, err)
	}
}

// Issue 17: once RevokeUser returns, no cookie of the user issued before
// it, nor one re-sealed by a renewal or a write racing it, is accepted.
func TestRevocationRace(t *testing.T) {
	sessiontest.RevocationRace(t, revokingManager(t), 300)
}

// revokingManager is a client-side manager with the revocation hook on a
// memory store.
func revokingManager(t *testing.T) *session.Manager {
	mem := memstore.New(memstore.WithCleanupInterval(0))
	t.Cleanup(mem.Stop)
	rev, err := cookiestore.NewRevocations(mem, 12*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.NewClientSide(mustNew(t, [][]byte{key1}, cookiestore.WithRevocations(rev)), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Issue 17 (5): a double-submitted login form leaves a working login
// whichever response the browser processes last.
func TestDoubleLogin(t *testing.T) {
	m, err := session.NewClientSide(mustNew(t, [][]byte{key1}), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	sessiontest.DoubleLogin(t, m, 300)
}

// The same with the revocation hook, where a login re-checks the session
// it read at commit (the other login's renewal revoked it, so one of the
// two starts a new session): still a working login either way.
func TestDoubleLoginWithRevocations(t *testing.T) {
	sessiontest.DoubleLogin(t, revokingManager(t), 300)
}

// Issue 17 (2): a second revocation of a user keeps the marker until every
// cookie it revokes has expired. Revoke, log in again, revoke again: once
// the first marker would have expired, the cookie revoked by the second
// call is still refused (it used to become valid again from then until its
// own deadline).
func TestSecondRevocationOutlivesTheFirst(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	clock := func() time.Time { return now }
	mem := memstore.New(memstore.WithCleanupInterval(0), memstore.WithClock(clock))
	defer mem.Stop()
	rev, err := cookiestore.NewRevocations(mem, 12*time.Hour, cookiestore.WithRevocationsClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t, mustNew(t, [][]byte{key1}, cookiestore.WithRevocations(rev)),
		session.WithClock(clock), session.WithIdleTimeout(12*time.Hour), session.WithAbsoluteTimeout(12*time.Hour))
	ctx := context.Background()
	first := cookieOf(a.do("/login?u=bob", ""))
	now = now.Add(time.Hour)
	if _, err := a.m.RevokeUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(4 * time.Hour)
	second := cookieOf(a.do("/login?u=bob", ""))
	if got := a.do("/whoami", second).Body.String(); got != "bob" {
		t.Fatalf("login after the first revocation: %q", got)
	}
	now = now.Add(time.Millisecond)
	if _, err := a.m.RevokeUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	secondAt := now
	// Past the first marker's expiry (first revocation + 12 h), with the
	// store removing what has expired, as Redis or a cleaner does.
	for _, step := range []time.Duration{8*time.Hour - time.Millisecond, time.Millisecond, time.Hour} {
		now = now.Add(step)
		if _, err := mem.DeleteExpired(ctx, now, 100); err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{first, second} {
			if got := a.do("/whoami", c).Body.String(); got != "" {
				t.Fatalf("%v after the second revocation, a revoked cookie works again (%q)", now.Sub(secondAt), got)
			}
		}
	}
	// A login after the second revocation works.
	now = now.Add(time.Millisecond)
	if got := a.do("/whoami", cookieOf(a.do("/login?u=bob", ""))).Body.String(); got != "bob" {
		t.Fatalf("login after the second revocation: %q", got)
	}
}

// Issue 20: "remember me" works for sessions sealed in the cookie too (the
// review of the change found SetLifetime ignored there).
func TestRememberMeClientSide(t *testing.T) {
	const month = 30 * 24 * time.Hour
	now := time.Now()
	clock := func() time.Time { return now }
	a := newApp(t, mustNew(t, [][]byte{key1}), session.WithClock(clock), session.WithMaxLifetime(month))
	mux := http.NewServeMux()
	mux.HandleFunc("/remember", func(w http.ResponseWriter, r *http.Request) {
		a.m.Login(r.Context(), "alice")
		if err := session.FromContext(r.Context()).SetLifetime(month, month); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.Handle("/", a.h)
	h := a.m.Handler(mux)
	r := httptest.NewRequest("GET", "/remember", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var c *http.Cookie
	for _, ck := range w.Result().Cookies() {
		if ck.Name == session.DefaultCookieName {
			c = ck
		}
	}
	if c == nil || c.MaxAge != int(month/time.Second) {
		t.Fatalf("remember-me cookie: %v (%d %q)", c, w.Code, w.Body.String())
	}
	now = now.Add(13 * time.Hour)
	if got := strings.TrimSpace(a.do("/whoami", c.Value).Body.String()); got != "alice" {
		t.Fatalf("remembered client-side session after 13 hours: %q", got)
	}
	// Its user logging in again keeps the month.
	w = a.do("/login?u=alice", c.Value)
	for _, ck := range w.Result().Cookies() {
		if ck.Name == session.DefaultCookieName && ck.MaxAge != int(month/time.Second) {
			t.Fatalf("re-login of a remembered client-side session: Max-Age %d", ck.MaxAge)
		}
	}
	if cookieOf(w) == "" {
		t.Fatalf("re-login set no cookie: %d %q", w.Code, w.Body.String())
	}
}

// A revocation hook keeps its markers for the lifetime given to
// NewRevocations: a manager whose sessions can live longer (remember me
// under WithMaxLifetime) is refused, since a cookie it logged out would
// become valid again once the marker expired; with a long enough hook, a
// remembered cookie logged out stays refused for its whole life.
func TestRevocationsOutliveRememberedCookies(t *testing.T) {
	const month = 30 * 24 * time.Hour
	now := time.Now().UTC().Truncate(time.Millisecond)
	clock := func() time.Time { return now }
	mem := memstore.New(memstore.WithCleanupInterval(0), memstore.WithClock(clock))
	defer mem.Stop()
	short, err := cookiestore.NewRevocations(mem, 12*time.Hour, cookiestore.WithRevocationsClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	_, err = session.NewClientSide(mustNew(t, [][]byte{key1}, cookiestore.WithRevocations(short)), session.WithMaxLifetime(month))
	if !errors.Is(err, session.ErrConfig) || !strings.Contains(err.Error(), "WithMaxLifetime") {
		t.Fatalf("a revocation hook shorter than the sessions' maximum lifetime: %v; want ErrConfig naming WithMaxLifetime", err)
	}
	if _, err := session.NewClientSide(mustNew(t, [][]byte{key1}, cookiestore.WithRevocations(short))); err != nil {
		t.Fatalf("a hook as long as the absolute timeout: %v", err)
	}

	rev, err := cookiestore.NewRevocations(mem, month, cookiestore.WithRevocationsClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t, mustNew(t, [][]byte{key1}, cookiestore.WithRevocations(rev)), session.WithClock(clock), session.WithMaxLifetime(month))
	mux := http.NewServeMux()
	mux.HandleFunc("/remember", func(w http.ResponseWriter, r *http.Request) {
		if err := a.m.Login(r.Context(), r.FormValue("u")); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if err := session.FromContext(r.Context()).SetLifetime(month, month); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.Handle("/", a.h)
	h := a.m.Handler(mux)
	remember := func(user string) string {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/remember?u="+user, nil))
		c := cookieOf(w)
		if c == "" {
			t.Fatalf("no remember-me cookie: %d %q", w.Code, w.Body.String())
		}
		return c
	}
	loggedOut, revoked := remember("alice"), remember("bob")
	copyOfLoggedOut := loggedOut
	if w := a.do("/logout", loggedOut); w.Code != http.StatusOK {
		t.Fatalf("logout: %d %q", w.Code, w.Body.String())
	}
	if _, err := a.m.RevokeUser(context.Background(), "bob"); err != nil {
		t.Fatal(err)
	}
	start := now
	for _, step := range []time.Duration{13 * time.Hour, 7 * 24 * time.Hour, 20 * 24 * time.Hour} {
		now = now.Add(step)
		if _, err := mem.DeleteExpired(context.Background(), now, 100); err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{copyOfLoggedOut, revoked} {
			if got := a.do("/whoami", c).Body.String(); got != "" {
				t.Fatalf("%v after the revocations a remembered cookie works again as %q", now.Sub(start), got)
			}
		}
	}
}

// A user's marker holds one key per logged-out lineage for the maximum
// lifetime, and every request of the user reads it whole: a client looping
// login and logout grew it without bound (a key each). Past a bound, a
// logout records a "not before" time instead, which ends every session of
// the user authenticated until then (more than the one logout, never
// less), and the lineage keys it covers go.
func TestLineageKeysBounded(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	clock := func() time.Time { return now }
	mem := memstore.New(memstore.WithCleanupInterval(0), memstore.WithClock(clock))
	defer mem.Stop()
	markers := &widestRecord{Store: mem}
	rev, err := cookiestore.NewRevocations(markers, 12*time.Hour, cookiestore.WithRevocationsClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t, mustNew(t, [][]byte{key1}, cookiestore.WithRevocations(rev)), session.WithClock(clock))
	other := cookieOf(a.do("/login?u=bob", "")) // another device, never logged out
	for i := range 600 {
		now = now.Add(time.Millisecond)
		c := cookieOf(a.do("/login?u=bob", ""))
		if w := a.do("/logout", c); w.Code != http.StatusOK {
			t.Fatalf("logout %d: %d %q", i, w.Code, w.Body.String())
		}
		if got := a.do("/whoami", c).Body.String(); got != "" {
			t.Fatalf("logout %d: the logged-out cookie still works (%q)", i, got)
		}
	}
	if marker := markers.widest(); marker > 300 {
		t.Fatalf("a user's marker holds %d keys after 600 logouts", marker)
	}
	if got := a.do("/whoami", other).Body.String(); got != "" {
		t.Fatalf("past the bound, a logout ended less than every earlier session: %q", got)
	}
	now = now.Add(time.Millisecond)
	if got := a.do("/whoami", cookieOf(a.do("/login?u=bob", ""))).Body.String(); got != "bob" {
		t.Fatalf("a login after the bound: %q", got)
	}
}

// widestRecord is a store that records the most values a record it loaded
// held.
type widestRecord struct {
	*memstore.Store
	mu  sync.Mutex
	max int
}

func (w *widestRecord) Load(ctx context.Context, d session.Digest) (*session.Record, error) {
	rec, err := w.Store.Load(ctx, d)
	if err == nil {
		w.mu.Lock()
		w.max = max(w.max, len(rec.Values))
		w.mu.Unlock()
	}
	return rec, err
}

func (w *widestRecord) widest() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.max
}

// A renewal whose new cookie would be too large fails with nothing done:
// the old cookie is not revoked first (it was, and the client, refused the
// new cookie, was left with a revoked one: logged out by a 413).
func TestOversizeRenewalKeepsTheOldCookie(t *testing.T) {
	a := revokingApp(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/renew-big", func(w http.ResponseWriter, r *http.Request) {
		session.FromContext(r.Context()).Set("big", strings.Repeat("x", 5000))
		if err := a.m.Renew(r.Context()); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.Handle("/", a.h)
	h := a.m.Handler(mux)
	c := cookieOf(a.do("/login?u=alice", ""))
	r := httptest.NewRequest("GET", "/renew-big", nil)
	r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: c})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("an oversize renewal: %d %q", w.Code, w.Body.String())
	}
	if got := a.do("/whoami", c).Body.String(); got != "alice" {
		t.Fatalf("the cookie after a renewal refused for its size: %q", got)
	}
}
