package sessiontest

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

// WritesUnderFault checks that a server-side fault loses nothing and is
// never taken for "no session". It starts a session for each of users
// clients through a manager on st, then lets every client write a new key
// to its own session, request after request, while fault runs (for
// example: kill the server and start it again, or terminate the store's
// connections). When fault returns the clients stop, and:
//
//   - every response was 200 or 503 (the default store-error answer);
//   - no response issued or cleared a cookie: a failed request must not
//     look like a missing session;
//   - every write acknowledged with 200 is in its session, read back
//     through st.
//
// It returns the number of requests that failed with 503, so that the
// caller can check its fault really happened.
func WritesUnderFault(t *testing.T, st session.Store, users int, fault func()) (failed int64) {
	t.Helper()
	m, err := session.New(st, session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := session.FromContext(r.Context()).Set(r.FormValue("k"), "v"); err != nil {
			writeError(w, err)
		}
	}))
	type client struct {
		cookie *http.Cookie
		acked  []string
	}
	clients := make([]*client, users)
	for i := range clients {
		clients[i] = &client{cookie: NewSessionAt(t, h, "/?k=start"), acked: []string{"start"}}
	}
	stop := make(chan struct{})
	var failures, badCookies, badStatus atomic.Int64
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				k := "k" + strconv.Itoa(i) + "_" + strconv.Itoa(n)
				r := httptest.NewRequest("GET", "/?k="+k, nil)
				r.AddCookie(c.cookie)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				for _, set := range w.Result().Cookies() {
					if set.Value != c.cookie.Value || w.Code != http.StatusOK {
						badCookies.Add(1)
					}
				}
				switch w.Code {
				case http.StatusOK:
					c.acked = append(c.acked, k)
				case http.StatusServiceUnavailable:
					failures.Add(1)
				default:
					badStatus.Add(1)
				}
				time.Sleep(2 * time.Millisecond) // keeps sessions well under the size limit
			}
		})
	}
	fault()
	close(stop)
	wg.Wait()
	if n := badStatus.Load(); n > 0 {
		t.Errorf("%d responses were neither 200 nor 503", n)
	}
	if n := badCookies.Load(); n > 0 {
		t.Errorf("%d responses issued or cleared a cookie: the fault was taken for a missing session", n)
	}
	for i, c := range clients {
		d, _ := session.DigestOf(c.cookie.Value)
		rec, err := st.Load(context.Background(), d)
		if err != nil {
			t.Fatalf("client %d's session after the fault: %v", i, err)
		}
		for _, k := range c.acked {
			if _, ok := rec.Values[k]; !ok {
				t.Fatalf("client %d: acknowledged write %s lost", i, k)
			}
		}
	}
	return failures.Load()
}
