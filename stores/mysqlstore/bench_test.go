package mysqlstore_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionkit/session"
)

const csrf = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// benchSetup returns a handler over the store and a token of a session
// holding the standard three values.
func benchSetup(b *testing.B, st session.Store) (http.Handler, *http.Cookie) {
	m, err := session.New(st, session.WithLogger(slog.New(slog.DiscardHandler)))
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
			name, _, err := session.Get[string](s, "name")
			if err != nil {
				b.Error(err)
			}
			io.WriteString(w, name)
		case "/write":
			if err := s.Set("name", "Grace Hopper"); err != nil {
				b.Error(err)
			}
		}
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/new", nil))
	return h, w.Result().Cookies()[0]
}

func runRequests(b *testing.B, h http.Handler, path string, c *http.Cookie) {
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

// BenchmarkRawSelect is the floor: one primary-key SELECT of the same row
// and columns, straight through database/sql.
func BenchmarkRawSelect(b *testing.B) {
	st := newStore(b)
	_, c := benchSetup(b, st)
	d, _ := session.DigestOf(c.Value)
	q := "SELECT digest, data, user_id, auth_at, created_at, last_seen_at, idle_timeout_ms, idle_expires_at, abs_expires_at, expires_at, expire_on_close, version, ip, user_agent FROM " + "`" + st.Table() + "`" + " WHERE digest = ?"
	ctx := context.Background()
	var (
		digest, data                   []byte
		user, ip, ua                   sql.NullString
		auth                           sql.NullInt64
		c1, c2, c3, c4, c5, c6, c7, c8 int64
	)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := st.DB().QueryRowContext(ctx, q, d[:]).Scan(&digest, &data, &user, &auth, &c1, &c2, &c3, &c4, &c5, &c6, &c7, &c8, &ip, &ua); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadOnlyRequest: a request reading one key through the
// middleware (one SELECT; no touch within the run).
func BenchmarkReadOnlyRequest(b *testing.B) {
	st := newStore(b)
	h, c := benchSetup(b, st)
	runRequests(b, h, "/read", c)
}

// BenchmarkWriteRequest: a request setting one key (SELECT + UPDATE).
func BenchmarkWriteRequest(b *testing.B) {
	st := newStore(b)
	h, c := benchSetup(b, st)
	runRequests(b, h, "/write", c)
}

// BenchmarkStoreLoad is Store.Load alone, without the middleware.
func BenchmarkStoreLoad(b *testing.B) {
	st := newStore(b)
	_, c := benchSetup(b, st)
	d, _ := session.DigestOf(c.Value)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.Load(ctx, d); err != nil {
			b.Fatal(err)
		}
	}
}
