package memcachedstore

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"strings"
	"sync"

	"github.com/bradfitz/gomemcache/memcache"
)

// Servers is a memcache.ServerSelector that places each key on one of
// several servers by rendezvous (highest random weight) hashing: every
// server scores the key, and the highest score wins. Adding a server to n
// moves about 1/(n+1) of the keys to it and removing one moves only its
// own keys, so a change of the server list logs out only the users whose
// sessions were on the servers that changed. gomemcache's default
// (memcache.New) picks crc32(key) modulo the number of servers: adding a
// third server to two moves about two thirds of all sessions, logging
// their users out.
//
// A server's place depends on the name it is given (host:port, or a Unix
// socket path), not on the address it resolves to, so every client
// configured with the same names places keys alike.
//
// Use it with memcache.NewFromSelector.
type Servers struct {
	mu      sync.RWMutex
	servers []server
}

type server struct {
	seed uint64 // the hash of the server's name
	addr net.Addr
}

// NewServers returns a selector over the named servers (see SetServers).
func NewServers(names ...string) (*Servers, error) {
	s := &Servers{}
	if err := s.SetServers(names...); err != nil {
		return nil, err
	}
	return s, nil
}

// SetServers replaces the server list: host:port addresses, resolved now,
// or Unix socket paths (a name with a "/"). The same name twice is an
// error.
func (s *Servers) SetServers(names ...string) error {
	if len(names) == 0 {
		return errors.New("memcachedstore: no servers")
	}
	servers := make([]server, 0, len(names))
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		if seen[name] {
			return fmt.Errorf("memcachedstore: server %q listed twice", name)
		}
		seen[name] = true
		var addr net.Addr
		var err error
		if strings.Contains(name, "/") {
			addr, err = net.ResolveUnixAddr("unix", name)
		} else {
			addr, err = net.ResolveTCPAddr("tcp", name)
		}
		if err != nil {
			return fmt.Errorf("memcachedstore: server %q: %w", name, err)
		}
		h := fnv.New64a()
		h.Write([]byte(name))
		servers = append(servers, server{seed: h.Sum64(), addr: resolvedAddr{network: addr.Network(), str: addr.String()}})
	}
	s.mu.Lock()
	s.servers = servers
	s.mu.Unlock()
	return nil
}

// PickServer returns the server of key: the one whose score for it is the
// highest.
func (s *Servers) PickServer(key string) (net.Addr, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch len(s.servers) {
	case 0:
		return nil, memcache.ErrNoServers
	case 1:
		return s.servers[0].addr, nil
	}
	k := fnv64a(key)
	best, bestScore := 0, uint64(0)
	for i, srv := range s.servers {
		if score := mix64(k ^ srv.seed); i == 0 || score > bestScore {
			best, bestScore = i, score
		}
	}
	return s.servers[best].addr, nil
}

// Each calls f for every server.
func (s *Servers) Each(f func(net.Addr) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, srv := range s.servers {
		if err := f(srv.addr); err != nil {
			return err
		}
	}
	return nil
}

// resolvedAddr is a resolved server address whose String does not
// allocate: gomemcache calls it on every operation (its connection pool is
// keyed by it), and net.TCPAddr builds the string each time.
type resolvedAddr struct {
	network, str string
}

func (a resolvedAddr) Network() string { return a.network }
func (a resolvedAddr) String() string  { return a.str }

// fnv64a is FNV-1a over key, without allocating.
func fnv64a(key string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	return h
}

// mix64 is the finalizer of SplitMix64: every input bit changes each
// output bit with probability about one half, so the servers' scores for
// a key are independent.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
