// Package pgstore keeps sessions in PostgreSQL through pgx v5 (pgxpool).
//
// One row per session, keyed by the SHA-256 digest of the token; values as
// one json object (json, not jsonb, so values round-trip byte for byte and
// strings may contain \u0000); an indexed user id for listing and revoking a
// user's sessions and an indexed expiry for counting and cleanup. A
// read-only request costs one SELECT by primary key; a write one UPDATE ...
// WHERE digest AND version more (re-applied under a row lock when another
// request wrote in between, so concurrent writes to different keys merge); a
// new session one INSERT; a login one UPDATE of the primary key, which moves
// the session and its user-index entry atomically. See schema.sql.
//
// The store runs on the SQL engine it shares with sqlitestore and mysqlstore
// (package sqlstore), talking to the application's pool through pgx's
// native interface rather than database/sql, which would double the
// allocations of a read.
//
// PostgreSQL does not expire rows by itself: run Manager.StartCleaner (or
// sessionctl clear-expired). Cleanup batches use FOR UPDATE SKIP LOCKED, so
// several servers can clean at once without blocking each other or live
// traffic.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/session/stores/sqlstore"
)

// DefaultTable is the table name unless WithTable says otherwise.
const DefaultTable = sqlstore.DefaultTable

// Store is a PostgreSQL session store. It implements session.Store and every
// optional capability. It is safe for concurrent use.
type Store struct {
	*sqlstore.Store
	pool  *pgxpool.Pool
	owned bool
}

// Option configures a Store.
type Option = sqlstore.Option

// WithTable sets the table name (default "sessions"). It may be qualified
// with a schema ("auth.sessions").
func WithTable(name string) Option { return func(c *sqlstore.Config) { c.Table = name } }

// WithoutSchema disables creating the table and indexes at New; apply
// schema.sql with your migrations instead.
func WithoutSchema() Option { return func(c *sqlstore.Config) { c.SkipSchema = true } }

// WithExistingTable opens an existing table only: the store creates
// nothing and fails, naming the table, when it is missing. Tools use it so
// that a mistyped name is an error, not a new empty table.
func WithExistingTable() Option { return sqlstore.ExistingOnly() }

// Open creates a pool for the connection string (a postgres:// URL or a
// key=value DSN) and returns a store on it; Close closes the pool.
func Open(ctx context.Context, connString string, opts ...Option) (*Store, error) {
	pool, err := pgxpool.New(ctx, connString)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connecting: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: connecting: %w", err)
	}
	s, err := New(ctx, pool, opts...)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// New returns a store on the application's pool, creating the table and
// indexes unless WithoutSchema is given.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		return nil, errors.New("pgstore: pool is nil")
	}
	s, err := sqlstore.NewConn(ctx, poolConn{pool}, Dialect, sqlstore.NewConfig(opts...))
	if err != nil {
		return nil, err
	}
	return &Store{Store: s, pool: pool}, nil
}

// Pool returns the connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool if Open created it; a pool given to New stays
// open. It never fails; the error is for io.Closer.
func (s *Store) Close() error {
	if s.owned {
		s.pool.Close()
	}
	return nil
}

func code(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

var tableRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// quote quotes a table name that may be qualified with a schema.
func quote(qualified string) string {
	parts := strings.Split(qualified, ".")
	for i, p := range parts {
		parts[i] = sqlstore.QuoteDouble(p)
	}
	return strings.Join(parts, ".")
}

// Dialect is the PostgreSQL dialect of sqlstore.
var Dialect = sqlstore.Dialect{
	Name:          "postgres",
	Quote:         quote,
	Greatest:      "GREATEST",
	LockForUpdate: " FOR UPDATE",
	Numbered:      true,
	ValidTable: func(name string) error {
		if !tableRE.MatchString(name) {
			return fmt.Errorf("pgstore: invalid table name %q: use letters, digits and underscores, optionally schema-qualified", name)
		}
		return nil
	},
	Schema: func(t, table string) []string {
		name := table[strings.LastIndexByte(table, '.')+1:]
		return []string{
			fmt.Sprintf(schemaTable, t),
			fmt.Sprintf(`CREATE INDEX IF NOT EXISTS "%s_expires_at_idx" ON %s (expires_at)`, name, t),
			fmt.Sprintf(`CREATE INDEX IF NOT EXISTS "%s_user_id_idx" ON %s (user_id) WHERE user_id IS NOT NULL`, name, t),
		}
	},
	// Concurrent CREATE ... IF NOT EXISTS from several servers starting at
	// once can race on the catalog; the loser sees a unique violation or
	// "relation exists", and the object exists.
	SchemaRace: func(err error) bool { c := code(err); return c == "23505" || c == "42P07" },
	DeleteExpired: func(t string) string {
		return "DELETE FROM " + t + " WHERE digest IN (SELECT digest FROM " + t + " WHERE expires_at <= ? LIMIT ? FOR UPDATE SKIP LOCKED)"
	},
	IsDuplicate: func(err error) bool { return code(err) == "23505" },
	// Serialization failures and deadlocks.
	IsRetryable: func(err error) bool { c := code(err); return c == "40001" || c == "40P01" },
}

const schemaTable = `CREATE TABLE IF NOT EXISTS %s (
	digest          bytea   NOT NULL PRIMARY KEY CHECK (octet_length(digest) = 32),
	data            json    NOT NULL,
	user_id         text,
	auth_at         bigint,
	created_at      bigint  NOT NULL,
	last_seen_at    bigint  NOT NULL,
	idle_timeout_ms bigint  NOT NULL DEFAULT 0,
	idle_expires_at bigint  NOT NULL,
	abs_expires_at  bigint  NOT NULL,
	expires_at      bigint  NOT NULL,
	expire_on_close boolean NOT NULL DEFAULT false,
	version         bigint  NOT NULL,
	ip              text    NOT NULL DEFAULT '',
	user_agent      text    NOT NULL DEFAULT ''
)`
