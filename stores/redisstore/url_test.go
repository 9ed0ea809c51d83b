package redisstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session/stores/redisstore"
)

func TestNewClientFromURL(t *testing.T) {
	c, err := redisstore.NewClient("redis://" + addr() + "/0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	cc := startCluster(t)
	addrs := cc.Options().Addrs
	c2, err := redisstore.NewClient("redis-cluster://" + strings.Join(addrs, ","))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, ok := c2.(*redis.ClusterClient); !ok {
		t.Fatalf("redis-cluster URL gave %T", c2)
	}
	if err := c2.Set(context.Background(), "k{x}", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	g := startSentinel(t)
	c3, err := redisstore.NewClient("redis-sentinel://" + sentinelAddrs(g) + "/mymaster?db=0")
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if err := c3.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("sentinel client: %v", err)
	}
	for _, bad := range []string{"nope", "http://x:1", "redis-sentinel://127.0.0.1:1", "redis-cluster://127.0.0.1", "redis-cluster://a:1/3", "redis://:secret@h:1/x"} {
		c, err := redisstore.NewClient(bad)
		if err == nil {
			c.Close()
			t.Errorf("%q accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("password in error: %v", err)
		}
	}
}

func sentinelAddrs(g *sentinelGroup) string {
	var a []string
	for _, s := range g.sentinels {
		a = append(a, s.addr)
	}
	return strings.Join(a, ",")
}

// Issue 20, gap 9: the Sentinel and Cluster URLs are parsed by go-redis
// (after our multi-host form is turned into its form), so TLS and the
// client options work from the URL, and an unknown option is an error
// naming it. Before, the hand-written parser ignored TLS, timeouts, pool
// size and unknown options silently.
func TestURLOptionsDelegatedToGoRedis(t *testing.T) {
	c, err := redisstore.NewClient("rediss-cluster://u:p%2Fw@10.0.0.1:7000,10.0.0.2:7000?dial_timeout=2s&pool_size=7&max_retries=5")
	if err != nil {
		t.Fatal(err)
	}
	cc := c.(*redis.ClusterClient)
	o := cc.Options()
	if o.TLSConfig == nil || o.DialTimeout != 2*time.Second || o.PoolSize != 7 || o.MaxRetries != 5 ||
		strings.Join(o.Addrs, ",") != "10.0.0.1:7000,10.0.0.2:7000" || o.Username != "u" || o.Password != "p/w" {
		t.Fatalf("cluster options: TLS %v, %v %d %d %v %q %q", o.TLSConfig != nil, o.DialTimeout, o.PoolSize, o.MaxRetries, o.Addrs, o.Username, o.Password)
	}
	cc.Close()
	c, err = redisstore.NewClient("rediss-sentinel://mu:mp@10.0.0.1:26379,10.0.0.2:26379/mymaster?db=3&sentinel_user=su&sentinel_password=s%26p&read_timeout=4s&pool_size=9")
	if err != nil {
		t.Fatal(err)
	}
	fo := c.(*redis.Client).Options()
	if fo.TLSConfig == nil || fo.DB != 3 || fo.ReadTimeout != 4*time.Second || fo.PoolSize != 9 || fo.Username != "mu" || fo.Password != "mp" {
		t.Fatalf("sentinel options: TLS %v, db %d, %v %d %q %q", fo.TLSConfig != nil, fo.DB, fo.ReadTimeout, fo.PoolSize, fo.Username, fo.Password)
	}
	c.Close()
	// Passwords with characters that URLs reserve reach the client as they
	// are, and never an error (the review of issue 20's change found them
	// quoted by go-redis's URL errors).
	for _, pw := range []string{"hunt#er2", "hunt/er2", "hunt?er2"} {
		c, err := redisstore.NewClient("redis-cluster://u:" + pw + "@10.0.0.1:7000,10.0.0.2:7000")
		if err != nil {
			if strings.Contains(err.Error(), "hunt") {
				t.Fatalf("password in error: %v", err)
			}
			t.Fatalf("password %q: %v", pw, err)
		}
		if got := c.(*redis.ClusterClient).Options().Password; got != pw {
			t.Fatalf("password %q reached the client as %q", pw, got)
		}
		c.Close()
	}
	c, err = redisstore.NewClient("redis-sentinel://10.0.0.1:26379?sentinel_password=a/b&db=2")
	if err == nil {
		c.Close()
		t.Fatal("a Sentinel URL without a master name accepted")
	}
	c, err = redisstore.NewClient("redis-sentinel://10.0.0.1:26379/m?sentinel_password=a/b&db=2")
	if err != nil {
		t.Fatal(err)
	}
	if o := c.(*redis.Client).Options(); o.DB != 2 {
		t.Fatalf("db %d", o.DB)
	}
	c.Close()
	for _, bad := range []string{
		"redis-sentinel://10.0.0.1:26379/m?route_by_latency=true",
		"redis-sentinel://10.0.0.1:26379/m?route_randomly=true",
		"redis-sentinel://10.0.0.1:26379/m?db=x",
	} {
		c, err := redisstore.NewClient(bad) // an error, never a panic
		if err == nil {
			c.Close()
			t.Errorf("%q accepted", bad)
		}
	}
	for _, bad := range []string{
		"redis-cluster://127.0.0.1:7000?pool_sise=3",
		"redis-sentinel://127.0.0.1:26379/m?dial_timout=1s",
		"redis://127.0.0.1:6379/0?frobnicate=1",
		"redis-sentinel://:secret@127.0.0.1:26379/m?bogus=1",
	} {
		c, err := redisstore.NewClient(bad)
		if err == nil {
			c.Close()
			t.Errorf("%q accepted", bad)
			continue
		}
		name := bad[strings.LastIndexByte(bad, '?')+1 : strings.LastIndexByte(bad, '=')]
		if !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: error %v does not name %q (or shows the password)", bad, err, name)
		}
	}
}
