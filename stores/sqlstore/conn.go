package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Conn is what the engine needs of a database: statements with
// placeholders, single-row and multi-row queries, and transactions. New
// wraps a database/sql handle; a driver with a faster native interface (pgx
// for PostgreSQL) or its own scheduling of writes (sqlitestore's single
// writer) implements Conn itself and uses NewConn.
type Conn interface {
	Querier
	// Query runs a query returning rows.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// InTx runs f in a transaction with the database's default isolation
	// (SQLite: one holding the write lock from its start) and commits it
	// when f returns nil; an error from f or from the commit rolls every
	// statement f ran back and is returned as it is.
	InTx(ctx context.Context, f func(Querier) error) error
}

// Querier runs statements, on a pool or inside a transaction.
type Querier interface {
	// Exec runs a statement and returns the number of rows it affected.
	Exec(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
	// QueryRow runs a query returning at most one row. Scanning a result
	// without rows must give an error wrapping sql.ErrNoRows.
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Row is one row of a result, read into Go values by Scan.
type Row interface {
	Scan(dest ...any) error
}

// Rows is a result of several rows: Next advances, Err reports what ended
// the iteration, Close releases the result.
type Rows interface {
	Row
	Next() bool
	Err() error
	Close() error
}

// sqlConn is Conn over database/sql, using prepared statements when the
// dialect asks for them.
type sqlConn struct {
	db *sql.DB
	// prepared holds the statements prepared at New, by SQL text; nil when
	// the dialect does not prepare.
	prepared map[string]*sql.Stmt
}

// prepare prepares each query once; database/sql then keeps a prepared
// copy per connection.
func (c *sqlConn) prepare(ctx context.Context, queries []string) error {
	c.prepared = make(map[string]*sql.Stmt, len(queries))
	for _, q := range queries {
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("preparing statements: %w", err)
		}
		c.prepared[q] = st
	}
	return nil
}

// close releases the prepared statements.
func (c *sqlConn) close() error {
	var errs []error
	for q, st := range c.prepared {
		errs = append(errs, st.Close())
		delete(c.prepared, q)
	}
	return errors.Join(errs...)
}

func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c *sqlConn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if st := c.prepared[query]; st != nil {
		return rowsAffected(st.ExecContext(ctx, args...))
	}
	return rowsAffected(c.db.ExecContext(ctx, query, args...))
}

func (c *sqlConn) QueryRow(ctx context.Context, query string, args ...any) Row {
	if st := c.prepared[query]; st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.db.QueryRowContext(ctx, query, args...)
}

func (c *sqlConn) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	if st := c.prepared[query]; st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.db.QueryContext(ctx, query, args...)
}

func (c *sqlConn) InTx(ctx context.Context, f func(Querier) error) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(&sqlTx{tx: tx, prepared: c.prepared}); err != nil {
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("rolling back: %w", rerr))
		}
		return err
	}
	return tx.Commit()
}

// sqlTx is Tx over database/sql, binding the prepared statements to the
// transaction.
type sqlTx struct {
	tx       *sql.Tx
	prepared map[string]*sql.Stmt
}

func (t *sqlTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if st := t.prepared[query]; st != nil {
		return rowsAffected(t.tx.StmtContext(ctx, st).ExecContext(ctx, args...))
	}
	return rowsAffected(t.tx.ExecContext(ctx, query, args...))
}

func (t *sqlTx) QueryRow(ctx context.Context, query string, args ...any) Row {
	if st := t.prepared[query]; st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}
