package pgstore

import (
	"context"
	"errors"
	"fmt"

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

func (c poolConn) InTx(ctx context.Context, f func(sqlstore.Querier) error) error {
	tx, err := c.pool.Begin(ctx)
	if err != nil {
		return err
	}
	if err := f(poolTx{tx}); err != nil {
		// Rollback after a failed statement or a lost connection is
		// best effort: pgx closes a broken connection, which ends the
		// transaction on the server.
		if rerr := tx.Rollback(ctx); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) {
			return errors.Join(err, fmt.Errorf("rolling back: %w", rerr))
		}
		return err
	}
	return tx.Commit(ctx)
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
