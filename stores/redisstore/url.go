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
			return nil, fmt.Errorf("redisstore: parsing URL %q: %s", redact(rawURL), redact(err.Error()))
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
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("redisstore: the query of %q has an invalid %%-escape", redact(rawURL))
	}
	for _, a := range addrs[1:] {
		q.Add("addr", a)
	}
	if strings.HasSuffix(scheme, "-cluster") {
		if path != "" || q.Has("db") {
			return nil, fmt.Errorf("redisstore: Redis Cluster has no databases; remove the path or db from %q", redact(rawURL))
		}
		u := base + "://" + withAt(userinfo) + addrs[0] + "?" + q.Encode()
		opts, err := redis.ParseClusterURL(u)
		if err != nil {
			return nil, fmt.Errorf("redisstore: parsing URL %q: %s", redact(rawURL), redact(err.Error()))
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
	q.Del("sentinel_user")
	q.Del("sentinel_password")
	q.Del("db")
	q.Set("master_name", path)
	u := base + "://" + withAt(sentinelInfo) + addrs[0] + "/" + db + "?" + q.Encode()
	opts, err := redis.ParseFailoverURL(u)
	if err != nil {
		return nil, fmt.Errorf("redisstore: parsing URL %q: %s", redact(rawURL), redact(err.Error()))
	}
	if userinfo != "" {
		// The URL's own user and password are the master's.
		u, p, _ := strings.Cut(userinfo, ":")
		// The unescaping errors quote the bad sequence: part of a secret.
		if opts.Username, err = url.PathUnescape(u); err != nil {
			return nil, errors.New("redisstore: the user name in the URL has an invalid %-escape")
		}
		if opts.Password, err = url.PathUnescape(p); err != nil {
			return nil, errors.New("redisstore: the password in the URL has an invalid %-escape")
		}
	}
	return redis.NewFailoverClient(opts), nil
}

// withAt returns userinfo followed by "@", or nothing.
func withAt(userinfo string) string {
	if userinfo == "" {
		return ""
	}
	return userinfo + "@"
}

// redact hides the credentials of a URL, or of a parser's error quoting
// one, for error messages.
func redact(raw string) string { return urlredact.Redact(raw) }
