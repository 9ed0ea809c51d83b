package redisstore_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The tests start their own redis-server and redis-sentinel processes on
// free loopback ports in temporary directories, and stop exactly the
// processes they started: at the end of the test that started them, and
// (should a test abort) in TestMain. Each child also dies with the test
// binary (Pdeathsig).

var (
	procsMu sync.Mutex
	procs   = map[int]*exec.Cmd{}
)

type redisProc struct {
	cmd  *exec.Cmd
	port int
	addr string
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startProc runs binary with args in dir and waits until port answers PING.
func startProc(t testing.TB, binary, dir string, port int, args ...string) *redisProc {
	t.Helper()
	path, err := exec.LookPath(binary)
	if err != nil {
		t.Fatalf("%s is required for this test: %v", binary, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	log, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.log", binary, port)))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", binary, err)
	}
	procsMu.Lock()
	procs[cmd.Process.Pid] = cmd
	procsMu.Unlock()
	p := &redisProc{cmd: cmd, port: port, addr: "127.0.0.1:" + strconv.Itoa(port)}
	t.Cleanup(p.stop)
	c := redis.NewClient(&redis.Options{Addr: p.addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(log.Name())
			t.Fatalf("%s on port %d did not start:\n%s", binary, port, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

// stop kills the process (if still running) and reaps it.
func (p *redisProc) stop() {
	procsMu.Lock()
	_, running := procs[p.cmd.Process.Pid]
	delete(procs, p.cmd.Process.Pid)
	procsMu.Unlock()
	if running {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
}

func stopAll() {
	procsMu.Lock()
	defer procsMu.Unlock()
	for pid, cmd := range procs {
		cmd.Process.Kill()
		cmd.Wait()
		delete(procs, pid)
	}
}

func startRedis(t testing.TB, extra ...string) *redisProc {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no"}, extra...)
	return startProc(t, "redis-server", dir, port, args...)
}

// startCluster starts three masters and joins them into a cluster.
func startCluster(t testing.TB) *redis.ClusterClient {
	t.Helper()
	var addrs []string
	for range 3 {
		p := startRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")
		addrs = append(addrs, p.addr)
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.Command("redis-cli", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		deadline := time.Now().Add(20 * time.Second)
		for {
			info, _ := c.ClusterInfo(context.Background()).Result()
			if strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				c.Close()
				t.Fatalf("cluster node %s not ready: %s", a, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { cc.Close() })
	if err := cc.ForEachShard(context.Background(), func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() }); err != nil {
		t.Fatal(err)
	}
	return cc
}

type sentinelGroup struct {
	master, replica *redisProc
	sentinels       []*redisProc
	client          redis.UniversalClient
}

// startSentinel starts a master, a replica and three sentinels monitoring
// them as "mymaster" (quorum 2, down after 1 s).
func startSentinel(t testing.TB) *sentinelGroup {
	t.Helper()
	g := &sentinelGroup{}
	g.master = startRedis(t)
	g.replica = startRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(g.master.port))
	var saddrs []string
	for range 3 {
		dir := t.TempDir()
		port := freePort(t)
		conf := fmt.Sprintf("port %d\nbind 127.0.0.1\nprotected-mode no\ndir %s\n"+
			"sentinel monitor mymaster 127.0.0.1 %d 2\n"+
			"sentinel down-after-milliseconds mymaster 1000\n"+
			"sentinel failover-timeout mymaster 4000\n"+
			"sentinel parallel-syncs mymaster 1\n", port, dir, g.master.port)
		file := filepath.Join(dir, "sentinel.conf")
		if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		// redis-server in sentinel mode is what the redis-sentinel command runs.
		p := startProc(t, "redis-server", dir, port, file, "--sentinel")
		g.sentinels = append(g.sentinels, p)
		saddrs = append(saddrs, p.addr)
	}
	// Wait until the replica is in sync and the sentinels agree on it.
	rc := redis.NewClient(&redis.Options{Addr: g.replica.addr})
	defer rc.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		info, _ := rc.Info(context.Background(), "replication").Result()
		if strings.Contains(info, "master_link_status:up") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica never synced: %s", info)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, s := range saddrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: s})
		for {
			reps, _ := sc.Replicas(context.Background(), "mymaster").Result()
			if len(reps) == 1 {
				break
			}
			if time.Now().After(deadline) {
				sc.Close()
				t.Fatalf("sentinel %s does not see the replica", s)
			}
			time.Sleep(50 * time.Millisecond)
		}
		sc.Close()
	}
	g.client = redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName: "mymaster", SentinelAddrs: saddrs,
		DialTimeout: 500 * time.Millisecond, ReadTimeout: time.Second, WriteTimeout: time.Second,
		MaxRetries: -1,
	})
	t.Cleanup(func() { g.client.Close() })
	return g
}

// pause stops the process (SIGSTOP) without killing it: it holds its
// connections but answers nothing until resume.
func (p *redisProc) pause(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
}

// resume continues a paused process (SIGCONT).
func (p *redisProc) resume(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
}
