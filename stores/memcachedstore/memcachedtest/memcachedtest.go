// Package memcachedtest starts Memcached servers for tests: Debian's
// memcached on free loopback ports, each stopped when its test ends, with
// Stop and Restart to simulate a node lost and replaced.
package memcachedtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a memcached process a test started on a free loopback port;
// Stop ends exactly it.
type Server struct {
	// Addr is host:port.
	Addr  string
	cmd   *exec.Cmd
	extra []string
}

// Start starts Debian's memcached (the test command installs it) on a free
// port of 127.0.0.1, stopped when the test ends; a missing memcached
// fails the test. extra are more memcached flags (such as "-C", "-I",
// "2m").
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	s := &Server{extra: extra}
	s.start(t, freePort(t))
	t.Cleanup(s.Stop)
	return s
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *Server) start(t testing.TB, port int) {
	t.Helper()
	s.Addr = "127.0.0.1:" + strconv.Itoa(port)
	args := []string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0", "-m", "64", "-t", "2"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root") // memcached refuses to run as root otherwise
	}
	args = append(args, s.extra...)
	s.cmd = exec.Command("memcached", args...)
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting memcached (the test command installs Debian's memcached): %v", err)
	}
	for range 100 {
		if c, err := net.DialTimeout("tcp", s.Addr, 100*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("memcached on %s did not come up", s.Addr)
}

// Stop kills the process (a node lost) and waits for it.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart starts an empty memcached on the same address (a node replaced).
func (s *Server) Restart(t testing.TB) {
	port, _ := strconv.Atoi(s.Addr[len("127.0.0.1:"):])
	s.start(t, port)
}

// String names the server.
func (s *Server) String() string { return fmt.Sprintf("memcached %s", s.Addr) }

// Stats returns the server's "stats" answer, one "STAT name value" line
// per statistic.
func Stats(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("stats\r\n")); err != nil {
		return "", err
	}
	var b strings.Builder
	buf := make([]byte, 4096)
	for !strings.HasSuffix(b.String(), "END\r\n") {
		n, err := c.Read(buf)
		if err != nil {
			return b.String(), err
		}
		b.Write(buf[:n])
	}
	return b.String(), nil
}
