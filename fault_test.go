package session_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

// slowStore blocks every call until its context ends.
type slowStore struct{ *countingStore }

func (s slowStore) Load(ctx context.Context, d session.Digest) (*session.Record, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (s slowStore) Update(ctx context.Context, d session.Digest, c *session.Change) error {
	<-ctx.Done()
	return ctx.Err()
}

// A store call that outlives the request's deadline is an error for the
// handler (which answers it here with 409 and the error's text): the
// session is not taken as absent, no new one is issued.
func TestStoreCallPastDeadline(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/login?u=alice", ""))
	m, err := session.New(slowStore{e.store}, session.WithClock(e.clock.Now), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(e.mux)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	r := httptest.NewRequestWithContext(ctx, "GET", "/whoami", nil)
	r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: tok})
	w := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "deadline exceeded") || len(w.Result().Cookies()) != 0 {
		t.Fatalf("store past the deadline: %d %v %q", w.Code, w.Header()["Set-Cookie"], w.Body.String())
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("the request did not end with its context")
	}
	if got := body(e.do("/whoami", tok)); got != "alice" {
		t.Fatalf("session after the timeout: %q", got)
	}
}

// A client that disconnects while the handler runs: the handler's change is
// not acknowledged, the server goes on serving, and the session is intact.
func TestClientDisconnectMidRequest(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/set?k=a&v=1", ""))
	entered := make(chan struct{})
	release := make(chan struct{})
	done := make(chan struct{})
	e.mux.HandleFunc("/slow-write", func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		s := session.FromContext(r.Context())
		s.Set("b", "2")
		close(entered)
		<-release
		io.WriteString(w, "late")
	})
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/slow-write", nil)
	req.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: tok})
	errc := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		errc <- err
	}()
	<-entered
	cancel() // the client goes away
	if err := <-errc; err == nil {
		t.Fatal("request was not canceled")
	}
	time.Sleep(50 * time.Millisecond) // let the server notice
	close(release)
	<-done
	// The session is intact and the server keeps serving.
	if got := body(e.do("/get?k=a", tok)); got != "true:1" {
		t.Fatalf("session after a disconnect: %q", got)
	}
	// The write was never acknowledged; whether it was saved depends on
	// when the disconnect was noticed, so either outcome is consistent.
	if got := body(e.do("/get?k=b", tok)); got != "true:2" && got != "false:" {
		t.Fatalf("value b after a disconnect: %q", got)
	}
}

// A client that disconnects right after asking to log out (or to log out
// its other devices) cannot leave a session alive: the deletions ignore the
// request context's cancellation. Without that, the canceled context makes
// the store refuse the deletion and the session lives on.
func TestLogoutCompletesAfterClientDisconnect(t *testing.T) {
	e := usersEnv(t)
	var cancelReq context.CancelFunc
	gone := func(h func(r *http.Request) (string, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if _, err := session.FromContext(r.Context()).UserID(); err != nil { // load first
				http.Error(w, err.Error(), http.StatusConflict)
				return
			}
			cancelReq() // the client goes away
			if r.Context().Err() == nil {
				t.Error("request context not canceled")
			}
			out, err := h(r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusConflict)
				return
			}
			io.WriteString(w, out)
		}
	}
	e.mux.HandleFunc("/logout-gone", gone(func(r *http.Request) (string, error) {
		return "ok", e.m.Destroy(r.Context())
	}))
	e.mux.HandleFunc("/revoke-others-gone", gone(func(r *http.Request) (string, error) {
		n, err := e.m.RevokeOtherSessions(r.Context())
		return fmt.Sprint(n), err
	}))
	doGone := func(path, tok string) string {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cancelReq = cancel
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, "http://example.test"+path, nil)
		r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: tok})
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		return body(w)
	}
	phone := mustToken(t, e.do("/login?u=alice", ""))
	laptop := mustToken(t, e.do("/login?u=alice", ""))
	tablet := mustToken(t, e.do("/login?u=alice", ""))

	if got := doGone("/revoke-others-gone", laptop); got != "2" {
		t.Fatalf("revoke others after a disconnect: %q", got)
	}
	for _, tok := range []string{phone, tablet} {
		if got := body(e.do("/whoami", tok)); got != "" {
			t.Fatalf("revoked device still logged in as %q", got)
		}
	}
	if got := doGone("/logout-gone", laptop); got != "ok" {
		t.Fatalf("logout after a disconnect: %q", got)
	}
	if got := body(e.do("/whoami", laptop)); got != "" {
		t.Fatalf("session alive after a logout whose client disconnected: %q", got)
	}
}
