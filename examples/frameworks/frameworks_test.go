package frameworks

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

// Login, read and logout work unchanged behind each router.
func TestRouters(t *testing.T) {
	for name, build := range map[string]func(*session.Manager) http.Handler{
		"chi": Chi, "gorilla/mux": GorillaMux, "gin": Gin, "echo": Echo,
	} {
		t.Run(name, func(t *testing.T) {
			st := memstore.New()
			defer st.Stop()
			m, err := session.New(st, session.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			h := build(m)
			do := func(method, path string, c *http.Cookie) *http.Response {
				r := httptest.NewRequest(method, path, nil)
				if c != nil {
					r.AddCookie(c)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w.Result()
			}
			res := do("POST", "/login/alice", nil)
			if res.StatusCode != 200 || len(res.Cookies()) != 1 {
				t.Fatalf("login: %d %v", res.StatusCode, res.Cookies())
			}
			cookie := res.Cookies()[0]
			res = do("GET", "/me", cookie)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 || string(body) != "alice" || res.Header.Get("Vary") != "Cookie" {
				t.Fatalf("me: %d %q %v", res.StatusCode, body, res.Header)
			}
			res = do("POST", "/logout", cookie)
			if res.StatusCode != 200 || len(res.Cookies()) != 1 || res.Cookies()[0].MaxAge != -1 {
				t.Fatalf("logout: %d %v", res.StatusCode, res.Cookies())
			}
			if res = do("GET", "/me", cookie); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("me after logout: %d", res.StatusCode)
			}
		})
	}
}
