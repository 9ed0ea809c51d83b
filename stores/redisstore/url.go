package redisstore

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session/internal/urlredact"
)

// NewClient builds a client from a URL:
//
//	redis://[[user]:password@]host:port[/db][?option=value...]                 one node (rediss:// for TLS)
//	redis-sentinel://[[user]:password@]host:port[,host:port...]/master[?db=N&sentinel_user=U&sentinel_password=P&option=value...]
//	redis-cluster://[[user]:password@]host:port[,host:port...][?option=value...]
//
// rediss-sentinel:// and rediss-cluster:// connect with TLS. The options
// are go-redis's (its ParseURL, ParseFailoverURL and ParseClusterURL
// parse them: dial_timeout=3s, read_timeout, pool_size, max_retries,
// skip_verify=true, ...); an unknown one is an error naming it. The user
// and password of a Sentinel URL are the master's; sentinel_user and
// sentinel_password are the Sentinels' own. The caller closes the client.
func NewClient(rawURL string) (redis.UniversalClient, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, fmt.Errorf("redisstore: %q is not a URL", redact(rawURL))
	}
	base := "redis"
	switch scheme {
	case "redis", "rediss":
		opts, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redisstore: parsing URL %q: %s", redact(rawURL), urlredact.RedactFor(rawURL, err.Error()))
		}
		return redis.NewClient(opts), nil
	case "rediss-sentinel", "rediss-cluster":
		base = "rediss"
	case "redis-sentinel", "redis-cluster":
	default:
		return nil, fmt.Errorf("redisstore: unknown URL scheme %q (redis, rediss, redis-sentinel, rediss-sentinel, redis-cluster, rediss-cluster)", scheme)
	}
	// url.Parse rejects comma-separated hosts: split them off, then hand
	// go-redis its own URL form (one host, the others as addr=).
	userinfo, hostsAndPath := "", rest
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		userinfo, hostsAndPath = rest[:at], rest[at+1:]
	}
	hostsAndPath, query, _ := strings.Cut(hostsAndPath, "?")
	hosts, path, _ := strings.Cut(hostsAndPath, "/")
	addrs := strings.Split(hosts, ",")
	for _, a := range addrs {
		if a == "" || !strings.Contains(a, ":") {
			return nil, fmt.Errorf("redisstore: an address in %q is not host:port", redact(rawURL))
		}
	}
	// The URL's own user and password, set on the options after go-redis
	// has parsed the rest (never part of a URL handed on, whose parse
	// errors could quote them).
	var user, pass string
	var err error
	if userinfo != "" {
		u, p, _ := strings.Cut(userinfo, ":")
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
		return nil, fmt.Errorf("redisstore: the query of %q is not valid (an invalid %%-escape or a ';')", redact(rawURL))
	}
	for _, a := range addrs[1:] {
		q.Add("addr", a)
	}
	if strings.HasSuffix(scheme, "-cluster") {
		if path != "" || q.Has("db") {
			return nil, fmt.Errorf("redisstore: Redis Cluster has no databases; remove the path or db from %q", redact(rawURL))
		}
		u := base + "://" + addrs[0] + "?" + q.Encode()
		opts, err := redis.ParseClusterURL(u)
		if err != nil {
			return nil, fmt.Errorf("redisstore: parsing URL %q: %s", redact(rawURL), urlredact.RedactFor(rawURL, err.Error()))
		}
		opts.Username, opts.Password = user, pass
		if opts.TLSConfig != nil {
			opts.TLSConfig.ServerName = "" // each node is checked against its own name
		}
		return redis.NewClusterClient(opts), nil
	}
	if path == "" {
		return nil, fmt.Errorf("redisstore: %q needs the master name as its path (redis-sentinel://host:port/mymaster)", redact(rawURL))
	}
	// go-redis's form: the Sentinels' credentials as the userinfo, the
	// database as the path, the master name as master_name.
	sentinelInfo := ""
	if su, sp := q.Get("sentinel_user"), q.Get("sentinel_password"); su != "" || sp != "" {
		sentinelInfo = url.UserPassword(su, sp).String()
	}
	db := q.Get("db")
	if strings.Trim(db, "0123456789") != "" {
		return nil, fmt.Errorf("redisstore: db=%q is not a database number", db)
	}
	if q.Has("master_name") {
		return nil, errors.New("redisstore: the master name is the path of a Sentinel URL, not master_name=")
	}
	q.Del("sentinel_user")
	q.Del("sentinel_password")
	q.Del("db")
	q.Set("master_name", path)
	u := base + "://" + withAt(sentinelInfo) + addrs[0] + "/" + db + "?" + q.Encode()
	opts, err := redis.ParseFailoverURL(u)
	if err != nil {
		return nil, fmt.Errorf("redisstore: parsing URL %q: %s", redact(rawURL), urlredact.RedactFor(rawURL, err.Error()))
	}
	if opts.RouteByLatency || opts.RouteRandomly || opts.ReplicaOnly {
		// Reads from replicas could serve a session already logged out
		// (and a failover client cannot route them anyway).
		return nil, errors.New("redisstore: route_by_latency, route_randomly and replica_only read from replicas; sessions are read from the master")
	}
	opts.Username, opts.Password = user, pass // the URL's own user and password are the master's
	if opts.TLSConfig != nil {
		opts.TLSConfig.ServerName = "" // the master is checked against its own name
	}
	return redis.NewFailoverClient(opts), nil
}

// withAt returns userinfo followed by "@", or nothing (the Sentinels'
// credentials, escaped by url.UserPassword).
func withAt(userinfo string) string {
	if userinfo == "" {
		return ""
	}
	return userinfo + "@"
}

// redact hides the credentials of a URL, or of a parser's error quoting
// one, for error messages.
func redact(raw string) string { return urlredact.Redact(raw) }
