package session_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

// client sends requests to a real server, carrying the session cookie by
// hand (the cookie is Secure and the test server is plain HTTP).
func getWithCookie(t *testing.T, url, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: token})
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func tokenOf(res *http.Response) string {
	for _, c := range res.Cookies() {
		if c.Name == session.DefaultCookieName {
			return c.Value
		}
	}
	return ""
}

// The header, with the cookie, reaches the client while the handler is
// still streaming: nothing is buffered.
func TestCommitBeforeFirstByteWhileStreaming(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	e.mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		if err := session.FromContext(r.Context()).Set("k", "streamed"); err != nil {
			t.Error(err)
		}
		io.WriteString(w, "first chunk\n")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "second chunk\n")
	})
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	res := getWithCookie(t, srv.URL+"/stream", "")
	defer res.Body.Close()
	tok := tokenOf(res)
	if tok == "" {
		t.Fatal("no cookie in the streamed response header")
	}
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	if err != nil || line != "first chunk\n" {
		t.Fatalf("first chunk %q %v", line, err)
	}
	// The handler is still blocked, yet the session is already saved.
	if got := body(e.do("/get?k=k", tok)); got != "true:streamed" {
		t.Fatalf("session not saved before the first byte: %q", got)
	}
	close(release)
}

func TestResponseControllerAndSetAfterCommit(t *testing.T) {
	e := newEnv(t)
	var afterErr, deadlineErr, flushErr error
	e.mux.HandleFunc("/rc", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		s.Set("before", "1")
		rc := http.NewResponseController(w)
		deadlineErr = rc.SetWriteDeadline(time.Now().Add(time.Minute))
		flushErr = rc.Flush()
		afterErr = s.Set("after", "2")
		io.WriteString(w, "done")
	})
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	res := getWithCookie(t, srv.URL+"/rc", "")
	io.ReadAll(res.Body)
	res.Body.Close()
	if deadlineErr != nil || flushErr != nil {
		t.Fatalf("ResponseController through the middleware: deadline %v flush %v", deadlineErr, flushErr)
	}
	if !errors.Is(afterErr, session.ErrCommitted) {
		t.Fatalf("Set after the header was sent = %v, want ErrCommitted", afterErr)
	}
	tok := tokenOf(res)
	if got := body(e.do("/get?k=before", tok)); got != "true:1" {
		t.Fatalf("before = %q", got)
	}
	if got := body(e.do("/get?k=after", tok)); got != "false:" {
		t.Fatalf("a change after commit was saved: %q", got)
	}
}

func TestHijackCommitsFirst(t *testing.T) {
	e := newEnv(t)
	e.mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		if err := session.FromContext(r.Context()).Set("ws", "yes"); err != nil {
			t.Error(err)
		}
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		sc := w.Header().Get("Set-Cookie") // written by the commit in Hijack
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\nSet-Cookie: " + sc + "\r\n\r\nhi")
		buf.Flush()
	})
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	res := getWithCookie(t, srv.URL+"/hijack", "")
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "hi" {
		t.Fatalf("hijacked body %q", b)
	}
	if e.store.inner.Len() != 1 {
		t.Fatal("session not saved before Hijack")
	}
	d, _ := session.DigestOf(tokenOf(res))
	if _, err := e.store.inner.Load(context.Background(), d); err != nil {
		t.Fatalf("cookie from the header prepared before Hijack does not match the record: %v", err)
	}
}

func TestRedirectAndReadFromCommit(t *testing.T) {
	e := newEnv(t)
	e.mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		session.FromContext(r.Context()).Set("flash", "saved")
		http.Redirect(w, r, "/next", http.StatusSeeOther)
	})
	e.mux.HandleFunc("/copy", func(w http.ResponseWriter, r *http.Request) {
		session.FromContext(r.Context()).Set("copied", "yes")
		io.Copy(w, strings.NewReader("payload"))
	})
	w := e.do("/redirect", "")
	if w.Code != http.StatusSeeOther {
		t.Fatal(w.Code)
	}
	if got := body(e.do("/get?k=flash", mustToken(t, w))); got != "true:saved" {
		t.Fatalf("redirect lost the session: %q", got)
	}
	w = e.do("/copy", "")
	if body(w) != "payload" {
		t.Fatal(body(w))
	}
	if got := body(e.do("/get?k=copied", mustToken(t, w))); got != "true:yes" {
		t.Fatalf("io.Copy lost the session: %q", got)
	}
}

// Required behaviour 5: A loads, B logs out, A commits: the session stays
// destroyed and A's response clears the cookie.
func TestLateWriteCannotResurrectDestroyedSession(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/login?u=alice", ""))
	loaded := make(chan struct{})
	proceed := make(chan struct{})
	e.mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if _, _, err := session.Get[string](s, "name"); err != nil {
			t.Error(err)
		}
		close(loaded)
		<-proceed
		if err := s.Set("late", "write"); err != nil {
			t.Error(err)
		}
		io.WriteString(w, "slow done")
	})
	var slow *httptest.ResponseRecorder
	var wg sync.WaitGroup
	wg.Go(func() { slow = e.do("/slow", tok) })
	<-loaded
	if c := sessionCookie(e.do("/logout", tok)); c == nil || c.MaxAge != -1 {
		t.Fatal("logout did not clear the cookie")
	}
	close(proceed)
	wg.Wait()
	if e.store.inner.Len() != 0 {
		t.Fatal("the slow request brought the logged-out session back")
	}
	if c := sessionCookie(slow); c == nil || c.MaxAge != -1 {
		t.Fatalf("slow response did not clear the cookie: %v", slow.Header()["Set-Cookie"])
	}
	if slow.Code != 200 || body(slow) != "slow done" {
		t.Fatalf("slow response %d %q", slow.Code, body(slow))
	}
	if got := body(e.do("/whoami", tok)); got != "" {
		t.Fatalf("session resurrected for %q", got)
	}
}

// Same interleaving with a renewal (login) instead of a logout.
func TestLateWriteAfterRenewDoesNotRecreateOldToken(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/set?k=a&v=1", ""))
	loaded := make(chan struct{})
	proceed := make(chan struct{})
	e.mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		session.Get[string](s, "a")
		close(loaded)
		<-proceed
		s.Set("late", "write")
	})
	var wg sync.WaitGroup
	wg.Go(func() { e.do("/slow", tok) })
	<-loaded
	tok2 := mustToken(t, e.do("/login?u=alice", tok))
	close(proceed)
	wg.Wait()
	if got := body(e.do("/get?k=a", tok)); got != "false:" {
		t.Fatal("old token resurrected")
	}
	if got := body(e.do("/whoami", tok2)); got != "alice" {
		t.Fatalf("new session damaged: %q", got)
	}
}

// Required behaviour 6: 50 concurrent requests on one session, each setting
// its own key: all 50 survive.
func TestConcurrentRequestsMergeKeys(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/set?k=base&v=0", ""))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 50 {
		wg.Go(func() {
			<-start
			w := e.do("/set?k=k"+itoa(i)+"&v="+itoa(i), tok)
			if w.Code != 200 {
				t.Errorf("request %d: %d", i, w.Code)
			}
		})
	}
	close(start)
	wg.Wait()
	for i := range 50 {
		if got := body(e.do("/get?k=k"+itoa(i), tok)); got != "true:"+itoa(i) {
			t.Fatalf("key k%d = %q: a concurrent write was lost", i, got)
		}
	}
}

// Required behaviour 10: a Session is safe for concurrent use inside one
// request.
func TestSessionConcurrentUseInOneRequest(t *testing.T) {
	e := newEnv(t)
	e.mux.HandleFunc("/fanout", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				k := "g" + itoa(i)
				if err := s.Set(k, i); err != nil {
					t.Error(err)
				}
				if v, ok, err := session.Get[int](s, k); err != nil || !ok || v != i {
					t.Errorf("Get %s = %v %v %v", k, v, ok, err)
				}
				s.Keys()
				s.Has("x")
				s.Delete("nothing")
			})
		}
		wg.Wait()
	})
	tok := mustToken(t, e.do("/fanout", ""))
	d, _ := session.DigestOf(tok)
	rec, err := e.store.inner.Load(context.Background(), d)
	if err != nil || len(rec.Values) != 20 {
		t.Fatalf("record %v, %v", rec, err)
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// Required behaviour 8.
func TestCacheControlAndVary(t *testing.T) {
	e := newEnv(t)
	w := e.do("/set?k=a&v=1", "")
	tok := mustToken(t, w)
	if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Vary") != "Cookie" {
		t.Fatalf("create response headers %v", w.Header())
	}
	w = e.do("/get?k=a", tok)
	if len(w.Header()["Set-Cookie"]) != 0 || w.Header().Get("Vary") != "Cookie" {
		t.Fatalf("read response headers %v", w.Header())
	}
	if w.Header().Get("Cache-Control") != "" {
		t.Fatalf("read-only response without cookie got Cache-Control %q", w.Header().Get("Cache-Control"))
	}
	// Anonymous read also depends on the cookie.
	if w = e.do("/get?k=a", ""); w.Header().Get("Vary") != "Cookie" {
		t.Fatal("anonymous read lacks Vary: Cookie")
	}
	// The application's own Cache-Control and Vary are kept.
	e.mux.HandleFunc("/own", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=0")
		w.Header().Set("Vary", "Accept-Encoding, cookie")
		session.FromContext(r.Context()).Set("x", "y")
	})
	w = e.do("/own", tok)
	if w.Header().Get("Cache-Control") != "private, max-age=0" {
		t.Fatalf("app Cache-Control replaced: %q", w.Header().Get("Cache-Control"))
	}
	if v := w.Header().Values("Vary"); len(v) != 1 {
		t.Fatalf("Vary duplicated: %q", v)
	}
	// Touch-only refresh and logout are not cacheable either.
	e.clock.Advance(5 * time.Minute)
	w = e.do("/get?k=a", tok)
	if sessionCookie(w) == nil || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("touch refresh headers %v", w.Header())
	}
	w = e.do("/logout", tok)
	if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Vary") != "Cookie" {
		t.Fatalf("logout headers %v", w.Header())
	}
}

// Required behaviour 9.
func TestSizeLimit(t *testing.T) {
	e := newEnv(t, session.WithMaxSize(100))
	var setErr error
	e.mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if err := s.Set("small", strings.Repeat("a", 40)); err != nil {
			t.Error(err)
		}
		setErr = s.Set("big", strings.Repeat("b", 60))
		// Replacing a value counts only the difference.
		if err := s.Set("small", strings.Repeat("c", 80)); err != nil {
			t.Errorf("replacing within the limit: %v", err)
		}
	})
	w := e.do("/big", "")
	if !errors.Is(setErr, session.ErrTooLarge) || !strings.Contains(setErr.Error(), `"big"`) || !strings.Contains(setErr.Error(), "limit is 100") {
		t.Fatalf("Set beyond the limit = %v", setErr)
	}
	tok := mustToken(t, w)
	if got := body(e.do("/get?k=big", tok)); got != "false:" {
		t.Fatal("oversized value stored")
	}
	// A loaded session counts what it holds: "small" (87 bytes with its
	// key) leaves no room for "big" until it is deleted.
	var loadedErr, afterDelete error
	e.mux.HandleFunc("/big-loaded", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		loadedErr = s.Set("big", strings.Repeat("b", 60))
		if err := s.Delete("small"); err != nil {
			t.Error(err)
		}
		afterDelete = s.Set("big", strings.Repeat("b", 60))
	})
	e.do("/big-loaded", tok)
	if !errors.Is(loadedErr, session.ErrTooLarge) || afterDelete != nil {
		t.Fatalf("Set on a loaded session = %v, after deleting the other key = %v", loadedErr, afterDelete)
	}
	if err := (*session.Session)(nil).Set("k", 1); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("nil session Set = %v", err)
	}
	w = e.do("/set?k=&v=1", "")
	if !strings.Contains(body(w), "key must be non-empty") {
		t.Fatalf("empty key accepted: %q", body(w))
	}
}

func TestTypedValuesRoundTrip(t *testing.T) {
	type profile struct {
		Name  string
		Age   int
		Tags  []string
		Since time.Time
	}
	e := newEnv(t)
	since := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	e.mux.HandleFunc("/typed-set", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		s.Set("n", 42)
		s.Set("p", profile{"Ada", 36, []string{"a", "b"}, since})
		s.Set("f", 2.5)
		s.Set("b", true)
	})
	var n int
	var p profile
	var wrongErr error
	e.mux.HandleFunc("/typed-get", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		n, _, _ = session.Get[int](s, "n")
		p, _, _ = session.Get[profile](s, "p")
		_, _, wrongErr = session.Get[int](s, "p")
		if session.GetOr(s, "missing", "dflt") != "dflt" || !session.GetOr(s, "b", false) {
			t.Error("GetOr")
		}
		keys, _ := s.Keys()
		if strings.Join(keys, ",") != "b,f,n,p" {
			t.Errorf("keys %v", keys)
		}
	})
	tok := mustToken(t, e.do("/typed-set", ""))
	e.do("/typed-get", tok)
	if n != 42 || p.Name != "Ada" || p.Age != 36 || len(p.Tags) != 2 || !p.Since.Equal(since) {
		t.Fatalf("typed values: %v %+v", n, p)
	}
	if wrongErr == nil || !strings.Contains(wrongErr.Error(), `decoding key "p"`) {
		t.Fatalf("reading a struct as int = %v", wrongErr)
	}
}

func TestDeleteAndClear(t *testing.T) {
	e := newEnv(t)
	e.mux.HandleFunc("/three", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		s.Set("a", 1)
		s.Set("b", 2)
		s.Set("c", 3)
	})
	e.mux.HandleFunc("/del", func(w http.ResponseWriter, r *http.Request) {
		session.FromContext(r.Context()).Delete("a")
	})
	e.mux.HandleFunc("/clear", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		s.Clear()
		s.Set("z", 26)
	})
	tok := mustToken(t, e.do("/three", ""))
	e.do("/del", tok)
	if body(e.do("/get?k=a", tok)) != "false:" || body(e.do("/get?k=b", tok)) == "false:" {
		t.Fatal("Delete")
	}
	e.do("/clear", tok)
	d, _ := session.DigestOf(tok)
	rec, _ := e.store.inner.Load(context.Background(), d)
	if len(rec.Values) != 1 || string(rec.Values["z"]) != "26" {
		t.Fatalf("after Clear+Set: %v", rec.Values)
	}
}

func TestNestedHandlersShareOneSession(t *testing.T) {
	e := newEnv(t)
	inner := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session.FromContext(r.Context()).Set("nested", "1")
	}))
	outer := e.m.Handler(inner)
	w := httptest.NewRecorder()
	outer.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if len(w.Header()["Set-Cookie"]) != 1 {
		t.Fatalf("Set-Cookie %v", w.Header()["Set-Cookie"])
	}
	if err := e.m.Renew(context.Background()); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("Renew without a session = %v", err)
	}
}

// The context the middleware hands to the handler carries the session and
// is otherwise the request's own: its values, deadline and cancellation,
// also for contexts derived from it.
func TestRequestContextKeepsTheParent(t *testing.T) {
	m, err := session.New(newCountingStore(t))
	if err != nil {
		t.Fatal(err)
	}
	type key struct{}
	deadline := time.Now().Add(time.Hour)
	parent, cancel := context.WithDeadline(context.WithValue(context.Background(), key{}, "v"), deadline)
	defer cancel()
	var checked bool
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if session.FromContext(ctx) == nil {
			t.Error("no session in the request context")
		}
		if ctx.Value(key{}) != "v" {
			t.Errorf("parent value = %v", ctx.Value(key{}))
		}
		if d, ok := ctx.Deadline(); !ok || !d.Equal(deadline) {
			t.Errorf("deadline = %v, %v; want %v", d, ok, deadline)
		}
		child, stop := context.WithCancel(ctx)
		defer stop()
		if session.FromContext(child) != session.FromContext(ctx) {
			t.Error("a derived context lost the session")
		}
		cancel()
		select {
		case <-child.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("cancelling the request's context did not reach a derived one")
		}
		if !errors.Is(ctx.Err(), context.Canceled) || !errors.Is(child.Err(), context.Canceled) {
			t.Errorf("Err = %v / %v, want Canceled", ctx.Err(), child.Err())
		}
		checked = true
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil).WithContext(parent))
	if !checked {
		t.Fatal("handler did not run")
	}
}
