//go:build !nodrivers

package django_test

// The database/sql drivers the store tests and examples open Django's
// table with. test.sh's fuzz runs build this package's tests with
// -tags nodrivers: they run no store test, and a fuzzing build instruments
// every package it links, so without the drivers (the SQLite one alone is
// the largest package of the workspace) it compiles in a fraction of the
// time on a fresh machine. Every other run links them.
import (
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)
