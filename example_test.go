package session_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

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

// A user's devices: list every live session of the user, then log the user
// out everywhere (for example after a password change).
func ExampleManager_UserSessions() {
	store := memstore.New()
	defer store.Stop()
	sessions, _ := session.New(store)
	h := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := sessions.Login(r.Context(), "alice"); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	// Alice logs in from a laptop and a phone.
	for _, ua := range []string{"Laptop/1.0", "Phone/2.0"} {
		r := httptest.NewRequest("POST", "/login", nil)
		r.Header.Set("User-Agent", ua)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	ctx := context.Background()
	list, err := sessions.UserSessions(ctx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	agents := []string{}
	for _, s := range list {
		agents = append(agents, s.UserAgent)
	}
	slices.Sort(agents)
	fmt.Println(len(list), "sessions:", agents)

	n, err := sessions.RevokeUser(ctx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	list, _ = sessions.UserSessions(ctx, "alice")
	fmt.Println("revoked", n, "left", len(list))
	// Output:
	// 2 sessions: [Laptop/1.0 Phone/2.0]
	// revoked 2 left 0
}

// A longer idle timeout for this session only, within the absolute
// deadline (12 hours by default): a back-office page left open all day.
// The cookie becomes persistent for that long. For "remember me" beyond
// the absolute deadline, see Session.SetLifetime.
func ExampleSession_SetIdleTimeout() {
	store := memstore.New()
	defer store.Stop()
	sessions, _ := session.New(store)
	h := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := sessions.Login(r.Context(), "alice"); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if r.FormValue("all-day") == "on" {
			session.FromContext(r.Context()).SetIdleTimeout(8 * time.Hour)
		}
	}))
	for _, path := range []string{"/login", "/login?all-day=on"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", path, nil))
		fmt.Printf("%s: cookie lives %v\n", path, time.Duration(w.Result().Cookies()[0].MaxAge)*time.Second)
	}
	// Output:
	// /login: cookie lives 30m0s
	// /login?all-day=on: cookie lives 8h0m0s
}

// Expired sessions are rejected on access; DeleteExpired removes the ones
// nobody comes back for, in batches, so that stores without an expiry of
// their own (SQL tables) do not grow for ever. StartCleaner runs it on an
// interval; the admin CLI (cmd/sessionctl clear-expired) runs it once.
func ExampleManager_DeleteExpired() {
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store := memstore.New(memstore.WithCleanupInterval(0), memstore.WithClock(clock))
	defer store.Stop()
	sessions, _ := session.New(store, session.WithClock(clock)) // 30-minute idle timeout
	h := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session.FromContext(r.Context()).Set("seen", true)
	}))
	for range 3 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	ctx := context.Background()
	n, _ := sessions.CountActive(ctx)
	fmt.Println("active:", n)

	now = now.Add(31 * time.Minute) // nobody came back
	deleted, err := sessions.DeleteExpired(ctx, 1000, nil)
	if err != nil {
		log.Fatal(err)
	}
	n, _ = sessions.CountActive(ctx)
	fmt.Println("deleted:", deleted, "active:", n)

	// In a server, a cleaner runs it every interval until stopped.
	cleaner, err := sessions.StartCleaner(10 * time.Minute)
	if err != nil {
		log.Fatal(err)
	}
	cleaner.Stop() // at shutdown; waits for a running batch
	// Output:
	// active: 3
	// deleted: 3 active: 0
}
