package sqlitestore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/sqlitestore"
)

// The embedded store's fault: another process holds the database's write
// lock longer than the busy timeout (a long sessionctl transaction, a
// backup tool, a stuck writer). While it does, writes fail with an error
// (503), never taken for "no session"; reads go on (WAL); no write
// acknowledged with 200 is lost. The busy timeout is cut to 50 ms so that
// each 1.5 s hold outlasts the store's retries of a busy database and the
// writer gives up.
func TestWritesWhileAnotherProcessHoldsTheLock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sessions.db")
	dsn := strings.Replace(sqlitestore.DSN(path), "busy_timeout%2810000%29", "busy_timeout%2850%29", 1)
	if dsn == sqlitestore.DSN(path) {
		t.Fatalf("the busy timeout is not where the test expects it in %q", dsn)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(sqlitestore.Readers() + 1)
	st, err := sqlitestore.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	other, err := sql.Open("sqlite", sqlitestore.DSN(path)) // "another process"
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	held := 0
	failed := sessiontest.WritesUnderFault(t, st, 8, func() {
		for range 2 {
			time.Sleep(100 * time.Millisecond)
			conn, err := other.Conn(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
				conn.Close()
				t.Error(err)
				return
			}
			held++
			time.Sleep(1500 * time.Millisecond)
			if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
				t.Error(err)
			}
			conn.Close()
		}
		time.Sleep(200 * time.Millisecond)
	})
	if held == 0 || failed == 0 {
		t.Fatalf("the lock was held %d times and %d requests failed: the test did not exercise the fault", held, failed)
	}
	t.Logf("lock held %d times, %d requests failed with 503, no acknowledged write lost", held, failed)
}
