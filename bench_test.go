package session_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/sessiontest"
)

// The benchmark session holds three values like a typical logged-in
// session: a user id, a 50-character CSRF token and a display name.
const csrf = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"

func benchManager(b *testing.B) (*session.Manager, *memstore.Store) {
	st := memstore.New()
	b.Cleanup(st.Stop)
	m, err := session.New(st, session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	return m, st
}

func benchHandlers(m *session.Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		name, _, _ := session.Get[string](session.FromContext(r.Context()), "name")
		io.WriteString(w, name)
	})
	mux.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		session.FromContext(r.Context()).Set("name", "Grace Hopper")
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		s.Set("user_id", 42)
		s.Set("csrf", csrf)
		s.Set("name", "Ada Lovelace")
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		m.Login(r.Context(), "42")
		s.Set("user_id", 42)
		s.Set("csrf", csrf)
		s.Set("name", "Ada Lovelace")
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/bare", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "Ada Lovelace") })
	return mux
}

// discardWriter is a minimal ResponseWriter so the benchmarks measure the
// session work rather than httptest.ResponseRecorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// WriteString is there because net/http's ResponseWriter has it too.
func (w *discardWriter) WriteString(s string) (int, error) { return len(s), nil }

func newSessionToken(b *testing.B, h http.Handler) string {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/new", nil))
	for _, c := range w.Result().Cookies() {
		return c.Value
	}
	b.Fatal("no cookie")
	return ""
}

func runBench(b *testing.B, h http.Handler, path, token string) {
	var c *http.Cookie
	if token != "" {
		c = &http.Cookie{Name: session.DefaultCookieName, Value: token}
	}
	sessiontest.BenchRequests(b, h, path, c)
}

// BenchmarkBareHandler is the baseline: the same handler without sessions.
func BenchmarkBareHandler(b *testing.B) {
	m, _ := benchManager(b)
	runBench(b, benchHandlers(m), "/bare", "")
}

func BenchmarkReadOnly(b *testing.B) {
	m, _ := benchManager(b)
	h := m.Handler(benchHandlers(m))
	runBench(b, h, "/read", newSessionToken(b, h))
}

func BenchmarkWrite(b *testing.B) {
	m, _ := benchManager(b)
	h := m.Handler(benchHandlers(m))
	runBench(b, h, "/write", newSessionToken(b, h))
}

func BenchmarkNewSession(b *testing.B) {
	m, _ := benchManager(b)
	runBench(b, m.Handler(benchHandlers(m)), "/new", "")
}

// BenchmarkLoginFromAnonymous renews an anonymous session into a logged-in
// one; each iteration needs a fresh anonymous session, created outside the
// timer.
func BenchmarkLoginFromAnonymous(b *testing.B) {
	m, _ := benchManager(b)
	h := m.Handler(benchHandlers(m))
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		tok := newSessionToken(b, h)
		r := httptest.NewRequest("GET", "/login", nil)
		r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: tok})
		clear(w.h)
		b.StartTimer()
		h.ServeHTTP(w, r)
	}
}
