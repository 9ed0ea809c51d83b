package cookiestore_test

import (
	"crypto/rand"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/cookiestore"
	"github.com/sessionkit/session/memstore"
)

// Sessions sealed in the cookie, with a server-side revocation hook so that
// logout ends copies of the cookie too. Keep the keys secret and stable
// (from a secret manager, not generated at start-up as here): a new key
// list logs everyone out, except for the keys it still holds.
func Example() {
	current := make([]byte, 32)
	rand.Read(current)
	revoked := memstore.New() // any session.Store: memory, SQL, Redis
	defer revoked.Stop()
	hook, err := cookiestore.NewRevocations(revoked, 12*time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	cs, err := cookiestore.New([][]byte{current}, cookiestore.WithRevocations(hook))
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := session.NewClientSide(cs, session.WithAbsoluteTimeout(12*time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		sessions.Login(r.Context(), "alice")
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		sessions.Destroy(r.Context())
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		user, _ := session.FromContext(r.Context()).UserID()
		fmt.Printf("user %q\n", user)
	})
	h := sessions.Handler(mux)
	send := func(method, path string, c *http.Cookie) *http.Response {
		r := httptest.NewRequest(method, path, nil)
		if c != nil {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Result()
	}

	cookie := send("POST", "/login", nil).Cookies()[0]
	fmt.Println("cookie within 4096 bytes:", len(cookie.Name)+len(cookie.Value) <= session.MaxCookieSize)
	send("GET", "/", cookie)
	send("POST", "/logout", cookie)
	send("GET", "/", cookie) // a copy of the cookie, replayed after logout
	// Output:
	// cookie within 4096 bytes: true
	// user "alice"
	// user ""
}
