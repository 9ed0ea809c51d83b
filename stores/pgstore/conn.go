package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/session/stores/sqlstore"
)

// poolConn is the SQL engine's Conn over pgx's native pool interface (no
// database/sql layer in between). pgx caches each statement's prepared
// form per connection, and its ErrNoRows wraps sql.ErrNoRows as the
// engine expects.
type poolConn struct{ pool *pgxpool.Pool }

func (c poolConn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := c.pool.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

func (c poolConn) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return c.pool.QueryRow(ctx, query, args...)
}

func (c poolConn) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := c.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return poolRows{rows}, nil
}

func (c poolConn) Begin(ctx context.Context) (sqlstore.Tx, error) {
	tx, err := c.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return poolTx{tx}, nil
}

// poolRows adapts pgx.Rows, whose Close reports nothing (its error comes
// from Err).
type poolRows struct{ pgx.Rows }

func (r poolRows) Close() error {
	r.Rows.Close()
	return r.Rows.Err()
}

// poolTx adapts pgx.Tx.
type poolTx struct{ tx pgx.Tx }

func (t poolTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := t.tx.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

func (t poolTx) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return t.tx.QueryRow(ctx, query, args...)
}

func (t poolTx) Commit(ctx context.Context) error { return t.tx.Commit(ctx) }

// Rollback after Commit is a no-op for pgx (it returns ErrTxClosed, which
// is not a failure here).
func (t poolTx) Rollback(ctx context.Context) error {
	if err := t.tx.Rollback(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return err
	}
	return nil
}
