package main

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"
)

// mix is the realistic request mix of the throughput experiment, one
// entry per request in a cycle of 50: 90% read-only, 8% writes, 2% logins.
var mix = func() []string {
	out := make([]string, 0, 50)
	for i := range 50 {
		switch {
		case i == 49:
			out = append(out, "/login")
		case i%12 == 5:
			out = append(out, "/write")
		default:
			out = append(out, "/read")
		}
	}
	return out
}()

// load is one throughput measurement.
type load struct {
	rps      float64
	p50, p99 time.Duration
}

// runLoad runs clients concurrent clients, each with its own logged-in
// session, through im for d, every client cycling through mix from its own
// offset.
func runLoad(im *impl, clients int, d time.Duration) load {
	var (
		mu  sync.Mutex
		lat []time.Duration
		wg  sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for i := range clients {
		wg.Go(func() {
			c := &client{im: im}
			c.do("/login")
			own := make([]time.Duration, 0, 4096)
			for n := i * 7; time.Now().Before(deadline); n++ {
				t := time.Now()
				c.do(mix[n%len(mix)])
				own = append(own, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, own...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	if len(lat) == 0 {
		return load{}
	}
	return load{rps: float64(len(lat)) / elapsed.Seconds(), p50: lat[len(lat)/2], p99: lat[len(lat)*99/100]}
}

// throughput compares ours (g[0]) and the peer (g[1]) under 1, 16 and 64
// concurrent clients, and at 64 clients with GOMAXPROCS 1 and 2.
func throughput(g []*impl, d time.Duration) []string {
	o, p := g[0], g[1]
	var rows []string
	row := func(label string, clients int) {
		lo, lp := runLoad(o, clients, d), runLoad(p, clients, d)
		rows = append(rows, fmt.Sprintf("%s\t%s\t%d\t%.0f\t%.0f (%s)\t%.2fx\t%s / %s\t%s / %s\t", o.backend, label, clients, lo.rps, lp.rps, p.lib,
			lo.rps/lp.rps, dur(float64(lo.p50)), dur(float64(lo.p99)), dur(float64(lp.p50)), dur(float64(lp.p99))))
	}
	procs := runtime.GOMAXPROCS(0)
	for _, n := range []int{1, 16, 64} {
		row(fmt.Sprintf("GOMAXPROCS %d", procs), n)
	}
	if procs > 1 {
		runtime.GOMAXPROCS(1)
		row("GOMAXPROCS 1", 64)
		runtime.GOMAXPROCS(procs)
	}
	return rows
}
