// Package sqlbench holds the raw-query floor that the database/sql stores'
// benchmarks compare their read request with.
package sqlbench

import (
	"context"
	"database/sql"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
)

// RawSelect measures one primary-key SELECT of a session row's columns
// (the store's own Load query, by hand) from quotedTable, straight through
// db: sent as text on every call, or, when prepared, through a statement
// prepared once.
func RawSelect(b *testing.B, db *sql.DB, quotedTable string, d session.Digest, prepared bool) {
	b.Helper()
	sessiontest.BenchRaw(b, RawSelectFunc(b, db, quotedTable, d, prepared))
}

// RawSelectFunc returns the query RawSelect measures, for
// sessiontest.BenchAgainstRaw. A prepared statement is closed when the
// benchmark ends.
func RawSelectFunc(b *testing.B, db *sql.DB, quotedTable string, d session.Digest, prepared bool) func(context.Context) error {
	b.Helper()
	q := "SELECT digest, data, user_id, auth_at, created_at, last_seen_at, idle_timeout_ms, idle_expires_at, abs_expires_at, expires_at, expire_on_close, version, ip, user_agent FROM " + quotedTable + " WHERE digest = ?"
	var stmt *sql.Stmt
	if prepared {
		var err error
		if stmt, err = db.PrepareContext(context.Background(), q); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { stmt.Close() })
	}
	var (
		digest, data                   []byte
		user, ip, ua                   sql.NullString
		auth                           sql.NullInt64
		c1, c2, c3, c4, c5, c6, c7, c8 int64
	)
	return func(ctx context.Context) error {
		var row *sql.Row
		if stmt != nil {
			row = stmt.QueryRowContext(ctx, d[:])
		} else {
			row = db.QueryRowContext(ctx, q, d[:])
		}
		return row.Scan(&digest, &data, &user, &auth, &c1, &c2, &c3, &c4, &c5, &c6, &c7, &c8, &ip, &ua)
	}
}
