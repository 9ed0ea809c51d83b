package redisstore_test

import (
	"context"
	"strings"
	"testing"

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
