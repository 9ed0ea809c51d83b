package memcachedstore_test

import (
	"log"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/stores/memcachedstore"
)

// Sessions on two Memcached servers, spread by rendezvous hashing.
func ExampleNewServers() {
	servers, err := memcachedstore.NewServers("10.0.0.1:11211", "10.0.0.2:11211")
	if err != nil {
		log.Fatal(err)
	}
	client := memcache.NewFromSelector(servers)
	client.Timeout = 500 * time.Millisecond
	store, err := memcachedstore.New(client, memcachedstore.WithPrefix("myapp:"))
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := session.New(store)
	if err != nil {
		log.Fatal(err)
	}
	_ = sessions
	// Later, a third server joins: about a third of the sessions move to
	// it; the others stay where they are.
	if err := servers.SetServers("10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"); err != nil {
		log.Fatal(err)
	}
}
