package cookiestore_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionkit/session"
)

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

const csrf = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"

// The same three-value session as the other benchmarks, in a sealed cookie.
func benchCookie(b *testing.B) (http.Handler, *http.Cookie) {
	m, err := session.NewClientSide(mustNew(b, [][]byte{key1}), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		switch r.URL.Path {
		case "/new":
			s.Set("user_id", 42)
			s.Set("csrf", csrf)
			s.Set("name", "Ada Lovelace")
		case "/read":
			name, _, _ := session.Get[string](s, "name")
			io.WriteString(w, name)
		case "/write":
			s.Set("name", "Grace Hopper")
		}
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/new", nil))
	return h, w.Result().Cookies()[0]
}

func run(b *testing.B, path string) {
	h, c := benchCookie(b)
	r := httptest.NewRequest("GET", path, nil)
	r.AddCookie(c)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

func BenchmarkReadOnlyRequest(b *testing.B) { run(b, "/read") }
func BenchmarkWriteRequest(b *testing.B)    { run(b, "/write") }
