package gin_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/stores/redisstore/redistest"
	"github.com/sessionkit/session/stores/sqlitestore"
)

// realStores returns the stores issue 21 asks the paths to be shown on: a
// SQLite database in t's temporary directory and the test Redis under a
// key prefix of its own, removed afterwards (redistest.Store). A Redis
// that does not answer fails the test.
func realStores(t *testing.T) map[string]session.Store {
	t.Helper()
	sqlite, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlite.Close() })
	return map[string]session.Store{"sqlite": sqlite, "redis": redistest.Store(t)}
}
