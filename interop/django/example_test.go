package django_test

import (
	"database/sql"
	"fmt"
	"os"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/interop/django"
)

// Reading a value Django signed: the session_data of the django_session
// row, under the project's SECRET_KEY and the session store's salt.
func ExampleSigner() {
	signer := django.Signer{Secret: "django-insecure-interop-fixture-secret-0123456789abcdef", Salt: django.SessionSalt("SessionStore")}
	data, err := signer.Unsign("eyJjYXJ0IjpbMywxLDRdLCJuYW1lIjoiWm9cdTAwZWIifQ:1vb66i:-1omULnpbfocZB3icCnuoc7ymECGe9C-Etc-o5N2-7M", 0, time.Now())
	fmt.Println(string(data), err)
	// Output: {"cart":[3,1,4],"name":"Zo\u00eb"} <nil>
}

// A Go service sharing a Django project's sessions on PostgreSQL: the
// manager issues Django's session keys under Django's cookie name, and the
// store reads and writes django_session.
func ExampleNewStore() {
	db, err := sql.Open("pgx", "postgres://postgres@127.0.0.1:5432/mysite?sslmode=disable")
	if err != nil {
		panic(err)
	}
	store, err := django.NewStore(db, django.Config{Vendor: django.PostgreSQL, Secret: os.Getenv("DJANGO_SECRET_KEY")})
	if err != nil {
		panic(err)
	}
	sessions, err := session.New(store, session.WithTokenScheme(django.Keys{}), session.WithCookieName("sessionid"))
	if err != nil {
		panic(err)
	}
	_ = sessions // sessions.Handler(mux), session.FromContext(r.Context()), sessions.Login(ctx, userID), ...
}
