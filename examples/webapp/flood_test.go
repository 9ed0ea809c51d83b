package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session/stores/storeurl"
)

// Issue 18: 5,000 cookieless anonymous writes (POST /api/prefs, as a
// flood of visitors) leave no server records with the demo's default
// (anonymous sessions sealed in the cookie), on SQLite and on a Redis with
// maxmemory and the recommended volatile-ttl policy, and the 200 users logged in before
// the flood all stay logged in. Before, each write stored a session: 10,000
// SQLite rows, and on Redis an eviction of every logged-in session.
func TestAnonymousFloodStoresNothing(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		flood(t, "sqlite:"+filepath.Join(t.TempDir(), "flood.db"))
	})
	t.Run("redis", func(t *testing.T) {
		path, err := exec.LookPath("redis-server")
		if err != nil {
			t.Fatalf("redis-server is required: %v", err)
		}
		port := freePort(t)
		srv := exec.Command(path, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", t.TempDir(), "--maxmemory", "16mb", "--maxmemory-policy", "volatile-ttl")
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("redis-server did not start")
			}
		}
		flood(t, "redis://"+addr+"/0")
	})
}

func flood(t *testing.T, store string) {
	const users, visitors = 200, 5000
	var list []string
	for i := range users {
		list = append(list, fmt.Sprintf("u%d:pw%d", i, i))
	}
	d := startDemo(t, "--store", store, "--users", strings.Join(list, ","))
	defer d.stop()
	base := d.base
	// 200 logged-in users; their cookies are sent by hand (Go's cookie jar
	// does not keep Secure cookies for http://127.0.0.1 as browsers do).
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cookies := make([]*http.Cookie, users)
	for i := range users {
		res, err := client.PostForm(base+"/login", url.Values{"username": {fmt.Sprint("u", i)}, "password": {fmt.Sprint("pw", i)}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		for _, c := range res.Cookies() {
			cookies[i] = c
		}
		if res.StatusCode != http.StatusSeeOther || cookies[i] == nil {
			t.Fatalf("login %d: %d", i, res.StatusCode)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < visitors; i += 8 {
				res, err := http.PostForm(base+"/api/prefs", url.Values{"key": {"theme"}, "value": {fmt.Sprint("dark-", i)}})
				if err != nil {
					errs <- err
					return
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK || len(res.Cookies()) != 1 {
					errs <- fmt.Errorf("anonymous write %d: %d", i, res.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st, err := storeurl.OpenExisting(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := countAll(st)
	if err != nil {
		t.Fatal(err)
	}
	if n != users {
		t.Fatalf("after %d anonymous writes the store holds %d sessions, want the %d logged-in ones", visitors, n, users)
	}
	for i, c := range cookies {
		req, _ := http.NewRequest("GET", base+"/api/me", nil)
		req.AddCookie(c)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("user %d after the flood: %d", i, res.StatusCode)
		}
	}
}

// countAll counts every session record in the store, expired or not.
func countAll(st *storeurl.Store) (int64, error) {
	type counter interface {
		CountActive(context.Context, time.Time) (int64, error)
	}
	return st.FullStore.(counter).CountActive(context.Background(), time.Time{})
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
