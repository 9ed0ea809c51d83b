package tieredstore_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/tieredstore"
)

// A cache in front of a durable store (in production: redisstore in front
// of pgstore, sqlitestore or mysqlstore; two memory stores here so that the
// example runs anywhere). A new session is written to the durable store; a
// read fills the cache; a change goes to the durable store and invalidates
// the cached copy; the next read fills the cache again.
func Example() {
	cache := memstore.New()
	defer cache.Stop()
	durable := memstore.New()
	defer durable.Stop()
	store, err := tieredstore.New(cache, durable)
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := session.New(store)
	if err != nil {
		log.Fatal(err)
	}
	h := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if r.Method == http.MethodPost {
			s.Set("theme", r.FormValue("theme"))
			return
		}
		theme, _, _ := session.Get[string](s, "theme")
		fmt.Println("theme:", theme)
	}))

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/?theme=light", nil))
	cookie := w.Result().Cookies()[0]
	fmt.Println("new session: durable", durable.Len(), "cache", cache.Len())
	send := func(method, path string) {
		r := httptest.NewRequest(method, path, nil)
		r.AddCookie(cookie)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	send("POST", "/?theme=dark")
	fmt.Println("after a change: durable", durable.Len(), "cache", cache.Len())
	send("GET", "/")
	fmt.Println("after a read: durable", durable.Len(), "cache", cache.Len())
	// Output:
	// new session: durable 1 cache 0
	// after a change: durable 1 cache 0
	// theme: dark
	// after a read: durable 1 cache 1
}
