package sqlitestore

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sessionkit/session/stores/sqlstore"
)

// conn is the SQL engine's Conn for SQLite: reads go to the handle's pool
// of connections (in WAL mode readers never wait for the writer), every
// write to the single writer.
type conn struct {
	db       *sql.DB
	w        *writer
	prepared sync.Map // query text -> *sql.Stmt on db, prepared on first use
	closed   atomic.Bool
}

func (c *conn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := c.w.do(ctx, false, func(q sqlstore.Querier) error {
		var err error
		n, err = q.Exec(ctx, query, args...)
		return err
	})
	return n, err
}

func (c *conn) InTx(ctx context.Context, f func(sqlstore.Querier) error) error {
	return c.w.do(ctx, true, f)
}

func (c *conn) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

func (c *conn) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// stmt returns query prepared on the pool (database/sql then prepares it
// once per connection): SQLite parses SQL on the client, which is about
// 40% of a read.
func (c *conn) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.prepared.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	if c.closed.Load() {
		return nil, errClosed
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.prepared.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	if c.closed.Load() {
		// Stored while close released the statements: release it too
		// (close may have closed it already; a second Close does
		// nothing).
		if st, ok := c.prepared.LoadAndDelete(query); ok {
			st.(*sql.Stmt).Close()
		}
		return nil, errClosed
	}
	return st, nil
}

// close stops the writer and releases every prepared statement; a read
// racing it prepares none that outlives it.
func (c *conn) close() error {
	c.closed.Store(true)
	err := c.w.close()
	c.prepared.Range(func(q, st any) bool {
		st.(*sql.Stmt).Close()
		c.prepared.Delete(q)
		return true
	})
	return err
}

// isNoTransaction reports SQLite's answer to a ROLLBACK when no transaction
// is open (SQLite rolled it back itself).
func isNoTransaction(err error) bool {
	return strings.Contains(err.Error(), "no transaction is active")
}
