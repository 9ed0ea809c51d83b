package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// This machine's kernel has no netem queueing discipline ("tc qdisc add
// ... netem" answers "Specified qdisc kind is unknown"), so the network
// latency mode delays traffic in a proxy of its own instead: every chunk of
// bytes it reads is written on after oneWay, in both directions and in
// order, so a round trip through it takes 2*oneWay more than on loopback.
// Go's timers fire about a millisecond late here, so each direction's
// writer is an OS thread of its own that sleeps with nanosleep and a timer
// slack of 1 ns, corrected by its measured overshoot (about 20 us).

// delayProxy forwards connections from a loopback port to target.
type delayProxy struct {
	ln       net.Listener
	target   string
	oneWay   time.Duration
	mu       sync.Mutex
	conns    []net.Conn
	closed   bool
	wg       sync.WaitGroup
	overshot time.Duration
}

// startDelayProxy listens on a free loopback port and forwards to target
// with a round trip rtt longer.
func startDelayProxy(target string, rtt time.Duration) (*delayProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &delayProxy{ln: ln, target: target, oneWay: rtt / 2, overshot: nanosleepOvershoot()}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *delayProxy) addr() string { return p.ln.Addr().String() }

func (p *delayProxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		if p.closed { // accepted while close ran: never served
			p.mu.Unlock()
			in.Close()
			out.Close()
			return
		}
		p.conns = append(p.conns, in, out)
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pipe(out, in)
		go p.pipe(in, out)
	}
}

// chunk is bytes read from one side, due on the other side at due.
type chunk struct {
	data []byte
	due  time.Time
}

// pipe copies src to dst, each chunk oneWay after it was read.
func (p *delayProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	queue := make(chan chunk, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // the thread exits with the goroutine, timer slack and all
		setTimerSlack()
		for c := range queue {
			sleepUntil(c.due, p.overshot)
			if _, err := dst.Write(c.data); err != nil {
				for range queue { // drain until the reader ends
				}
				return
			}
		}
	}()
	for {
		buf := make([]byte, 32<<10)
		n, err := src.Read(buf)
		if n > 0 {
			queue <- chunk{buf[:n], time.Now().Add(p.oneWay)}
		}
		if err != nil {
			break
		}
	}
	close(queue)
	<-done
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}

// close stops the proxy and its connections.
func (p *delayProxy) close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// setTimerSlack makes the calling thread's sleeps end within about a
// microsecond of their deadline (Linux's default slack is 50 us).
func setTimerSlack() {
	const prSetTimerSlack = 29
	syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerSlack, 1, 0)
}

// sleepUntil blocks the thread until due, less the sleep's usual overshoot.
func sleepUntil(due time.Time, overshoot time.Duration) {
	d := time.Until(due) - overshoot
	if d <= 0 {
		return
	}
	ts := syscall.NsecToTimespec(int64(d))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}

// nanosleepOvershoot measures the median time a 100 us nanosleep takes
// beyond 100 us on this machine.
func nanosleepOvershoot() time.Duration {
	result := make(chan time.Duration)
	go func() {
		runtime.LockOSThread()
		setTimerSlack()
		var xs []time.Duration
		for range 200 {
			t := time.Now()
			sleepUntil(t.Add(100*time.Microsecond), 0)
			xs = append(xs, time.Since(t)-100*time.Microsecond)
		}
		slices.Sort(xs)
		result <- xs[len(xs)/2]
	}()
	return <-result
}

// measureRTT returns the median time of n calls of ping (a Redis PING, an
// empty PostgreSQL query) through the proxy: the round trip the requests
// pay, the proxy's own cost included.
func measureRTT(ping func() error, n int) (time.Duration, error) {
	var xs []time.Duration
	for range n {
		t := time.Now()
		if err := ping(); err != nil {
			return 0, err
		}
		xs = append(xs, time.Since(t))
	}
	slices.Sort(xs)
	return xs[len(xs)/2], nil
}

// latencyRequests runs the request comparisons of redis and postgres
// (the backends in want) through delay proxies with round trip rtt added
// and returns the table's rows, the first column the measured round trip
// to Redis through the proxy.
func latencyRequests(ctx context.Context, want map[string]bool, redisAddr, pgURL string, rtt time.Duration) ([]string, error) {
	var rows []string
	if want["redis"] {
		r, err := latencyRun(redisAddr, rtt, func(addr string) (func() error, func(), error) {
			c := redis.NewClient(&redis.Options{Addr: addr})
			return func() error { return c.Ping(ctx).Err() }, func() { c.Close() }, nil
		}, func(addr string) ([]*impl, error) { return redisImpls(ctx, addr) })
		if err != nil {
			return nil, err
		}
		rows = append(rows, r...)
	}
	if want["postgres"] {
		u, err := url.Parse(pgURL)
		if err != nil {
			return nil, err
		}
		through := func(addr string) string { v := *u; v.Host = addr; return v.String() }
		r, err := latencyRun(u.Host, rtt, func(addr string) (func() error, func(), error) {
			conn, err := pgx.Connect(ctx, through(addr))
			if err != nil {
				return nil, nil, err
			}
			return func() error { return conn.Ping(ctx) }, func() { conn.Close(ctx) }, nil
		}, func(addr string) ([]*impl, error) { return postgresImpls(ctx, through(addr)) })
		if err != nil {
			return nil, err
		}
		rows = append(rows, r...)
	}
	return rows, nil
}

// latencyRun puts a delay proxy adding rtt in front of target, measures
// the round trip through it with a client of connect's (ping, then close),
// builds the libraries on it and returns the request table's rows, each
// led by the added and the measured round trip.
func latencyRun(target string, rtt time.Duration, connect func(addr string) (ping func() error, closeFn func(), err error),
	build func(addr string) ([]*impl, error)) ([]string, error) {
	p, err := startDelayProxy(target, rtt)
	if err != nil {
		return nil, err
	}
	defer p.close()
	ping, closeFn, err := connect(p.addr())
	if err != nil {
		return nil, err
	}
	measured, err := measureRTT(ping, 200)
	closeFn()
	if err != nil {
		return nil, err
	}
	g, err := build(p.addr())
	if err != nil {
		return nil, err
	}
	defer closeImpls(g)
	var rows []string
	for _, r := range requests(g) {
		rows = append(rows, fmt.Sprintf("%v\t%v\t%s", rtt, measured.Round(time.Microsecond), r))
	}
	return rows, nil
}
