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
// for PostgreSQL) implements Conn itself and uses NewConn.
type Conn interface {
	Querier
	// Query runs a query returning rows.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// Begin starts a transaction with the database's default isolation.
	Begin(ctx context.Context) (Tx, error)
}

// Querier runs statements, on a pool or inside a transaction.
type Querier interface {
	// Exec runs a statement and returns the number of rows it affected.
	Exec(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
	// QueryRow runs a query returning at most one row. Scanning a result
	// without rows must give an error wrapping sql.ErrNoRows.
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Tx is a transaction started by Conn.Begin.
type Tx interface {
	Querier
	// Commit makes the transaction's changes durable.
	Commit(ctx context.Context) error
	// Rollback ends the transaction without its changes; after Commit it
	// does nothing.
	Rollback(ctx context.Context) error
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

func (c *sqlConn) Begin(ctx context.Context) (Tx, error) {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &sqlTx{tx: tx, prepared: c.prepared}, nil
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

func (t *sqlTx) Commit(context.Context) error { return t.tx.Commit() }

func (t *sqlTx) Rollback(context.Context) error {
	if err := t.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return err
	}
	return nil
}
