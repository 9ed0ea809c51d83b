package session_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sessionkit/session"
)

// Required behaviour 7: a store error is never "no session". The handlers
// of this test answer the error they are given (409 with its text): that
// answer stands (issue 20: an error the handler was given is the
// handler's), and no session is adopted, created or written.
func TestLoadErrorFailsRequestNeverAnonymous(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/login?u=alice", ""))
	e.store.setFail("load", errBoom)
	e.store.reset()
	for _, path := range []string{"/whoami", "/set?k=a&v=1", "/get?k=a"} {
		w := e.do(path, tok)
		if w.Code != http.StatusConflict || !strings.Contains(body(w), "store load") {
			t.Fatalf("%s with a failing store: %d %q", path, w.Code, body(w))
		}
		if len(w.Header()["Set-Cookie"]) != 0 {
			t.Fatalf("%s issued a cookie while the store failed: %v", path, w.Header()["Set-Cookie"])
		}
		if strings.Contains(body(w), "alice") || strings.Contains(body(w), "true") || strings.Contains(body(w), "ok") {
			t.Fatalf("%s: handler response leaked through: %q", path, body(w))
		}
	}
	if n := e.store.writes(); n != 0 {
		t.Fatalf("%d writes while loads failed", n)
	}
	e.store.setFail("load", nil)
	if got := body(e.do("/whoami", tok)); got != "alice" {
		t.Fatalf("session lost after the outage: %q", got)
	}
	if strings.Contains(e.logs.String(), tok) {
		t.Fatal("token in logs")
	}
	if !strings.Contains(e.logs.String(), "level=ERROR") || !strings.Contains(e.logs.String(), "boom") {
		t.Fatalf("store error not logged: %s", e.logs.String())
	}
}

func TestCommitErrorReplacesResponse(t *testing.T) {
	var handled error
	e := newEnv(t, session.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		handled = err
		http.Error(w, "custom failure", http.StatusTeapot)
	}))
	tok := mustToken(t, e.do("/set?k=a&v=1", ""))
	e.store.setFail("update", errBoom)
	var writeErr error
	e.mux.HandleFunc("/write-body", func(w http.ResponseWriter, r *http.Request) {
		session.FromContext(r.Context()).Set("a", "2")
		w.Header().Set("X-Handler", "yes")
		_, writeErr = io.WriteString(w, "handler body")
	})
	w := e.do("/write-body", tok)
	if w.Code != http.StatusTeapot || body(w) != "custom failure" || w.Header().Get("X-Handler") != "" {
		t.Fatalf("response %d %q %v", w.Code, body(w), w.Header())
	}
	var se *session.StoreError
	if !errors.As(handled, &se) || se.Op != "update" || !errors.Is(handled, errBoom) {
		t.Fatalf("error handler got %v", handled)
	}
	if !errors.Is(writeErr, session.ErrCommitFailed) {
		t.Fatalf("handler's Write after a failed commit = %v", writeErr)
	}
	e.store.setFail("update", nil)
	if got := body(e.do("/get?k=a", tok)); got != "true:1" {
		t.Fatalf("value %q", got)
	}
	// A failure to create: no cookie is issued.
	e.store.setFail("create", errBoom)
	w = e.do("/set?k=a&v=1", "")
	if w.Code != http.StatusTeapot || len(w.Header()["Set-Cookie"]) != 0 {
		t.Fatalf("create failure: %d %v", w.Code, w.Header()["Set-Cookie"])
	}
}

func TestDestroyErrorFailsRequest(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/login?u=alice", ""))
	e.store.setFail("delete", errBoom)
	e.mux.HandleFunc("/logout-ignoring-error", func(w http.ResponseWriter, r *http.Request) {
		e.m.Destroy(r.Context()) // error ignored by a careless handler
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
	w := e.do("/logout-ignoring-error", tok)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("failed logout answered %d: a user would believe they are logged out", w.Code)
	}
	e.store.setFail("delete", nil)
	if got := body(e.do("/whoami", tok)); got != "alice" {
		t.Fatalf("whoami %q", got)
	}
}

func TestNoPersistenceOn5xxOrPanic(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/set?k=a&v=1", ""))
	e.mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		session.FromContext(r.Context()).Set("a", "changed")
		http.Error(w, "oops", http.StatusInternalServerError)
	})
	e.mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) {
		session.FromContext(r.Context()).Set("a", "panicked")
		panic("handler bug")
	})
	e.mux.HandleFunc("/login-then-fail", func(w http.ResponseWriter, r *http.Request) {
		e.m.Login(r.Context(), "mallory")
		w.WriteHeader(http.StatusBadGateway)
	})
	e.store.reset()
	w := e.do("/fail", tok)
	if w.Code != 500 || len(w.Header()["Set-Cookie"]) != 0 {
		t.Fatalf("5xx response %d %v", w.Code, w.Header())
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic swallowed")
			}
		}()
		e.do("/panic", tok)
	}()
	w = e.do("/login-then-fail", tok)
	if len(w.Header()["Set-Cookie"]) != 0 {
		t.Fatalf("login on a 5xx response issued a cookie: %v", w.Header()["Set-Cookie"])
	}
	if n := e.store.writes(); n != 0 {
		t.Fatalf("%d writes for failed responses", n)
	}
	if got := body(e.do("/get?k=a", tok)); got != "true:1" {
		t.Fatalf("value %q after failed responses", got)
	}
	if got := body(e.do("/whoami", tok)); got != "" {
		t.Fatalf("login on a failed response persisted: %q", got)
	}
}

// Under the real net/http server, a panicking handler's changes are not
// saved either.
func TestPanicUnderServerSavesNothing(t *testing.T) {
	e := newEnv(t)
	e.mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) {
		session.FromContext(r.Context()).Set("a", "panicked")
		panic(http.ErrAbortHandler)
	})
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	if res, err := http.Get(srv.URL + "/panic"); err == nil {
		res.Body.Close()
	}
	if e.store.inner.Len() != 0 {
		t.Fatal("a panicking handler's session was stored")
	}
}

func TestCorruptRecordIsDeletedAndAnonymous(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/set?k=a&v=1", ""))
	e.store.setFail("load", fmt.Errorf("decoding data column: %w", session.ErrCorrupt))
	w := e.do("/get?k=a", tok)
	if w.Code != 200 || body(w) != "false:" {
		t.Fatalf("corrupt record: %d %q", w.Code, body(w))
	}
	if c := sessionCookie(w); c == nil || c.MaxAge != -1 {
		t.Fatal("corrupt session's cookie not cleared")
	}
	if e.store.inner.Len() != 0 {
		t.Fatal("corrupt record not deleted")
	}
	if !strings.Contains(e.logs.String(), "reason=corrupt") || !strings.Contains(e.logs.String(), "level=WARN") {
		t.Fatalf("corrupt record not logged as a security event:\n%s", e.logs.String())
	}
}

// R06/R38: events carry a keyed hash, never the token, in logs and errors.
func TestEventsAndLogsNeverContainTokens(t *testing.T) {
	var mu sync.Mutex
	var events []session.Event
	e := newEnv(t, session.WithObserver(session.ObserverFunc(func(ctx context.Context, ev session.Event) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	})))
	var tokens []string
	tok := mustToken(t, e.do("/set?k=a&v=1", ""))
	tokens = append(tokens, tok)
	tok2 := mustToken(t, e.do("/login?u=alice", tok))
	tokens = append(tokens, tok2)
	e.do("/get?k=a", randomToken())
	e.do("/get?k=a", "short")
	dup := httptest.NewRequest("GET", "/get?k=a", nil)
	dup.Header.Add("Cookie", "__Host-sid="+tok2)
	dup.Header.Add("Cookie", "__Host-sid="+randomToken())
	e.h.ServeHTTP(httptest.NewRecorder(), dup)
	e.store.setFail("load", errBoom)
	e.do("/get?k=a", tok2)
	e.store.setFail("load", nil)
	e.do("/logout", tok2)
	e.m.RevokeUser(context.Background(), "alice")

	kinds := map[session.EventKind]int{}
	for _, ev := range events {
		kinds[ev.Kind]++
		s := fmt.Sprintf("%+v", ev)
		for _, tk := range tokens {
			if strings.Contains(s, tk) {
				t.Fatalf("event %v contains a token", ev.Kind)
			}
		}
	}
	for _, k := range []session.EventKind{session.EventCreated, session.EventRenewed, session.EventDestroyed, session.EventInvalidToken, session.EventStoreError, session.EventRevoked} {
		if kinds[k] == 0 {
			t.Errorf("no %v event; got %v", k, kinds)
		}
	}
	if kinds[session.EventInvalidToken] != 3 {
		t.Errorf("%d invalid-token events, want 3 (unknown, malformed, duplicate)", kinds[session.EventInvalidToken])
	}
	logs := e.logs.String()
	for _, tk := range tokens {
		if strings.Contains(logs, tk) {
			t.Fatal("a token appears in the logs")
		}
		d, _ := session.DigestOf(tk)
		if strings.Contains(logs, d.String()) {
			t.Fatal("a digest appears in the logs")
		}
	}
	if !strings.Contains(logs, "reason=duplicate") {
		t.Fatal("duplicate cookie not logged")
	}
}

func TestCapabilityErrorsNameTheInterface(t *testing.T) {
	m, err := session.New(minimalStore{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = m.CountActive(ctx)
	if !errors.Is(err, session.ErrUnsupported) || !strings.Contains(err.Error(), "session.Counter") {
		t.Fatalf("CountActive = %v", err)
	}
	_, err = m.DeleteExpired(ctx, 0, nil)
	if !errors.Is(err, session.ErrUnsupported) || !strings.Contains(err.Error(), "session.ExpiredDeleter") {
		t.Fatalf("DeleteExpired = %v", err)
	}
	_, err = m.RevokeUser(ctx, "u")
	if !errors.Is(err, session.ErrUnsupported) || !strings.Contains(err.Error(), "session.UserIndex") {
		t.Fatalf("RevokeUser = %v", err)
	}
	_, err = m.UserSessions(ctx, "u")
	if !errors.Is(err, session.ErrUnsupported) {
		t.Fatalf("UserSessions = %v", err)
	}
}

// minimalStore implements only the required methods, over a plain map; the
// manager must work with it, falling back from Touch and Renew.
type minimalStore struct{}

func (minimalStore) Load(context.Context, session.Digest) (*session.Record, error) {
	return nil, session.ErrNotFound
}
func (minimalStore) Create(context.Context, session.Digest, *session.Record) error { return nil }
func (minimalStore) Update(context.Context, session.Digest, *session.Change) error {
	return session.ErrNotFound
}
func (minimalStore) Delete(context.Context, session.Digest) (bool, error) { return false, nil }

// Stores without the Touch and Renew capabilities: the manager falls back
// to Update and to Delete + Create.
func TestFallbacksWithoutOptionalCapabilities(t *testing.T) {
	inner := newCountingStore(t)
	st := &basicStore{inner}
	clock := newClock()
	m, err := session.New(st, session.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) { session.FromContext(r.Context()).Set("a", "1") })
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		v, _, _ := session.Get[string](session.FromContext(r.Context()), "a")
		io.WriteString(w, v)
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) { m.Login(r.Context(), "u") })
	h := m.Handler(mux)
	do := func(path, tok string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		if tok != "" {
			r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: tok})
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	tok := mustToken(t, do("/set", ""))
	clock.Advance(10 * 60e9)
	inner.reset()
	if body(do("/get", tok)) != "1" || inner.count("update") != 1 {
		t.Fatalf("touch fallback: %v", inner.calls)
	}
	tok2 := mustToken(t, do("/login", tok))
	if body(do("/get", tok2)) != "1" || body(do("/get", tok)) != "" {
		t.Fatal("renew fallback")
	}
}

type basicStore struct{ c *countingStore }

func (s *basicStore) Load(ctx context.Context, d session.Digest) (*session.Record, error) {
	return s.c.Load(ctx, d)
}
func (s *basicStore) Create(ctx context.Context, d session.Digest, r *session.Record) error {
	return s.c.Create(ctx, d, r)
}
func (s *basicStore) Update(ctx context.Context, d session.Digest, c *session.Change) error {
	return s.c.Update(ctx, d, c)
}
func (s *basicStore) Delete(ctx context.Context, d session.Digest) (bool, error) {
	return s.c.Delete(ctx, d)
}

// Events identify sessions by HMAC-SHA-256 of the digest under the log-hash
// key, first 8 bytes in hex, and carry nothing else of the digest.
func TestEventTokenHashes(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	var mu sync.Mutex
	var events []session.Event
	e := newEnv(t, session.WithLogHashKey(key), session.WithObserver(session.ObserverFunc(func(ctx context.Context, ev session.Event) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	})))
	want := func(tok string) string {
		d, ok := session.DigestOf(tok)
		if !ok {
			t.Fatalf("malformed token %q", tok)
		}
		mac := hmac.New(sha256.New, key)
		mac.Write(d[:])
		return hex.EncodeToString(mac.Sum(nil)[:8])
	}
	tok := mustToken(t, e.do("/set?k=a&v=1", ""))
	tok2 := mustToken(t, e.do("/login?u=alice", tok))
	var created, renewed *session.Event
	for i, ev := range events {
		switch ev.Kind {
		case session.EventCreated:
			created = &events[i]
		case session.EventRenewed:
			renewed = &events[i]
		}
		s := fmt.Sprintf("%+v", ev)
		for _, tk := range []string{tok, tok2} {
			d, _ := session.DigestOf(tk)
			if strings.Contains(s, d.String()) || strings.Contains(s, string(d[:])) || strings.Contains(s, fmt.Sprint(d[:])) {
				t.Fatalf("event %v carries a digest: %s", ev.Kind, s)
			}
		}
	}
	if created == nil || created.TokenHash != want(tok) {
		t.Fatalf("created event %+v, want token hash %s", created, want(tok))
	}
	if renewed == nil || renewed.TokenHash != want(tok) || renewed.NewTokenHash != want(tok2) {
		t.Fatalf("renewed event %+v, want %s -> %s", renewed, want(tok), want(tok2))
	}
}

// A failed "log out this device" or "log out my other devices" fails the
// request like a failed Destroy, even when the handler ignores the error:
// a revocation that did not happen must never look done.
func TestRevocationErrorFailsRequest(t *testing.T) {
	e := usersEnv(t)
	mine := mustToken(t, e.do("/login?u=alice", ""))
	other := mustToken(t, e.do("/login?u=alice", ""))
	s, err := e.m.Lookup(context.Background(), other)
	if err != nil {
		t.Fatal(err)
	}
	handle, err := s.Handle()
	if err != nil {
		t.Fatal(err)
	}
	e.mux.HandleFunc("/revoke-ignoring-error", func(w http.ResponseWriter, r *http.Request) {
		_ = e.m.RevokeSession(r.Context(), r.FormValue("h")) // a careless handler
		io.WriteString(w, "device logged out")
	})
	e.mux.HandleFunc("/revoke-others-ignoring-error", func(w http.ResponseWriter, r *http.Request) {
		_, _ = e.m.RevokeOtherSessions(r.Context())
		io.WriteString(w, "other devices logged out")
	})
	for _, c := range []struct{ op, path string }{
		{"delete", "/revoke-ignoring-error?h=" + handle},
		{"load", "/revoke-ignoring-error?h=" + handle},
		{"deletebyuser", "/revoke-others-ignoring-error"},
	} {
		e.store.setFail(c.op, errBoom)
		r := httptest.NewRequest("GET", "http://example.test"+c.path, nil)
		r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: mine})
		w := httptest.NewRecorder()
		if c.op == "load" {
			// The request's own session loads; the revoked one's read fails.
			loads := 0
			e.store.setFail("load", nil)
			e.store.mu.Lock()
			e.store.before = func(op string) {
				if op == "load" {
					if loads++; loads == 2 {
						e.store.setFail("load", errBoom)
					}
				}
			}
			e.store.mu.Unlock()
		}
		e.h.ServeHTTP(w, r)
		e.store.mu.Lock()
		e.store.before = nil
		e.store.mu.Unlock()
		e.store.setFail(c.op, nil)
		if w.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s failing: %s answered %d %q; a user would believe the devices logged out", c.op, c.path, w.Code, body(w))
		}
		if got := body(e.do("/whoami", other)); got != "alice" {
			t.Fatalf("%s failing: the other device's session: %q", c.op, got)
		}
	}
	// Not a store failure: a handle that is not the user's is the
	// handler's to answer.
	e.mux.HandleFunc("/revoke-unknown", func(w http.ResponseWriter, r *http.Request) {
		err := e.m.RevokeSession(r.Context(), r.FormValue("h"))
		if !errors.Is(err, session.ErrNotFound) {
			t.Errorf("RevokeSession of an unknown handle: %v", err)
		}
		http.Error(w, "no such device", http.StatusNotFound)
	})
	if w := e.do("/revoke-unknown?h=AAAA", mine); w.Code != http.StatusNotFound {
		t.Fatalf("an unknown handle answered %d %q", w.Code, body(w))
	}
}
