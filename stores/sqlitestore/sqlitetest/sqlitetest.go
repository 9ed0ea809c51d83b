// Package sqlitetest gives tests a SQLite store in a database file of the
// test's own temporary directory, closed when the test ends.
package sqlitetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sessionkit/session/stores/sqlitestore"
)

// Store opens a store with opts on a new database file in t's temporary
// directory; it is closed when the test ends.
func Store(t testing.TB, opts ...sqlitestore.Option) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "sessions.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
