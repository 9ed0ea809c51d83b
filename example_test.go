package session_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

// A counter kept in the session: the middleware loads the session when the
// handler first touches it and saves it before the response header.
func Example() {
	store := memstore.New()
	defer store.Stop()
	sessions, err := session.New(store)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		n, _, err := session.Get[int](s, "visits")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if err := s.Set("visits", n+1); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "visits: %d", n+1)
	})
	handler := sessions.Handler(mux) // http.ListenAndServe(":8080", handler)

	// Three requests from one browser.
	var cookie *http.Cookie
	for range 3 {
		r := httptest.NewRequest("GET", "/", nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		if c := w.Result().Cookies(); len(c) > 0 {
			cookie = c[0]
		}
		fmt.Println(w.Body.String())
	}
	fmt.Println(cookie.Name, cookie.HttpOnly, cookie.Secure, cookie.SameSite == http.SameSiteLaxMode)
	// Output:
	// visits: 1
	// visits: 2
	// visits: 3
	// __Host-sid true true true
}

// Login renews the token (defeating session fixation) and binds the user;
// Destroy deletes the record and expires the cookie.
func ExampleManager_Login() {
	store := memstore.New()
	defer store.Stop()
	sessions, _ := session.New(store)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// ... check the password first ...
		if err := sessions.Login(r.Context(), r.FormValue("user")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sessions.Destroy(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		user, err := session.FromContext(r.Context()).UserID()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if user == "" {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		io.WriteString(w, "hello "+user)
	})
	h := sessions.Handler(mux)

	send := func(method, path, form string, c *http.Cookie) *http.Response {
		r := httptest.NewRequest(method, path, strings.NewReader(form))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if c != nil {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Result()
	}
	res := send("POST", "/login", "user=alice", nil)
	cookie := res.Cookies()[0]
	res = send("GET", "/", "", cookie)
	b, _ := io.ReadAll(res.Body)
	fmt.Println(string(b))
	res = send("POST", "/logout", "", cookie)
	fmt.Println("logout cookie Max-Age:", res.Cookies()[0].MaxAge)
	res = send("GET", "/", "", cookie) // replaying the old cookie
	fmt.Println(res.StatusCode, res.Header.Get("Location"))
	// Output:
	// hello alice
	// logout cookie Max-Age: -1
	// 303 /login
}

// Values come back with the type they were stored with.
func ExampleGet() {
	type Cart struct {
		Items []string
		Total int
	}
	store := memstore.New()
	defer store.Stop()
	sessions, _ := session.New(store)
	h := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if r.Method == http.MethodPost {
			s.Set("cart", Cart{Items: []string{"tea", "scones"}, Total: 750})
			s.Set("visits", 1)
			return
		}
		cart, ok, err := session.Get[Cart](s, "cart")
		visits := session.GetOr(s, "visits", 0)
		fmt.Printf("%+v %v %v %d\n", cart, ok, err, visits)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(w.Result().Cookies()[0])
	h.ServeHTTP(httptest.NewRecorder(), r)
	// Output:
	// {Items:[tea scones] Total:750} true <nil> 1
}
