package pgstore_test

import (
	"context"
	"log"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/stores/pgstore"
)

// Sessions in the application's PostgreSQL pool. New creates the table and
// its indexes if needed (or apply schema.sql with your migrations and pass
// WithoutSchema).
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@db.internal:5432/app")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := pgstore.New(ctx, pool, pgstore.WithTable("sessions"))
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := session.New(store)
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe(":8080", sessions.Handler(http.NewServeMux())))
}
