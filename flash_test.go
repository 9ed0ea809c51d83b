package session_test

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

// Issue 20, gap 1: one-shot values and messages. Before, a message took
// Get, Delete and two error checks, and the demo passed its messages in
// the URL.
func TestPopAndFlashes(t *testing.T) {
	e := newEnv(t)
	var got []session.Flash
	var popped int
	var popOK bool
	var popErr error
	e.mux.HandleFunc("/flash", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		for _, f := range strings.Split(r.FormValue("add"), ",") {
			kind, text, _ := strings.Cut(f, ":")
			if err := s.AddFlash(kind, text); err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
		}
	})
	e.mux.HandleFunc("/show", func(w http.ResponseWriter, r *http.Request) {
		var err error
		got, err = session.FromContext(r.Context()).Flashes()
		if err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	e.mux.HandleFunc("/pop", func(w http.ResponseWriter, r *http.Request) {
		popped, popOK, popErr = session.Pop[int](session.FromContext(r.Context()), "code")
		w.WriteHeader(200)
		// After the header: the session is saved, Pop cannot change it.
		if _, _, err := session.Pop[int](session.FromContext(r.Context()), "code"); !errors.Is(err, session.ErrCommitted) {
			t.Errorf("Pop after the header: %v", err)
		}
	})
	tok := mustToken(t, e.do("/flash?add=success:Saved.,info:Two%20devices%20left.", ""))
	e.do("/flash?add=error:Third", tok)
	if w := e.do("/show", tok); w.Code != 200 {
		t.Fatal(body(w))
	}
	want := []session.Flash{{Kind: "success", Text: "Saved."}, {Kind: "info", Text: "Two devices left."}, {Kind: "error", Text: "Third"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("flashes %v, want %v", got, want)
	}
	// Shown once; a page with nothing queued writes nothing.
	e.store.reset()
	e.do("/show", tok)
	if got != nil || e.store.writes() != 0 {
		t.Fatalf("second read: %v, %d writes", got, e.store.writes())
	}
	// A visitor without a session: no message, nothing created.
	e.store.reset()
	e.do("/show", "")
	if got != nil || e.store.writes() != 0 {
		t.Fatalf("visitor without a session: %v, %d writes", got, e.store.writes())
	}

	e.do("/set?k=code&v=1", tok) // a string: Pop[int] cannot decode it
	e.do("/pop", tok)
	if popErr == nil || !popOK {
		t.Fatalf("Pop[int] of a string: %v %v", popOK, popErr)
	}
	e.mux.HandleFunc("/setint", func(w http.ResponseWriter, r *http.Request) {
		session.FromContext(r.Context()).Set("code", 4242)
	})
	e.do("/setint", tok)
	e.do("/pop", tok)
	if popped != 4242 || !popOK || popErr != nil {
		t.Fatalf("Pop = %d %v %v", popped, popOK, popErr)
	}
	e.do("/pop", tok)
	if popped != 0 || popOK || popErr != nil {
		t.Fatalf("second Pop = %d %v %v", popped, popOK, popErr)
	}
	// The size limit holds for queued messages.
	small := newEnv(t, session.WithMaxSize(200))
	small.mux.HandleFunc("/many", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		for i := range 20 {
			if err := s.AddFlash("info", "message"); err != nil {
				if !errors.Is(err, session.ErrTooLarge) || i == 0 {
					t.Errorf("flash %d: %v", i, err)
				}
				return
			}
		}
		t.Error("20 messages fit in 200 bytes")
	})
	small.do("/many", "")
}

// A message set before a redirect and shown once by the next page.
func ExampleSession_AddFlash() {
	store := memstore.New()
	defer store.Stop()
	m, _ := session.New(store)
	page := template.Must(template.New("page").Parse(
		`{{range .}}<p class="{{.Kind}}">{{.Text}}</p>{{else}}(no message){{end}}` + "\n"))
	mux := http.NewServeMux()
	mux.HandleFunc("POST /settings", func(w http.ResponseWriter, r *http.Request) {
		// ... save the settings ...
		session.FromContext(r.Context()).AddFlash("success", "Settings saved <for real>.")
		http.Redirect(w, r, "/settings", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /settings", func(w http.ResponseWriter, r *http.Request) {
		flashes, err := session.FromContext(r.Context()).Flashes()
		if err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		page.Execute(os.Stdout, flashes)
	})
	h := m.Handler(mux)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "https://example.com/settings", nil))
	cookies := w.Result().Cookies()
	for range 2 {
		r := httptest.NewRequest("GET", "https://example.com/settings", nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	// Output:
	// <p class="success">Settings saved &lt;for real&gt;.</p>
	// (no message)
}
