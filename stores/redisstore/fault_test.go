package redisstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/stores/redisstore"
)

// Redis is killed and restarted (same port, same append-only file) while 8
// clients keep writing: requests during the outage fail with 503, never as
// an anonymous session and never with a new cookie; afterwards every write
// the server acknowledged with 200 is in its session.
func TestRedisRestartMidTraffic(t *testing.T) {
	p := startRedis(t, "--appendonly", "yes", "--appendfsync", "always")
	dir, port := p.cmd.Dir, p.port
	client := redis.NewClient(&redis.Options{Addr: p.addr, MaxRetries: -1, DialTimeout: 300 * time.Millisecond,
		ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond})
	defer client.Close()
	st, err := redisstore.New(context.Background(), client)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := session.New(st, session.WithLogger(slog.New(slog.DiscardHandler)))
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if k := r.FormValue("k"); k != "" {
			if err := s.Set(k, r.FormValue("v")); err != nil {
				http.Error(w, err.Error(), 500)
			}
			return
		}
		keys, err := s.Keys()
		if err != nil {
			return
		}
		fmt.Fprint(w, len(keys))
	}))
	do := func(path string, c *http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		if c != nil {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	type user struct {
		cookie *http.Cookie
		acked  []string
	}
	users := make([]*user, 8)
	for i := range users {
		w := do("/?k=start&v=1", nil)
		users[i] = &user{cookie: w.Result().Cookies()[0], acked: []string{"start"}}
	}
	stop := make(chan struct{})
	var failed, badAnon atomic.Int64
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				k := "k" + strconv.Itoa(i) + "_" + strconv.Itoa(n)
				w := do("/?k="+k+"&v=x", u.cookie)
				switch {
				case w.Code == 200:
					u.acked = append(u.acked, k)
					if len(w.Result().Cookies()) > 0 && w.Result().Cookies()[0].Value != u.cookie.Value {
						badAnon.Add(1) // a new session was issued: the old one was taken as gone
					}
				case w.Code == http.StatusServiceUnavailable:
					failed.Add(1)
					if len(w.Result().Cookies()) > 0 {
						badAnon.Add(1)
					}
				default:
					t.Errorf("status %d during the outage", w.Code)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	p.stop() // SIGKILL
	time.Sleep(500 * time.Millisecond)
	p2 := startProc(t, "redis-server", dir, port, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no", "--protected-mode", "no")
	_ = p2
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failed.Load() == 0 {
		t.Fatal("no request failed while Redis was down: the test did not exercise the outage")
	}
	if badAnon.Load() > 0 {
		t.Fatalf("%d responses issued a new session during the outage", badAnon.Load())
	}
	for i, u := range users {
		rec, err := st.Load(context.Background(), mustDigest(t, u.cookie.Value))
		if err != nil {
			t.Fatalf("user %d's session after the restart: %v", i, err)
		}
		for _, k := range u.acked {
			if _, ok := rec.Values[k]; !ok {
				t.Fatalf("user %d: acknowledged write %s lost across the restart", i, k)
			}
		}
	}
	t.Logf("%d requests failed with 503 during the outage; every acknowledged write survived", failed.Load())
}

func mustDigest(t *testing.T, tok string) session.Digest {
	d, ok := session.DigestOf(tok)
	if !ok {
		t.Fatal("bad token")
	}
	return d
}
