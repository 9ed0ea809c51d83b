// Command bench compares this library with alexedwards/scs and
// gorilla/sessions in one run: the same handlers and the same three-value
// session on memory, Redis (127.0.0.1:6379) and PostgreSQL (127.0.0.1:5432),
// plus the cookie stores, each beside the raw store operations it cannot
// avoid (the floor); round trips per request; lost-update experiments;
// force-logout at 1,000,000 sessions. It prints tables of ratios (peer time
// divided by ours: above 1 means we are faster).
//
//	go run ./bench                       # everything, about 5 minutes
//	go run ./bench -sessions 200000      # a smaller force-logout experiment
//	go run ./bench -backends redis,postgres -sessions 0   # requests, lost updates, throughput on the servers
//	go run ./bench -backends redis,postgres -sessions 0 -loadtime 0 -latency 200us,1ms   # and with network latency
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"
)

func main() {
	redisAddr := flag.String("redis", envOr("SESSION_TEST_REDIS_ADDR", "127.0.0.1:6379"), "Redis address")
	pgURL := flag.String("postgres", envOr("SESSION_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "PostgreSQL URL")
	benchtime := flag.Duration("benchtime", time.Second, "time per benchmark")
	trials := flag.Int("trials", 200, "trials per lost-update experiment")
	sessions := flag.Int("sessions", 1_000_000, "sessions in the force-logout experiment (0 to skip)")
	only := flag.String("backends", "memory,redis,postgres,cookie", "backends to compare")
	loadTime := flag.Duration("loadtime", 2*time.Second, "time per throughput measurement (0 to skip)")
	latencies := flag.String("latency", "", "round trips to add to Redis and PostgreSQL (e.g. 200us,1ms) for the network latency tables (empty to skip)")
	flag.Parse()
	testing.Init()
	flag.Set("test.benchtime", benchtime.String())
	ctx := context.Background()

	want := map[string]bool{}
	for _, b := range strings.Split(*only, ",") {
		want[strings.TrimSpace(b)] = true
	}
	// Each backend's libraries are built, measured and closed in turn, so
	// sessions created by one backend's benchmarks (the memory stores keep
	// every login) do not weigh on the next one's garbage collector.
	builders := []struct {
		name  string
		build func() ([]*impl, error)
	}{
		{"memory", memoryImpls},
		{"redis", func() ([]*impl, error) { return redisImpls(ctx, *redisAddr) }},
		{"postgres", func() ([]*impl, error) { return postgresImpls(ctx, *pgURL) }},
		{"cookie", func() ([]*impl, error) {
			oc, err := oursCookie()
			if oc != nil {
				oc.floors = bareFloors()
			}
			return []*impl{oc, gorillaCookie()}, err
		}},
	}
	fmt.Printf("sessionkit/session vs alexedwards/scs v2.9.0 and gorilla/sessions v1.4.0, %s, idle timeout %v\n\n", time.Now().UTC().Format(time.DateTime), idleTimeout)
	var reqRows, lostRows, loadRows []string
	for _, b := range builders {
		if !want[b.name] {
			continue
		}
		g, err := b.build()
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		reqRows = append(reqRows, requests(g)...)
		lostRows = append(lostRows, lostUpdates(g, *trials)...)
		if *loadTime > 0 && (b.name == "redis" || b.name == "postgres") {
			loadRows = append(loadRows, throughput(g, *loadTime)...)
		}
		closeImpls(g)
	}
	var latencyRows []string
	if *latencies != "" {
		for _, v := range strings.Split(*latencies, ",") {
			rtt, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil {
				fmt.Fprintln(os.Stderr, "bench: -latency:", err)
				os.Exit(2)
			}
			rows, err := latencyRequests(ctx, want, *redisAddr, *pgURL, rtt)
			if err != nil {
				fmt.Fprintln(os.Stderr, "bench: latency:", err)
				os.Exit(1)
			}
			latencyRows = append(latencyRows, rows...)
		}
	}
	fmt.Println("Requests (time and allocations per request through each library's middleware; round trips to the store per request;")
	fmt.Println("the floor: the same store operations sent raw, without any session library, or the bare handler)")
	table("backend\tscenario\tours\tpeer\tpeer/ours\tfloor\tours-floor\tours/floor\tallocs ours\tallocs peer\ttrips ours\ttrips peer\t", reqRows)
	fmt.Printf("\nLost updates (%d trials each; both requests load the session before either commits)\n", *trials)
	table("library\tbackend\ttwo writes, different keys\twrite beside a read-only request\t", lostRows)
	if len(loadRows) > 0 {
		fmt.Printf("\nThroughput under concurrency (each client its own session; mix of 90%% read-only, 8%% write, 2%% login; %v per measurement)\n", *loadTime)
		table("backend\tscheduler\tclients\tours req/s\tpeer req/s\tours/peer\tours p50 / p99\tpeer p50 / p99\t", loadRows)
	}
	if len(latencyRows) > 0 {
		fmt.Println("\nRequests with network latency (a delaying proxy in front of the store adds the round trip; measured: the median PING through it)")
		table("added rtt\tmeasured\tbackend\tscenario\tours\tpeer\tpeer/ours\tfloor\tours-floor\tours/floor\tallocs ours\tallocs peer\ttrips ours\ttrips peer\t", latencyRows)
	}
	if *sessions > 0 {
		fmt.Println()
		if err := forceLogout(ctx, *redisAddr, *sessions); err != nil {
			fmt.Fprintln(os.Stderr, "bench: force logout:", err)
			os.Exit(1)
		}
	}
}

// closeImpls closes the libraries of one backend and collects their
// garbage, so that it does not weigh on the next measurements.
func closeImpls(g []*impl) {
	for _, im := range g {
		if im.close != nil {
			im.close()
		}
	}
	runtime.GC()
}

func table(header string, rows []string) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, r)
	}
	tw.Flush()
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// client keeps one session cookie for an impl.
type client struct {
	im     *impl
	cookie *http.Cookie
	set    bool // the last response set or deleted the cookie
}

func (c *client) do(path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "http://bench.test"+path, nil)
	if c.cookie != nil {
		r.AddCookie(c.cookie)
	}
	w := httptest.NewRecorder()
	c.im.handler.ServeHTTP(w, r)
	c.set = false
	for _, ck := range w.Result().Cookies() {
		if ck.Name == c.im.cookie {
			c.set = true
			if ck.MaxAge < 0 {
				c.cookie = nil
			} else {
				c.cookie = ck
			}
		}
	}
	if w.Code >= 500 {
		fmt.Fprintf(os.Stderr, "bench: %s/%s %s: %d %s\n", c.im.lib, c.im.backend, path, w.Code, w.Body.String())
		os.Exit(1)
	}
	return w
}

type result struct {
	ns, allocs float64
	trips      float64 // round trips per request, -1 when not applicable
}

// scenario runs one request shape against an impl.
type scenario struct {
	name  string
	setup func(c *client) // prepares the session (outside the timer)
	path  string
	fresh bool // every iteration needs a new anonymous session
}

var scenarios = []scenario{
	{name: "read-only", setup: func(c *client) { c.do("/login") }, path: "/read"},
	{name: "write", setup: func(c *client) { c.do("/login") }, path: "/write"},
	{name: "login (new session)", path: "/login"},
	{name: "login from anonymous", path: "/login", fresh: true},
}

// request builds the request of a scenario carrying c's cookie.
func (c *client) request(path string) *http.Request {
	r := httptest.NewRequest("GET", "http://bench.test"+path, nil)
	if c.cookie != nil {
		r.AddCookie(c.cookie)
	}
	return r
}

// discardWriter keeps the harness out of the measurement.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

func measure(im *impl, sc scenario) result {
	c := &client{im: im}
	if sc.setup != nil {
		sc.setup(c)
	}
	w := &discardWriter{h: http.Header{}}
	br := testing.Benchmark(func(b *testing.B) {
		r := c.request(sc.path)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if sc.fresh {
				b.StopTimer()
				anon := &client{im: im}
				anon.do("/new")
				r = anon.request(sc.path)
				b.StartTimer()
			}
			clear(w.h)
			// A fresh shallow copy per request, for every library alike:
			// gorilla caches decoded sessions in the request it is given.
			req := *r
			im.handler.ServeHTTP(w, &req)
		}
	})
	res := result{ns: float64(br.NsPerOp()), allocs: float64(br.AllocsPerOp()), trips: -1}
	if im.trips != nil {
		const n = 50
		var total int64
		for range n {
			r := c.request(sc.path)
			if sc.fresh {
				anon := &client{im: im}
				anon.do("/new")
				r = anon.request(sc.path)
			}
			before := im.trips()
			clear(w.h)
			im.handler.ServeHTTP(w, r)
			total += im.trips() - before
		}
		res.trips = float64(total) / n
	}
	return res
}

func requests(g []*impl) []string {
	o, p := g[0], g[1]
	var rows []string
	for _, sc := range scenarios {
		ro, rp := measure(o, sc), measure(p, sc)
		f := o.floors[sc.name]
		fl, err := measureFloor(f)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s floor of %s: %v\n", o.backend, sc.name, err)
			os.Exit(1)
		}
		rows = append(rows, fmt.Sprintf("%s\t%s\t%s\t%s (%s)\t%.1fx\t%s (%s)\t%s\t%.2fx\t%.0f\t%.0f\t%s\t%s\t", o.backend, sc.name, dur(ro.ns), dur(rp.ns), p.lib,
			rp.ns/ro.ns, dur(fl), f.what, signed(ro.ns-fl), ro.ns/fl, ro.allocs, rp.allocs, trips(ro.trips), trips(rp.trips)))
	}
	return rows
}

// signed prints a difference of times with its sign.
func signed(ns float64) string {
	if ns >= 0 {
		return "+" + dur(ns)
	}
	return dur(ns)
}

func dur(ns float64) string { return time.Duration(ns).Round(100 * time.Nanosecond).String() }

func trips(t float64) string {
	if t < 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", t)
}

// lostUpdates runs two experiments per impl, each trial on a new session:
// two concurrent requests writing different keys (both loaded before
// either commits), and a write beside a concurrent read-only request.
func lostUpdates(g []*impl, trials int) []string {
	var rows []string
	for _, im := range g {
		a := lost(im, trials, "/k?k=a", "/k?k=b", []string{"a", "b"})
		b := lost(im, trials, "/k?k=w", "/ro", []string{"w"})
		rows = append(rows, fmt.Sprintf("%s\t%s\t%d/%d lost\t%d/%d lost\t", im.lib, im.backend, a, trials, b, trials))
	}
	return rows
}

func lost(im *impl, trials int, p1, p2 string, keys []string) int {
	lostCount := 0
	for range trials {
		c := &client{im: im}
		c.do("/new")
		var ready sync.WaitGroup
		ready.Add(2)
		f := func() { ready.Done(); ready.Wait() }
		im.barrier.Store(&f)
		// Both requests send the same cookie; the browser keeps the cookie
		// of the response that arrives last.
		c1, c2 := *c, *c
		var wg sync.WaitGroup
		wg.Go(func() { c1.do(p1) })
		wg.Go(func() { c2.do(p2) })
		wg.Wait()
		im.barrier.Store(nil)
		// The second response is taken to arrive last: the browser keeps
		// its cookie if it set one, else the first response's.
		final := c2
		if !c2.set {
			final = c1
		}
		for _, k := range keys {
			if final.do("/has?k="+k).Body.String() != "true" {
				lostCount++
				break
			}
		}
	}
	return lostCount
}
