package sqlitestore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/stores/sqlitestore"
)

// The embedded default: sessions in a SQLite file (pure Go, no cgo),
// created with its schema on first use, and a cleaner for expired rows.
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "sessions")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "sessions.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	sessions, err := session.New(store)
	if err != nil {
		log.Fatal(err)
	}
	cleaner, err := sessions.StartCleaner(10 * time.Minute)
	if err != nil {
		log.Fatal(err)
	}
	defer cleaner.Stop()
	// http.ListenAndServe(":8080", sessions.Handler(mux))
	n, err := sessions.CountActive(ctx)
	fmt.Println(n, err)
	// Output:
	// 0 <nil>
}
