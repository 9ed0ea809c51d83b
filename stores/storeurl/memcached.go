package storeurl

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/stores/memcachedstore"
)

// openMemcached opens memcached://host:port[,host:port...][?timeout=DURATION&max_idle=N&distribution=rendezvous|modulo]
// (the prefix parameter was taken already).
func openMemcached(rawURL, prefix string) (*Store, error) {
	rest := strings.TrimPrefix(rawURL, "memcached://")
	hostList, rawQuery, _ := strings.Cut(rest, "?")
	hostList = strings.TrimSuffix(hostList, "/")
	if hostList == "" || strings.Contains(hostList, "@") || strings.Contains(hostList, "/") {
		return nil, fmt.Errorf("storeurl: memcached URLs are memcached://host:port[,host:port...] (no user, password or path)")
	}
	var servers []string
	for _, h := range strings.Split(hostList, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" {
			if !strings.Contains(h, ":") {
				host, port = h, "11211"
			} else {
				return nil, fmt.Errorf("storeurl: memcached server %q is not host:port", h)
			}
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("storeurl: memcached server %q has an invalid port", h)
		}
		servers = append(servers, net.JoinHostPort(host, port))
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, fmt.Errorf("storeurl: invalid memcached URL parameters")
	}
	// Rendezvous hashing by default: a change of the server list moves
	// only the sessions of the servers that changed. distribution=modulo
	// is gomemcache's own (memcache.New), for applications that build
	// their client that way: every client of the same sessions, sessionctl
	// included, must place keys alike.
	var sel memcache.ServerSelector
	switch d := q.Get("distribution"); d {
	case "", "rendezvous":
		rs, err := memcachedstore.NewServers(servers...)
		if err != nil {
			return nil, fmt.Errorf("storeurl: %w", err)
		}
		sel = rs
	case "modulo":
		ss := new(memcache.ServerList)
		if err := ss.SetServers(servers...); err != nil {
			return nil, fmt.Errorf("storeurl: memcached servers: %w", err)
		}
		sel = ss
	default:
		return nil, fmt.Errorf("storeurl: memcached distribution=%q is not rendezvous or modulo", d)
	}
	client := memcache.NewFromSelector(sel)
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "distribution":
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("storeurl: memcached timeout=%q is not a positive duration", v)
			}
			client.Timeout = d
		case "max_idle":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("storeurl: memcached max_idle=%q is not a positive number", v)
			}
			client.MaxIdleConns = n
		default:
			return nil, fmt.Errorf("storeurl: unknown memcached URL parameter %q (want prefix, timeout, max_idle, distribution)", k)
		}
	}
	var opts []memcachedstore.Option
	if prefix != "" {
		opts = append(opts, memcachedstore.WithPrefix(prefix))
	}
	st, err := memcachedstore.New(client, opts...)
	if err != nil {
		client.Close()
		return nil, err
	}
	if err := client.Ping(); err != nil {
		client.Close()
		return nil, fmt.Errorf("storeurl: memcached at %s: %w", strings.Join(servers, ","), err)
	}
	return &Store{FullStore: memcachedFull{st}, Kind: "memcached", close: client.Close}, nil
}

// memcachedFull gives the Memcached store the capabilities it does not
// have, saying why they are unsupported: counting (Memcached cannot count
// without a scan) and cleanup (Memcached drops expired items itself).
type memcachedFull struct{ *memcachedstore.Store }

var (
	errMemcachedCount   = fmt.Errorf("%w: Memcached cannot count sessions without a scan", session.ErrUnsupported)
	errMemcachedCleanup = fmt.Errorf("%w: Memcached drops expired sessions itself, there is nothing to clean up", session.ErrUnsupported)
)

func (memcachedFull) CountActive(context.Context, time.Time) (int64, error) {
	return 0, errMemcachedCount
}

func (memcachedFull) DeleteExpired(context.Context, time.Time, int) (int, error) {
	return 0, errMemcachedCleanup
}

func (m memcachedFull) store() session.Store { return m.Store }

func (memcachedFull) reason(capability string) error {
	switch capability {
	case "Counter":
		return errMemcachedCount
	case "ExpiredDeleter":
		return errMemcachedCleanup
	}
	return nil
}
