package session_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/cookiestore"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/sessiontest"
)

// Issue 21: header tokens for APIs and mobile apps (SQLite and Redis run
// the same check in their modules).
func TestHeaderTokens(t *testing.T) {
	st := memstore.New()
	defer st.Stop()
	sessiontest.HeaderTokens(t, st)

	// A cookie manager ignores the header, and IssuedToken never gives a
	// cookie manager's token to a handler.
	m, _ := session.New(st)
	var issued string
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Login(r.Context(), "alice")
		w.WriteHeader(200)
		issued = session.FromContext(r.Context()).IssuedToken()
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "https://example.com/login", nil))
	tok := w.Result().Cookies()[0].Value
	if issued != "" || w.Header().Get(session.SessionTokenHeader) != "" {
		t.Fatalf("a cookie manager exposed its token: %q %q", issued, w.Header().Get(session.SessionTokenHeader))
	}
	who := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := session.FromContext(r.Context()).UserID()
		w.Write([]byte(u))
	}))
	r := httptest.NewRequest("GET", "https://example.com/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w = httptest.NewRecorder()
	who.ServeHTTP(w, r)
	if w.Body.String() != "" {
		t.Fatalf("a cookie manager accepted a bearer token: %q", w.Body.String())
	}
	// Options that cannot go with header tokens.
	cs, _ := cookiestore.New([][]byte{make([]byte, 32)})
	if _, err := session.New(st, session.WithHeaderToken(""), session.WithAnonymousInCookie(cs)); !errors.Is(err, session.ErrConfig) {
		t.Fatalf("header tokens with anonymous sessions in the cookie: %v", err)
	}
	if _, err := session.NewClientSide(cs, session.WithHeaderToken("")); !errors.Is(err, session.ErrConfig) {
		t.Fatalf("header tokens on a client-side manager: %v", err)
	}
	// A custom header carries the bare token.
	hm, _ := session.New(st, session.WithHeaderToken("X-Session"))
	var got string
	hh := hm.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			hm.Login(r.Context(), "bob")
			return
		}
		got, _ = session.FromContext(r.Context()).UserID()
	}))
	w = httptest.NewRecorder()
	hh.ServeHTTP(w, httptest.NewRequest("POST", "https://example.com/login", nil))
	r = httptest.NewRequest("GET", "https://example.com/", nil)
	r.Header.Set("X-Session", w.Header().Get(session.SessionTokenHeader))
	hh.ServeHTTP(httptest.NewRecorder(), r)
	if got != "bob" || w.Header().Get("Vary") != "X-Session" {
		t.Fatalf("custom header: %q, Vary %q", got, w.Header().Get("Vary"))
	}
}

// An API that logs in with JSON: the token goes back in the body (and in
// the Session-Token header); the client sends it as a bearer token.
func ExampleWithHeaderToken() {
	store := memstore.New()
	defer store.Stop()
	m, _ := session.New(store, session.WithHeaderToken(""))
	api := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			// ... verify the credentials ...
			if err := m.Login(r.Context(), "alice"); err != nil {
				http.Error(w, "try again", http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK) // commits the session: the token exists
			json.NewEncoder(w).Encode(map[string]string{"token": session.FromContext(r.Context()).IssuedToken()})
			return
		}
		user, _ := session.FromContext(r.Context()).UserID()
		fmt.Fprintf(w, "hello %s", user)
	}))
	w := httptest.NewRecorder()
	api.ServeHTTP(w, httptest.NewRequest("POST", "https://api.example.com/login", nil))
	var login struct{ Token string }
	json.Unmarshal(w.Body.Bytes(), &login)

	r := httptest.NewRequest("GET", "https://api.example.com/me", nil)
	r.Header.Set("Authorization", "Bearer "+login.Token)
	w = httptest.NewRecorder()
	api.ServeHTTP(w, r)
	fmt.Println(w.Body.String())
	// Output: hello alice
}

// The Authorization header is client input: no value panics, and only
// "Bearer" (any case), spaces and the exact token of a live session log
// in; nothing else is adopted or stored.
func FuzzBearerHeader(f *testing.F) {
	st := memstore.New()
	f.Cleanup(st.Stop)
	m, err := session.New(st, session.WithHeaderToken(""))
	if err != nil {
		f.Fatal(err)
	}
	tok := sessiontest.LoginToken(f, m, "alice", nil)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := session.FromContext(r.Context()).UserID()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write([]byte(u))
	}))
	for _, seed := range []string{"", "Bearer " + tok, "bearer  " + tok + " ", "Basic " + tok, "Bearer", "Bearer " + tok[:42], tok, "\x00\xff Bearer"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest("GET", "https://api.example.com/", nil)
		r.Header["Authorization"] = []string{v}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			t.Fatalf("status %d for %q", w.Code, v)
		}
		if w.Body.String() == "alice" {
			scheme, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
			if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(rest) != tok {
				t.Fatalf("logged in with %q", v)
			}
		}
		if len(w.Result().Cookies()) != 0 || w.Header().Get(session.SessionTokenHeader) != "" && w.Body.String() != "" {
			t.Fatalf("a response to %q issued a token or a cookie", v)
		}
	})
}
