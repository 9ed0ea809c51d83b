package session_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

// Issue 20, gap 5: two managers serve one request, each with its cookie
// and store. Before, one package-level context key hid the outer manager's
// session: its Login returned ErrNoSession.
func TestTwoManagersOneRequest(t *testing.T) {
	authStore, prefStore := memstore.New(), memstore.New()
	defer authStore.Stop()
	defer prefStore.Stop()
	auth, err := session.New(authStore)
	if err != nil {
		t.Fatal(err)
	}
	prefs, err := session.New(prefStore, session.WithCookieName("__Host-prefs"), session.WithIdleTimeout(12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		if err := auth.Login(r.Context(), "alice"); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if err := prefs.FromContext(r.Context()).Set("theme", "dark"); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		user, err := auth.FromContext(r.Context()).UserID()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		theme, _, err := session.Get[string](prefs.FromContext(r.Context()), "theme")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		prefUser, _ := prefs.FromContext(r.Context()).UserID()
		fmt.Fprintf(w, "%s %s %q", user, theme, prefUser)
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := auth.Destroy(r.Context()); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	// The auth manager outside, the preferences one inside; each nesting
	// order must work.
	for name, h := range map[string]http.Handler{
		"auth outside": auth.Handler(prefs.Handler(mux)),
		"auth inside":  prefs.Handler(auth.Handler(mux)),
	} {
		do := func(path string, cookies []*http.Cookie) *httptest.ResponseRecorder {
			r := httptest.NewRequest("GET", "http://example.test"+path, nil)
			for _, c := range cookies {
				r.AddCookie(c)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w
		}
		w := do("/login", nil)
		cookies := w.Result().Cookies()
		if w.Code != 200 || len(cookies) != 2 {
			t.Fatalf("%s: login %d %q, cookies %v", name, w.Code, w.Body.String(), cookies)
		}
		if w := do("/whoami", cookies); w.Code != 200 || w.Body.String() != `alice dark ""` {
			t.Fatalf("%s: whoami %d %q", name, w.Code, w.Body.String())
		}
		w = do("/logout", cookies)
		if w.Code != 200 {
			t.Fatalf("%s: logout %d %q", name, w.Code, w.Body.String())
		}
		// Logout ended the auth session only: the preferences stay.
		var left []*http.Cookie
		for _, c := range cookies {
			if c.Name == "__Host-prefs" {
				left = append(left, c)
			}
		}
		if w := do("/whoami", left); w.Code != 200 || w.Body.String() != ` dark ""` {
			t.Fatalf("%s: the preferences session after logout: %q", name, w.Body.String())
		}
	}
}

// Two managers with the same cookie would each delete the other's token as
// a dead cookie: the request fails with a configuration error instead.
func TestTwoManagersSameCookieRefused(t *testing.T) {
	st := memstore.New()
	defer st.Stop()
	a, _ := session.New(st)
	b, _ := session.New(st)
	between, _ := session.New(st, session.WithCookieName("__Host-other"))
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the handler ran under two managers of one cookie")
	})
	for name, h := range map[string]http.Handler{
		"nested":                  a.Handler(b.Handler(handler)),
		"another manager between": a.Handler(between.Handler(b.Handler(handler))),
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "https://example.com/", nil))
		if w.Code != http.StatusInternalServerError {
			t.Fatalf("%s: two managers on one cookie: %d %q", name, w.Code, w.Body.String())
		}
	}
}

// Two sessions on one request: the login session, short-lived, and a
// preferences session kept for a year in a cookie of its own.
func ExampleManager_FromContext() {
	authStore, prefStore := memstore.New(), memstore.New()
	defer authStore.Stop()
	defer prefStore.Stop()
	auth, _ := session.New(authStore)
	prefs, _ := session.New(prefStore, session.WithCookieName("__Host-prefs"),
		session.WithIdleTimeout(365*24*time.Hour), session.WithAbsoluteTimeout(365*24*time.Hour))
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		prefs.FromContext(r.Context()).Set("theme", "dark")
		user, _ := auth.FromContext(r.Context()).UserID()
		io.WriteString(w, "user: "+user)
	})
	w := httptest.NewRecorder()
	auth.Handler(prefs.Handler(mux)).ServeHTTP(w, httptest.NewRequest("GET", "https://example.com/", nil))
	for _, c := range w.Result().Cookies() {
		fmt.Println(c.Name)
	}
	// Output: __Host-prefs
}
