package mysqlstore_test

import (
	"context"
	"log"
	"net/http"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/stores/mysqlstore"
)

// Sessions in MySQL or MariaDB. Open adds the connection parameters the
// store needs to the DSN (see DSN) and creates the table if needed.
func ExampleOpen() {
	ctx := context.Background()
	store, err := mysqlstore.Open(ctx, "app:secret@tcp(db.internal:3306)/app")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	sessions, err := session.New(store)
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe(":8080", sessions.Handler(http.NewServeMux())))
}
