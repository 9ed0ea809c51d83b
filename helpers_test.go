package session_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/sessiontest"
)

// fakeClock is a controllable application clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingStore wraps a memstore, counts calls per operation, records every
// digest it is given and can be made to fail.
type countingStore struct {
	inner *memstore.Store

	mu      sync.Mutex
	calls   map[string]int
	digests []session.Digest
	fail    map[string]error
	// before runs before an operation, outside the lock (barriers).
	before func(op string)
}

func newCountingStore(t testing.TB) *countingStore {
	inner := memstore.New(memstore.WithCleanupInterval(0))
	t.Cleanup(inner.Stop)
	return &countingStore{inner: inner, calls: map[string]int{}, fail: map[string]error{}}
}

func (s *countingStore) op(name string, ds ...session.Digest) error {
	s.mu.Lock()
	before := s.before
	s.mu.Unlock()
	if before != nil {
		before(name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[name]++
	s.digests = append(s.digests, ds...)
	return s.fail[name]
}

func (s *countingStore) count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[name]
}

func (s *countingStore) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		n += c
	}
	return n
}

func (s *countingStore) writes() int {
	return s.count("create") + s.count("update") + s.count("touch") + s.count("renew") + s.count("delete")
}

func (s *countingStore) reset() {
	s.mu.Lock()
	s.calls = map[string]int{}
	s.mu.Unlock()
}

func (s *countingStore) setFail(op string, err error) {
	s.mu.Lock()
	if err == nil {
		delete(s.fail, op)
	} else {
		s.fail[op] = err
	}
	s.mu.Unlock()
}

func (s *countingStore) Load(ctx context.Context, d session.Digest) (*session.Record, error) {
	if err := s.op("load", d); err != nil {
		return nil, err
	}
	return s.inner.Load(ctx, d)
}

func (s *countingStore) Create(ctx context.Context, d session.Digest, r *session.Record) error {
	if err := s.op("create", d); err != nil {
		return err
	}
	return s.inner.Create(ctx, d, r)
}

func (s *countingStore) Update(ctx context.Context, d session.Digest, c *session.Change) error {
	if err := s.op("update", d); err != nil {
		return err
	}
	return s.inner.Update(ctx, d, c)
}

func (s *countingStore) Delete(ctx context.Context, d session.Digest) (bool, error) {
	if err := s.op("delete", d); err != nil {
		return false, err
	}
	return s.inner.Delete(ctx, d)
}

func (s *countingStore) Touch(ctx context.Context, d session.Digest, lastSeen, exp time.Time) error {
	if err := s.op("touch", d); err != nil {
		return err
	}
	return s.inner.Touch(ctx, d, lastSeen, exp)
}

func (s *countingStore) Renew(ctx context.Context, old, new session.Digest, r *session.Record) error {
	if err := s.op("renew", old, new); err != nil {
		return err
	}
	return s.inner.Renew(ctx, old, new, r)
}

func (s *countingStore) ListByUser(ctx context.Context, u string, now time.Time) ([]session.Entry, error) {
	if err := s.op("list"); err != nil {
		return nil, err
	}
	return s.inner.ListByUser(ctx, u, now)
}

func (s *countingStore) DeleteByUser(ctx context.Context, u string, keep session.Digest) (int, error) {
	if err := s.op("deletebyuser"); err != nil {
		return 0, err
	}
	return s.inner.DeleteByUser(ctx, u, keep)
}

func (s *countingStore) CountActive(ctx context.Context, now time.Time) (int64, error) {
	if err := s.op("count"); err != nil {
		return 0, err
	}
	return s.inner.CountActive(ctx, now)
}

func (s *countingStore) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	if err := s.op("deleteexpired"); err != nil {
		return 0, err
	}
	return s.inner.DeleteExpired(ctx, now, limit)
}

// env is a manager over a counting store with a fake clock, a captured log
// and a set of test handlers.
type env struct {
	t     testing.TB
	m     *session.Manager
	store *countingStore
	clock *fakeClock
	logs  *sessiontest.LogBuffer
	h     http.Handler
	mux   *http.ServeMux
}

func newEnv(t testing.TB, opts ...session.Option) *env {
	t.Helper()
	e := &env{t: t, store: newCountingStore(t), clock: newClock(), logs: &sessiontest.LogBuffer{}}
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	all := append([]session.Option{session.WithClock(e.clock.Now), session.WithLogger(logger)}, opts...)
	m, err := session.New(e.store, all...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.m = m
	e.mux = http.NewServeMux()
	fail := func(w http.ResponseWriter, err error) {
		http.Error(w, "handler: "+err.Error(), http.StatusConflict)
	}
	e.mux.HandleFunc("/noop", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "noop") })
	e.mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		v, ok, err := session.Get[string](session.FromContext(r.Context()), r.FormValue("k"))
		if err != nil {
			fail(w, err)
			return
		}
		fmt.Fprintf(w, "%v:%s", ok, v)
	})
	e.mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		if err := session.FromContext(r.Context()).Set(r.FormValue("k"), r.FormValue("v")); err != nil {
			fail(w, err)
			return
		}
		io.WriteString(w, "ok")
	})
	e.mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Login(r.Context(), r.FormValue("u")); err != nil {
			fail(w, err)
			return
		}
		if err := session.FromContext(r.Context()).Set("name", r.FormValue("u")); err != nil {
			fail(w, err)
			return
		}
		io.WriteString(w, "ok")
	})
	e.mux.HandleFunc("/renew", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Renew(r.Context()); err != nil {
			fail(w, err)
			return
		}
		io.WriteString(w, "ok")
	})
	e.mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Destroy(r.Context()); err != nil {
			fail(w, err)
			return
		}
		io.WriteString(w, "ok")
	})
	e.mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		u, err := session.FromContext(r.Context()).UserID()
		if err != nil {
			fail(w, err)
			return
		}
		io.WriteString(w, u)
	})
	e.h = m.Handler(e.mux)
	return e
}

// do sends a request with the given cookie value ("" for none) and returns
// the recorder.
func (e *env) do(path, token string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://example.test"+path, nil)
	if token != "" {
		r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: token})
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// sessionCookie returns the session cookie set by the response, or nil.
func sessionCookie(w *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == session.DefaultCookieName {
			return c
		}
	}
	return nil
}

// mustToken returns the token of a non-deleting session cookie.
func mustToken(t testing.TB, w *httptest.ResponseRecorder) string {
	t.Helper()
	c := sessionCookie(w)
	if c == nil || c.Value == "" || c.MaxAge < 0 {
		t.Fatalf("response (%d %q) set no session cookie: %v", w.Code, w.Body.String(), w.Header()["Set-Cookie"])
	}
	return c.Value
}

func body(w *httptest.ResponseRecorder) string { return strings.TrimSpace(w.Body.String()) }

var errBoom = errors.New("boom: store unavailable")

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
