package redisstore

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session/internal/urlredact"
)

// NewClient builds a client from a URL:
//
//	redis://[[user]:password@]host:port[/db]           one node (rediss:// for TLS)
//	redis-sentinel://[[user]:password@]host:port[,host:port...]/master[?db=N]
//	redis-cluster://[[user]:password@]host:port[,host:port...]
//
// Query parameters of redis:// URLs are those of redis.ParseURL. The caller
// closes the client.
func NewClient(rawURL string) (redis.UniversalClient, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, fmt.Errorf("redisstore: %q is not a URL", redact(rawURL))
	}
	switch scheme {
	case "redis", "rediss":
		opts, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redisstore: parsing URL %q: %s", redact(rawURL), redact(err.Error()))
		}
		return redis.NewClient(opts), nil
	case "redis-sentinel", "redis-cluster":
	default:
		return nil, fmt.Errorf("redisstore: unknown URL scheme %q (redis, rediss, redis-sentinel, redis-cluster)", scheme)
	}
	// url.Parse rejects comma-separated hosts; split them off first.
	userinfo, hostsAndPath := "", rest
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		userinfo, hostsAndPath = rest[:at], rest[at+1:]
	}
	hosts, path, _ := strings.Cut(hostsAndPath, "/")
	path, query, _ := strings.Cut(path, "?")
	if i := strings.IndexByte(hosts, '?'); i >= 0 {
		hosts, query = hosts[:i], hosts[i+1:]
	}
	addrs := strings.Split(hosts, ",")
	for _, a := range addrs {
		if a == "" || !strings.Contains(a, ":") {
			return nil, fmt.Errorf("redisstore: address %q in %q needs host:port", a, redact(rawURL))
		}
	}
	var user, pass string
	if userinfo != "" {
		u, p, _ := strings.Cut(userinfo, ":")
		var err error
		// The unescaping errors quote the bad sequence: part of a secret.
		if user, err = url.PathUnescape(u); err != nil {
			return nil, errors.New("redisstore: the user name in the URL has an invalid %-escape")
		}
		if pass, err = url.PathUnescape(p); err != nil {
			return nil, errors.New("redisstore: the password in the URL has an invalid %-escape")
		}
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("redisstore: the query of %q has an invalid %%-escape", redact(rawURL))
	}
	db := 0
	if v := q.Get("db"); v != "" {
		if db, err = strconv.Atoi(v); err != nil {
			return nil, fmt.Errorf("redisstore: db=%q: %w", v, err)
		}
	}
	if scheme == "redis-cluster" {
		if path != "" || db != 0 {
			return nil, fmt.Errorf("redisstore: Redis Cluster has no databases; remove the path or db from %q", redact(rawURL))
		}
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, Username: user, Password: pass}), nil
	}
	if path == "" {
		return nil, fmt.Errorf("redisstore: %q needs the master name as its path (redis-sentinel://host:port/mymaster)", redact(rawURL))
	}
	return redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName: path, SentinelAddrs: addrs, Username: user, Password: pass, DB: db,
		SentinelUsername: q.Get("sentinel_user"), SentinelPassword: q.Get("sentinel_password"),
	}), nil
}

// redact hides the credentials of a URL, or of a parser's error quoting
// one, for error messages.
func redact(raw string) string { return urlredact.Redact(raw) }
