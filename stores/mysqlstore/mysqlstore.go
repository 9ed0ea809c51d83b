// Package mysqlstore keeps sessions in MySQL 8 or MariaDB 10.5+ through
// github.com/go-sql-driver/mysql.
//
// One InnoDB row per session keyed by the SHA-256 digest of the token;
// values as one JSON object in a utf8mb4_bin LONGTEXT column; user ids
// compared byte for byte (utf8mb4_bin: "Alice" is not "alice"); an indexed
// user id and an indexed expiry. A read-only request costs one SELECT by
// primary key; a write one more UPDATE ... WHERE digest AND version
// (re-applied under SELECT ... FOR UPDATE when another request wrote in
// between); a new session one INSERT; a login one UPDATE of the primary
// key. Deadlocks and lock-wait timeouts are retried a bounded number of
// times. See schema.sql.
//
// Open sets interpolateParams=true so each statement is one round trip
// (without it the driver prepares, executes and closes a statement per
// query). When you build your own *sql.DB for New, set it too.
//
// MySQL does not expire rows by itself: run Manager.StartCleaner (or
// sessionctl clear-expired). Each cleanup batch is one DELETE ... LIMIT.
package mysqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"

	"github.com/go-sql-driver/mysql"

	"github.com/sessionkit/session/stores/sqlstore"
)

// Store is a MySQL/MariaDB session store. It implements session.Store and
// every optional capability.
type Store struct {
	*sqlstore.Store
	db *sql.DB
}

// Option configures a Store.
type Option = sqlstore.Option

// WithTable sets the table name (default "sessions").
func WithTable(name string) Option { return func(c *sqlstore.Config) { c.Table = name } }

// WithoutSchema disables creating the table; apply schema.sql with your
// migrations instead.
func WithoutSchema() Option { return func(c *sqlstore.Config) { c.SkipSchema = true } }

// WithExistingTable opens an existing table only: the store creates
// nothing and fails, naming the table, when it is missing. Tools use it so
// that a mistyped name is an error, not a new empty table.
func WithExistingTable() Option { return sqlstore.ExistingOnly() }

// DSN returns dsn (the driver's format, e.g. "user:pass@tcp(host:3306)/db")
// with the parameters the store relies on: interpolateParams=true.
func DSN(dsn string) (string, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "", fmt.Errorf("mysqlstore: parsing DSN: %w", err)
	}
	cfg.InterpolateParams = true
	return cfg.FormatDSN(), nil
}

// Open connects with the driver-format dsn (adjusted by DSN) and returns a
// store; Close closes the connection pool. The pool holds at most
// PoolSize() connections, all kept when idle (database/sql's defaults, no
// limit and two idle, would open a connection per concurrent request under
// load, up to the server's max_connections, and close most of them
// again); give New a *sql.DB of your own for other limits.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	full, err := DSN(dsn)
	if err != nil {
		return nil, err
	}
	s, db, err := sqlstore.Open(ctx, "mysql", full, Dialect, sqlstore.NewConfig(opts...))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(PoolSize())
	db.SetMaxIdleConns(PoolSize())
	return &Store{Store: s, db: db}, nil
}

// PoolSize is the number of connections Open's pool holds at most:
// max(4, number of CPUs), pgxpool's default, which pgstore.Open uses.
func PoolSize() int { return max(4, runtime.NumCPU()) }

// New returns a store on an existing connection pool; Close leaves the
// pool open.
func New(ctx context.Context, db *sql.DB, opts ...Option) (*Store, error) {
	s, err := sqlstore.New(ctx, db, Dialect, sqlstore.NewConfig(opts...))
	if err != nil {
		return nil, err
	}
	return &Store{Store: s, db: db}, nil
}

// DB returns the database handle.
func (s *Store) DB() *sql.DB { return s.db }

func errNumber(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// Dialect is the MySQL/MariaDB dialect of sqlstore.
var Dialect = sqlstore.Dialect{
	Name:          "mysql",
	Quote:         sqlstore.QuoteBacktick,
	Greatest:      "GREATEST",
	LockForUpdate: " FOR UPDATE",
	Schema: func(t, name string) []string {
		return []string{fmt.Sprintf(schemaTable, t, sqlstore.QuoteBacktick(name+"_expires_at_idx"), sqlstore.QuoteBacktick(name+"_user_id_idx"))}
	},
	DeleteExpired: func(t string) string {
		return "DELETE FROM " + t + " WHERE expires_at <= ? ORDER BY expires_at LIMIT ?"
	},
	IsDuplicate: func(err error) bool { return errNumber(err) == 1062 },
	IsRetryable: func(err error) bool {
		n := errNumber(err)
		return n == 1213 || n == 1205 // deadlock, lock wait timeout
	},
}

const schemaTable = "CREATE TABLE IF NOT EXISTS %s (" + `
	digest          BINARY(32)   NOT NULL PRIMARY KEY,
	data            LONGTEXT     NOT NULL,
	user_id         VARCHAR(255) NULL,
	auth_at         BIGINT       NULL,
	created_at      BIGINT       NOT NULL,
	last_seen_at    BIGINT       NOT NULL,
	idle_timeout_ms BIGINT       NOT NULL DEFAULT 0,
	idle_expires_at BIGINT       NOT NULL,
	abs_expires_at  BIGINT       NOT NULL,
	expires_at      BIGINT       NOT NULL,
	expire_on_close TINYINT(1)   NOT NULL DEFAULT 0,
	version         BIGINT       NOT NULL,
	ip              TEXT         NOT NULL,
	user_agent      TEXT         NOT NULL,
	KEY %s (expires_at),
	KEY %s (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`
