package redisstore_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session/stores/redisstore"
)

// A replica lags its master: reading sessions there could bring back one
// that was logged out or revoked, or miss one just created. New refuses
// clients that would read from replicas.
func TestClientsReadingReplicasRefused(t *testing.T) {
	for _, o := range []redis.ClusterOptions{{ReadOnly: true}, {RouteByLatency: true}, {RouteRandomly: true}} {
		o.Addrs = []string{"127.0.0.1:1"} // refused before any connection
		c := redis.NewClusterClient(&o)
		_, err := redisstore.New(context.Background(), c)
		c.Close()
		if err == nil || !strings.Contains(err.Error(), "replica") {
			t.Errorf("New on a cluster client with %+v: %v, want a refusal", o, err)
		}
	}

	master := startRedis(t)
	replica := startRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.port))
	rc := redis.NewClient(&redis.Options{Addr: replica.addr})
	defer rc.Close()
	if _, err := redisstore.New(context.Background(), rc); err == nil || !strings.Contains(err.Error(), "connected to a replica") {
		t.Errorf("New on a replica: %v, want a refusal", err)
	}
	mc := redis.NewClient(&redis.Options{Addr: master.addr})
	defer mc.Close()
	if _, err := redisstore.New(context.Background(), mc); err != nil {
		t.Errorf("New on the master: %v", err)
	}
}
