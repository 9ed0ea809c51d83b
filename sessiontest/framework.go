package sessiontest

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// FrameworkFlow checks a framework integration (contrib/gin,
// contrib/echo, ...) through h, an application with these routes behind
// the integration's middleware for a manager whose cookie is cookieName:
//
//	GET  /public         outside the middleware: no session, no cookie
//	POST /app/login/USER logs USER in
//	POST /app/theme/T    sets "theme" to T, answers 204
//	POST /app/broken     sets "theme", then answers 500 (nothing saved)
//	GET  /app/me         answers "USER THEME" (GetOr(s, "theme", "light"))
//	POST /app/logout     Destroy, then a 303 redirect
//
// The session must be saved before the framework writes the header, and
// never after a 5xx.
func FrameworkFlow(t *testing.T, h http.Handler, cookieName string) {
	t.Helper()
	var cookie *http.Cookie
	do := func(method, path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "https://example.com"+path, nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		for _, c := range w.Result().Cookies() {
			if c.Name == cookieName {
				if c.MaxAge < 0 {
					cookie = nil
				} else {
					cookie = c
				}
			}
		}
		return w
	}
	if w := do("GET", "/public"); len(w.Result().Cookies()) != 0 {
		t.Fatalf("outside the middleware: %v", w.Result().Cookies())
	}
	if w := do("POST", "/app/login/alice"); w.Code != http.StatusOK || cookie == nil {
		t.Fatalf("login: %d %q", w.Code, w.Body.String())
	}
	if w := do("POST", "/app/theme/dark"); w.Code != http.StatusNoContent {
		t.Fatalf("theme: %d", w.Code)
	}
	if w := do("POST", "/app/broken"); w.Code != http.StatusInternalServerError {
		t.Fatalf("broken: %d", w.Code)
	}
	if w := do("GET", "/app/me"); w.Body.String() != "alice dark" {
		t.Fatalf("me: %q (a 500 must save nothing)", w.Body.String())
	}
	if w := do("POST", "/app/logout"); w.Code != http.StatusSeeOther || cookie != nil {
		t.Fatalf("logout: %d, cookie %v", w.Code, cookie)
	}
	if w := do("GET", "/app/me"); w.Body.String() != " light" {
		t.Fatalf("after logout: %q", w.Body.String())
	}
}
