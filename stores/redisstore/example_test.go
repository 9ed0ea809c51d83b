package redisstore_test

import (
	"context"
	"log"
	"net/http"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/stores/redisstore"
)

// Sessions in Redis: one store type for a single node, a Sentinel-managed
// failover client and a Cluster client (any redis.UniversalClient).
func ExampleNew() {
	ctx := context.Background()
	client := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    "sessions",
		SentinelAddrs: []string{"sentinel-1:26379", "sentinel-2:26379", "sentinel-3:26379"},
	})
	defer client.Close()
	store, err := redisstore.New(ctx, client, redisstore.WithPrefix("myapp:session:"))
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := session.New(store)
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe(":8080", sessions.Handler(http.NewServeMux())))
}

// NewClient builds the client from a URL: redis://, rediss://,
// redis-sentinel:// or redis-cluster://.
func ExampleNewClient() {
	client, err := redisstore.NewClient("redis-cluster://node-1:6379,node-2:6379,node-3:6379")
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	store, err := redisstore.New(context.Background(), client)
	if err != nil {
		log.Fatal(err)
	}
	_ = store // session.New(store)
}
