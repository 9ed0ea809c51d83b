package cookiestore_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/cookiestore"
	"github.com/sessionkit/session/memstore"
)

// newHybrid serves a server-side manager (memstore) whose anonymous
// sessions live in the cookie (session.WithAnonymousInCookie).
func newHybrid(t *testing.T, cs *cookiestore.Store, store *memstore.Store) *app {
	t.Helper()
	m, err := session.New(store, session.WithAnonymousInCookie(cs), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	return appFor(m)
}

// Issue 18: with WithAnonymousInCookie, anonymous visitors cost the server
// nothing; Login moves their values into a server-side record; the
// anonymous cookie no longer carries anything of the logged-in session.
func TestAnonymousInCookie(t *testing.T) {
	store := memstore.New(memstore.WithCleanupInterval(0))
	defer store.Stop()
	a := newHybrid(t, mustNew(t, [][]byte{key1}), store)
	anon := cookieOf(a.do("/set?k=cart&v=3+books", ""))
	if anon == "" || len(anon) == 43 {
		t.Fatalf("anonymous cookie %q: want a sealed session, not a token", anon)
	}
	anon = cookieOf(a.do("/set?k=theme&v=dark", anon))
	if got := a.do("/get?k=cart", anon).Body.String(); got != "3 books" {
		t.Fatalf("anonymous value read back: %q", got)
	}
	if n := store.Len(); n != 0 {
		t.Fatalf("anonymous writes stored %d server records", n)
	}
	// Login: a server-side record with the held-over values.
	token := cookieOf(a.do("/login?u=alice", anon))
	if len(token) != 43 {
		t.Fatalf("cookie after login %q: want a 43-character token", token)
	}
	if store.Len() != 1 {
		t.Fatalf("after login the server holds %d records, want 1", store.Len())
	}
	if got := a.do("/get?k=cart", token).Body.String(); got != "3 books" {
		t.Fatalf("cart after login: %q", got)
	}
	a.do("/set?k=card&v=4242", token)
	// Replaying the anonymous cookie: anonymous, only what it held.
	if got := a.do("/whoami", anon).Body.String(); got != "" {
		t.Fatalf("the anonymous cookie is logged in as %q after login", got)
	}
	if got := a.do("/get?k=card", anon).Body.String(); got != "" {
		t.Fatal("the anonymous cookie carries data of the logged-in session")
	}
	// Tampering: anonymous, nothing stored, nothing adopted.
	tampered := anon[:len(anon)-2] + "AA"
	if tampered == anon {
		tampered = anon[:len(anon)-2] + "BB"
	}
	if got := a.do("/get?k=cart", tampered).Body.String(); got != "" {
		t.Fatal("a tampered anonymous cookie was opened")
	}
	// Logout of an anonymous session clears its cookie.
	if w := a.do("/logout", anon); !strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("anonymous logout: %q", w.Header().Get("Set-Cookie"))
	}
	if store.Len() != 1 {
		t.Fatalf("the server holds %d records, want the logged-in one", store.Len())
	}
}

// The anonymous cookie is bounded by what browsers keep; a cookie of
// a client-side manager's logged-in session (same key) is not adopted as
// an anonymous one; old keys open and are resealed with the current one.
func TestAnonymousCookieLimitsAndKeys(t *testing.T) {
	store := memstore.New(memstore.WithCleanupInterval(0))
	defer store.Stop()
	a := newHybrid(t, mustNew(t, [][]byte{key1}), store)
	if w := a.do("/set?k=big&v="+strings.Repeat("x", 5000), ""); w.Code != http.StatusRequestEntityTooLarge || store.Len() != 0 {
		t.Fatalf("a 5 KB anonymous session: %d, %d records; want a 413 and nothing stored", w.Code, store.Len())
	}
	// A logged-in cookie sealed by a client-side manager with the same key.
	cm, err := session.NewClientSide(mustNew(t, [][]byte{key1}), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ch := cm.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { cm.Login(r.Context(), "mallory") }))
	w := httptest.NewRecorder()
	ch.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if got := a.do("/whoami", cookieOf(w)).Body.String(); got != "" {
		t.Fatalf("a sealed cookie carrying a user was adopted: %q", got)
	}
	// Key rotation: a cookie sealed with the old key opens under the new
	// ring and is resealed with the new key.
	old := cookieOf(a.do("/set?k=cart&v=1", ""))
	rotated := newHybrid(t, mustNew(t, [][]byte{key2, key1}), store)
	w = rotated.do("/get?k=cart", old)
	if w.Body.String() != "1" || cookieOf(w) == "" {
		t.Fatalf("old-key cookie after rotation: %q, resealed %v", w.Body.String(), cookieOf(w) != "")
	}
	if _, err := session.New(store, session.WithAnonymousInCookie(mustNew(t, [][]byte{key1}))); err != nil {
		t.Fatal(err)
	}
	if _, err := session.NewClientSide(mustNew(t, [][]byte{key1}), session.WithAnonymousInCookie(mustNew(t, [][]byte{key1}))); err == nil {
		t.Fatal("WithAnonymousInCookie accepted by a client-side manager")
	}
}
