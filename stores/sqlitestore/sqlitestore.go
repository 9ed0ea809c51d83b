// Package sqlitestore keeps sessions in SQLite through modernc.org/sqlite, a
// pure-Go driver (no cgo): the embedded default for the demo and for small
// applications that want sessions to survive restarts without a server.
//
// The database runs in WAL mode, so reads never wait for writes, and the
// store reads through a pool of connections while every write goes
// through one writer connection, queued in arrival order in Go rather than
// in SQLite's busy handler (which polls with sleeps and lets late arrivals
// overtake: the source of the second-long stalls this store had under
// load). Writes that queue while one runs share the next transaction, each
// with its own outcome. A read-only request costs one SELECT by primary
// key; a write one more UPDATE; a new session one INSERT; a login one
// UPDATE of the key. See schema.sql for the table, and the README for the
// load one file serves.
//
// SQLite does not expire rows by itself: run Manager.StartCleaner (or
// sessionctl clear-expired) to delete expired sessions in batches.
package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sessionkit/session/stores/sqlstore"
)

// Store is a SQLite session store. It implements session.Store and every
// optional capability (Toucher, Renewer, UserIndex, Counter, ExpiredDeleter).
type Store struct {
	*sqlstore.Store
	db    *sql.DB
	conn  *conn
	owned bool // Open opened db: Close closes it
}

// Option configures a Store.
type Option = sqlstore.Option

// WithTable sets the table name (default "sessions").
func WithTable(name string) Option { return func(c *sqlstore.Config) { c.Table = name } }

// WithoutSchema disables creating the table and indexes; apply schema.sql
// with your migrations instead.
func WithoutSchema() Option { return func(c *sqlstore.Config) { c.SkipSchema = true } }

// WithExistingTable opens an existing table only: the store creates
// nothing and fails, naming the table, when it is missing. Tools use it so
// that a mistyped name is an error, not a new empty table.
func WithExistingTable() Option { return sqlstore.ExistingOnly() }

// DSN returns the data source name Open uses for a database file: WAL
// journal, synchronous=NORMAL (durable across application crashes; a power
// loss can lose the last transactions, which for sessions means at worst a
// recent login or change), a 10-second busy timeout (the store's own writes
// never wait in it; another process writing the file, such as sessionctl,
// may make them) and BEGIN IMMEDIATE transactions. Use it when building
// your own *sql.DB for New.
func DSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating it if needed, unless WithExistingTable) the SQLite
// database file at path with the settings of DSN and returns a store on it:
// one writer connection and a pool of reader connections (see Readers).
// Close releases the database.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlitestore: invalid database path %q", path)
	}
	cfg := sqlstore.NewConfig(opts...)
	if cfg.ExistingOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("sqlitestore: database file %s does not exist (WithExistingTable creates nothing)", path)
		}
	}
	db, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: opening %s: %w", path, err)
	}
	db.SetMaxOpenConns(Readers() + 1)
	db.SetMaxIdleConns(Readers() + 1)
	s, err := newStore(ctx, db, cfg)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: opening %s: %w", path, err)
	}
	s.owned = true
	return s, nil
}

// Readers returns the number of reader connections Open allows: twice the
// number of CPUs Go uses, at least 4. Reads are CPU-bound in the pure-Go
// driver, so more would only queue on the CPUs and cost memory.
func Readers() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// New returns a store on an existing database handle. The handle should use
// the settings of DSN (WAL, busy timeout); a handle whose settings put
// committed sessions at risk in a crash (journal_mode OFF or MEMORY,
// synchronous OFF) is refused; the store keeps one of its
// connections as its writer for as long as it is open, so the handle must
// allow at least two (SetMaxOpenConns 0 or at least 2), and it should keep
// its readers open (SetMaxIdleConns, as Open does with Readers()+1; the
// database/sql default of 2 idle connections reopens them under load).
// Close leaves the handle open.
func New(ctx context.Context, db *sql.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlitestore: db is nil")
	}
	if db.Stats().MaxOpenConnections == 1 {
		return nil, errors.New("sqlitestore: the handle allows one connection; the store needs one for its writer and more for reads (SetMaxOpenConns 0 or at least 2)")
	}
	return newStore(ctx, db, sqlstore.NewConfig(opts...))
}

func newStore(ctx context.Context, db *sql.DB, cfg sqlstore.Config) (*Store, error) {
	wc, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: connecting: %w", err)
	}
	if err := checkDurable(ctx, wc); err != nil {
		wc.Close()
		return nil, err
	}
	c := &conn{db: db, w: newWriter(wc, Dialect.IsDuplicate)}
	s, err := sqlstore.NewConn(ctx, c, Dialect, cfg)
	if err != nil {
		c.close()
		return nil, err
	}
	return &Store{Store: s, db: db, conn: c}, nil
}

// checkDurable refuses a writer connection whose settings put committed
// sessions at risk: journal_mode OFF or MEMORY (an application crash in
// the middle of a write can corrupt the file) and synchronous OFF (an
// operating-system crash or power loss can corrupt it). Open's settings
// (DSN: WAL with synchronous=NORMAL, which survives application crashes
// and may lose the last commits on power loss) and stronger ones pass. A
// database that lives in memory has nothing to keep and passes.
func checkDurable(ctx context.Context, wc *sql.Conn) error {
	rows, err := wc.QueryContext(ctx, "PRAGMA database_list")
	if err != nil {
		return fmt.Errorf("sqlitestore: reading the database's settings: %w", err)
	}
	file := ""
	for rows.Next() {
		var seq int
		var name, path string
		if err := rows.Scan(&seq, &name, &path); err != nil {
			rows.Close()
			return fmt.Errorf("sqlitestore: reading the database's settings: %w", err)
		}
		if name == "main" {
			file = path
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("sqlitestore: reading the database's settings: %w", err)
	}
	if file == "" {
		return nil
	}
	var mode string
	var sync int
	if err := wc.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("sqlitestore: reading the journal mode: %w", err)
	}
	if err := wc.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return fmt.Errorf("sqlitestore: reading the synchronous setting: %w", err)
	}
	switch mode = strings.ToLower(mode); {
	case mode == "off" || mode == "memory":
		return fmt.Errorf("sqlitestore: the database handle uses journal_mode=%s, with which a crash during a write can corrupt the file: build it with DSN (WAL)", mode)
	case sync == 0:
		return errors.New("sqlitestore: the database handle uses synchronous=OFF, with which a crash of the machine loses committed sessions: build it with DSN (synchronous=NORMAL in WAL mode)")
	}
	return nil
}

// Close stops the writer, releases the prepared statements and closes the
// database if Open opened it (a handle given to New stays open: it belongs
// to the caller). The store must not be used afterwards.
func (s *Store) Close() error {
	err := s.conn.close()
	if s.owned {
		err = errors.Join(err, s.db.Close())
	}
	return err
}

// DB returns the database handle.
func (s *Store) DB() *sql.DB { return s.db }

func sqliteCode(err error) (int, bool) {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code(), true
	}
	return 0, false
}

// Dialect is the SQLite dialect of sqlstore.
var Dialect = sqlstore.Dialect{
	Name:     "sqlite",
	Quote:    sqlstore.QuoteDouble,
	Greatest: "MAX",
	Prepare:  true,
	Schema: func(t, name string) []string {
		return []string{
			fmt.Sprintf(schemaTable, t),
			fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (expires_at)", sqlstore.QuoteDouble(name+"_expires_at_idx"), t),
			fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (user_id) WHERE user_id IS NOT NULL", sqlstore.QuoteDouble(name+"_user_id_idx"), t),
		}
	},
	DeleteExpired: func(t string) string {
		return "DELETE FROM " + t + " WHERE digest IN (SELECT digest FROM " + t + " WHERE expires_at <= ? LIMIT ?)"
	},
	IsDuplicate: func(err error) bool {
		code, ok := sqliteCode(err)
		return ok && (code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || code == sqlite3.SQLITE_CONSTRAINT_UNIQUE)
	},
	IsRetryable: func(err error) bool {
		code, ok := sqliteCode(err)
		return ok && (code&0xff == sqlite3.SQLITE_BUSY || code&0xff == sqlite3.SQLITE_LOCKED)
	},
}

// schemaTable is the table of schema.sql, with the table name as %s.
const schemaTable = `CREATE TABLE IF NOT EXISTS %s (
	digest          BLOB    NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
	data            TEXT    NOT NULL,
	user_id         TEXT,
	auth_at         INTEGER,
	created_at      INTEGER NOT NULL,
	last_seen_at    INTEGER NOT NULL,
	idle_timeout_ms INTEGER NOT NULL DEFAULT 0,
	idle_expires_at INTEGER NOT NULL,
	abs_expires_at  INTEGER NOT NULL,
	expires_at      INTEGER NOT NULL,
	expire_on_close INTEGER NOT NULL DEFAULT 0,
	version         INTEGER NOT NULL,
	ip              TEXT    NOT NULL DEFAULT '',
	user_agent      TEXT    NOT NULL DEFAULT ''
)`
