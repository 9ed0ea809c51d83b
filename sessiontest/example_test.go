package sessiontest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/sessiontest"
)

// An application's handler tested with a logged-in request, no login
// route, no password.
func ExampleLoggedInRequest() {
	store := memstore.New()
	defer store.Stop()
	m, _ := session.New(store)
	app := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := session.FromContext(r.Context()).UserID()
		theme := session.GetOr(session.FromContext(r.Context()), "theme", "light")
		io.WriteString(w, user+" "+theme)
	}))
	t := &testing.T{} // in a test: the test's own t
	r := sessiontest.LoggedInRequest(t, m, "GET", "https://example.com/dashboard", "alice", map[string]any{"theme": "dark"})
	w := httptest.NewRecorder()
	app.ServeHTTP(w, r)
	fmt.Println(w.Body.String())
	// Output: alice dark
}
