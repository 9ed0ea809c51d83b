// Command loadtest drives the demo app (examples/webapp) with N concurrent
// simulated users for a bounded time and audits the result: every
// preference write the app acknowledged must be in the user's session at
// the end (and before each logout). Traffic goes to 127.0.0.1 only.
//
//	scripts/loadtest.sh sqlite:/tmp/lt.db          # starts the app, runs 200 users for 60 s
//	go run ./bench/loadtest --target http://127.0.0.1:8080 --users 200 --duration 60s
//
// Each simulated user logs in as u<i> (the app must know the users: start it
// with --users u0:pw,u1:pw,...), then loops: write a preference (POST
// /api/prefs), read them back (GET /api/prefs) and check its own writes,
// read /api/me, and every 40 operations logs out and in again.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	target := flag.String("target", "http://127.0.0.1:8080", "demo app base URL (loopback only)")
	users := flag.Int("users", 200, "concurrent simulated users")
	duration := flag.Duration("duration", 60*time.Second, "how long to run")
	password := flag.String("password", "pw", "password of every u<i> user")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil || u.Scheme != "http" {
		fail("--target must be an http:// URL")
	}
	if ip := net.ParseIP(u.Hostname()); (ip == nil || !ip.IsLoopback()) && u.Hostname() != "localhost" {
		fail("--target must be on 127.0.0.1 (traffic stays on this machine)")
	}
	tr := &http.Transport{MaxIdleConns: *users * 2, MaxIdleConnsPerHost: *users * 2, IdleConnTimeout: time.Minute}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	stats := &stats{}
	deadline := time.Now().Add(*duration)
	var wg sync.WaitGroup
	sims := make([]*sim, *users)
	for i := range sims {
		sims[i] = &sim{base: *target, client: client, stats: stats, user: "u" + strconv.Itoa(i), password: *password, acked: map[string]string{}}
	}
	start := time.Now()
	for _, s := range sims {
		wg.Go(func() { s.run(deadline) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	// End-of-run audit of every user's current session.
	for _, s := range sims {
		if s.cookie != "" {
			s.audit("end of run")
		}
	}
	stats.report(os.Stdout, *users, elapsed)
	if stats.errors > 0 || stats.lost > 0 {
		os.Exit(1)
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "loadtest:", msg)
	os.Exit(2)
}

type stats struct {
	mu        sync.Mutex
	latencies []time.Duration
	errors    int
	errSample []string
	lost      int
	lostLog   []string
	audits    int
	writes    int
}

func (st *stats) record(d time.Duration, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.latencies = append(st.latencies, d)
	if err != nil {
		st.errors++
		if len(st.errSample) < 5 {
			st.errSample = append(st.errSample, err.Error())
		}
	}
}

func (st *stats) report(w io.Writer, users int, elapsed time.Duration) {
	slices.Sort(st.latencies)
	n := len(st.latencies)
	pct := func(p float64) time.Duration {
		if n == 0 {
			return 0
		}
		return st.latencies[min(n-1, int(float64(n)*p))]
	}
	fmt.Fprintf(w, "users %d, %v: %d requests, %.0f requests/s\n", users, elapsed.Round(time.Millisecond), n, float64(n)/elapsed.Seconds())
	fmt.Fprintf(w, "latency p50 %v, p90 %v, p99 %v, max %v\n", pct(0.5).Round(time.Microsecond), pct(0.9).Round(time.Microsecond),
		pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond))
	fmt.Fprintf(w, "errors %d; acknowledged writes %d, audits %d, lost writes %d\n", st.errors, st.writes, st.audits, st.lost)
	for _, e := range st.errSample {
		fmt.Fprintln(w, "  error:", e)
	}
	for _, l := range st.lostLog {
		fmt.Fprintln(w, "  lost:", l)
	}
}

// sim is one simulated user with its own cookie.
type sim struct {
	base, user, password string
	client               *http.Client
	stats                *stats
	cookie               string
	acked                map[string]string // key -> last acknowledged value, this session
}

func (s *sim) do(method, path string, form url.Values) (int, []byte, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.base+path, body)
	if err != nil {
		return 0, nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if s.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "__Host-sid", Value: s.cookie})
	}
	t0 := time.Now()
	res, err := s.client.Do(req)
	if err != nil {
		s.stats.record(time.Since(t0), err)
		return 0, nil, err
	}
	data, err := io.ReadAll(res.Body)
	res.Body.Close()
	for _, c := range res.Cookies() {
		if c.Name == "__Host-sid" {
			if c.MaxAge < 0 {
				s.cookie = ""
			} else {
				s.cookie = c.Value
			}
		}
	}
	if err == nil && res.StatusCode >= 400 && !(path == "/api/me" && res.StatusCode == 401) {
		err = fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, strings.TrimSpace(string(data)))
	}
	s.stats.record(time.Since(t0), err)
	return res.StatusCode, data, err
}

func (s *sim) login() bool {
	code, _, err := s.do("POST", "/login", url.Values{"username": {s.user}, "password": {s.password}})
	if err != nil || code != http.StatusSeeOther || s.cookie == "" {
		return false
	}
	clear(s.acked)
	return true
}

// audit checks that the session holds every acknowledged write.
func (s *sim) audit(when string) {
	code, data, err := s.do("GET", "/api/prefs", nil)
	if err != nil || code != 200 {
		return // counted as an error
	}
	var prefs map[string]string
	if err := json.Unmarshal(data, &prefs); err != nil {
		s.stats.record(0, fmt.Errorf("GET /api/prefs: %v", err))
		return
	}
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	s.stats.audits++
	for k, v := range s.acked {
		if prefs[k] != v {
			s.stats.lost++
			if len(s.stats.lostLog) < 10 {
				s.stats.lostLog = append(s.stats.lostLog, fmt.Sprintf("%s %s: %s=%q acknowledged, session has %q", s.user, when, k, v, prefs[k]))
			}
		}
	}
}

func (s *sim) run(deadline time.Time) {
	for n := 0; time.Now().Before(deadline); n++ {
		if s.cookie == "" && !s.login() {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		switch {
		case n%40 == 39:
			s.audit("before logout")
			s.do("POST", "/logout", url.Values{})
			s.cookie = ""
		case n%4 == 0:
			s.audit("mid-run")
		case n%4 == 1:
			s.do("GET", "/api/me", nil)
		default:
			k, v := "k"+strconv.Itoa(n%30), strconv.Itoa(n)
			code, _, err := s.do("POST", "/api/prefs", url.Values{"key": {k}, "value": {v}})
			if err == nil && code == 200 {
				s.acked[k] = v
				s.stats.mu.Lock()
				s.stats.writes++
				s.stats.mu.Unlock()
			}
		}
	}
}
