package session_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

// noLineage is a store whose type declares every capability (as a wrapper
// of other stores may) but which cannot follow renewals: its DeleteLineage
// reports ErrUnsupported.
type noLineage struct{ *memstore.Store }

func (noLineage) DeleteLineage(context.Context, string, time.Time) (int, error) {
	return 0, fmt.Errorf("%w: no user index", session.ErrUnsupported)
}

// A logout that finds its session already gone asks the store to follow a
// renewal (LineageDeleter). A store that answers ErrUnsupported cannot:
// that is the same documented limit as a store without the capability,
// not a failed logout. It used to fail the request with 503 through
// storeurl's Django store (which New now unwraps).
func TestLogoutOnStoreThatCannotFollowRenewals(t *testing.T) {
	st := noLineage{memstore.New()}
	defer st.Stop()
	m, err := session.New(st)
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var err error
		switch r.URL.Path {
		case "/login":
			err = m.Login(ctx, "alice")
		case "/logout":
			s := session.FromContext(ctx)
			if _, err = s.UserID(); err != nil {
				break
			}
			// A concurrent request moves the session away meanwhile.
			c, _ := r.Cookie(m.CookieName())
			d, _ := session.DigestOf(c.Value)
			if _, err = st.Delete(ctx, d); err != nil {
				break
			}
			err = m.Destroy(ctx)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "https://example.test/login", nil))
	cookie := w.Result().Cookies()[0]
	w = httptest.NewRecorder()
	r := httptest.NewRequest("GET", "https://example.test/logout", nil)
	r.AddCookie(cookie)
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("logout: %d %s", w.Code, w.Body.String())
	}
	if set := w.Header().Get("Set-Cookie"); !strings.Contains(set, "Max-Age=0") {
		t.Fatalf("logout does not delete the cookie: %q", set)
	}
}
