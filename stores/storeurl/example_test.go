package storeurl_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/stores/storeurl"
)

// The store as configuration: one URL picks SQLite, PostgreSQL, MySQL or
// Redis (standalone, Sentinel, Cluster).
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "sessions")
	defer os.RemoveAll(dir)
	url := "sqlite:" + filepath.Join(dir, "sessions.db") // e.g. from $SESSION_STORE
	store, err := storeurl.Open(context.Background(), url)
	if err != nil {
		log.Fatal(err) // the error never contains the URL's password
	}
	defer store.Close()
	sessions, err := session.New(store) // every capability of the store it opened
	if err != nil {
		log.Fatal(err)
	}
	n, _ := sessions.CountActive(context.Background())
	fmt.Println(store.Kind, n)
	// Output:
	// sqlite 0
}
