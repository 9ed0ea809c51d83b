package redisstore_test

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

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/redisstore"
)

func TestConformanceCluster(t *testing.T) {
	cc := startCluster(t)
	sessiontest.Run(t, func(t *testing.T) session.Store { return newStore(t, cc) })
}

func TestConformanceSentinel(t *testing.T) {
	g := startSentinel(t)
	sessiontest.Run(t, func(t *testing.T) session.Store { return newStore(t, g.client) })
	t.Run("ReplicaOnlyClientRefused", func(t *testing.T) {
		var addrs []string
		for _, p := range g.sentinels {
			addrs = append(addrs, p.addr)
		}
		c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "mymaster", SentinelAddrs: addrs, ReplicaOnly: true})
		defer c.Close()
		if _, err := redisstore.New(context.Background(), c); err == nil || !strings.Contains(err.Error(), "connected to a replica") {
			t.Fatalf("New on a ReplicaOnly Sentinel client: %v, want a refusal", err)
		}
	})
}

// Failover: sessions written and replicated before the master dies are
// readable after the sentinels promote the replica; during the outage every
// request fails through the error handler (503), never as "no session"; the
// store serves again within a bounded time.
func TestSentinelFailover(t *testing.T) {
	g := startSentinel(t)
	st := newStore(t, g.client, redisstore.WithWait(1, 2*time.Second))
	m, err := session.New(st, session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if r.URL.Path == "/login" {
			if err := m.Login(r.Context(), r.FormValue("u")); err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			return
		}
		u, err := s.UserID()
		if err != nil {
			return // the middleware answers with the error handler
		}
		io.WriteString(w, u)
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
	var cookies []*http.Cookie
	for i := range 20 {
		w := do(fmt.Sprintf("/login?u=user%d", i), nil)
		if w.Code != 200 {
			t.Fatalf("login %d: %d", i, w.Code)
		}
		cookies = append(cookies, w.Result().Cookies()[0])
	}
	// Make sure the replica has everything (WAIT on the master).
	mc := redis.NewClient(&redis.Options{Addr: g.master.addr})
	if n, err := mc.Wait(context.Background(), 1, 5*time.Second).Result(); err != nil || n < 1 {
		t.Fatalf("WAIT: %d %v", n, err)
	}
	mc.Close()

	g.master.stop() // SIGKILL
	killed := time.Now()
	var outage int
	var recovered time.Duration
	for i := 0; ; i++ {
		if time.Since(killed) > 30*time.Second {
			t.Fatalf("store did not recover within 30 s (%d failed requests)", outage)
		}
		c := cookies[i%len(cookies)]
		w := do("/whoami", c)
		switch {
		case w.Code == http.StatusServiceUnavailable:
			outage++
			time.Sleep(50 * time.Millisecond)
			continue
		case w.Code != 200:
			t.Fatalf("during failover: status %d %q", w.Code, w.Body.String())
		case w.Body.String() != fmt.Sprintf("user%d", i%len(cookies)):
			t.Fatalf("during failover a session was read as %q (anonymous): never treat an outage as no session", w.Body.String())
		}
		recovered = time.Since(killed)
		break
	}
	t.Logf("failover: served again %v after the master was killed; %d requests failed with 503 meanwhile", recovered, outage)
	for i, c := range cookies {
		w := do("/whoami", c)
		if w.Code != 200 || w.Body.String() != fmt.Sprintf("user%d", i) {
			t.Fatalf("session %d after failover: %d %q", i, w.Code, w.Body.String())
		}
	}
	if outage == 0 {
		t.Log("no request failed: the client had already switched to the new master")
	}
}

// On Cluster the round trips are the same as on one node except the login,
// whose old and new keys live in different hash slots: create the new
// session, then delete the old one (3 round trips with the read).
func TestRoundTripsCluster(t *testing.T) {
	cc := startCluster(t)
	cc.AddHook(tripHook{})
	st := newStore(t, cc)
	clock := time.Now()
	m, err := session.New(st, session.WithClock(func() time.Time { return clock }), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		switch r.URL.Path {
		case "/read":
			session.Get[string](s, "name")
		case "/write":
			s.Set("name", "Grace")
		case "/new":
			s.Set("name", "Ada")
		case "/login":
			m.Login(r.Context(), "42")
		}
	}))
	var cookie *http.Cookie
	for _, tc := range []struct {
		path  string
		trips int64
	}{{"/new", 1}, {"/read", 1}, {"/write", 2}, {"/login", 3}, {"/read", 1}} {
		clock = clock.Add(time.Second)
		r := httptest.NewRequest("GET", tc.path, nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		trips.Store(0)
		h.ServeHTTP(w, r)
		if got := trips.Load(); got != tc.trips || w.Code != 200 {
			t.Errorf("%s on Cluster: %d round trips (status %d), want %d", tc.path, got, w.Code, tc.trips)
		}
		for _, c := range w.Result().Cookies() {
			cookie = c
		}
	}
	// The user's sessions are listed and revoked across slots.
	if n, err := m.RevokeUser(context.Background(), "42"); err != nil || n != 1 {
		t.Fatalf("RevokeUser on Cluster = %d, %v", n, err)
	}
}
