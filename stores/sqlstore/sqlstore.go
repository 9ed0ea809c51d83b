// Package sqlstore is the engine shared by the SQL session stores
// (sqlitestore and mysqlstore through database/sql, pgstore through pgx):
// one row per session keyed by the token digest, values as one JSON object,
// conditional writes with a version column, an indexed user id and an
// indexed expiry.
//
// Applications use it through sqlitestore, mysqlstore or pgstore, which
// choose the driver and the Dialect.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sessionkit/session"
)

// DefaultTable is the table name used unless Config.Table says otherwise.
const DefaultTable = "sessions"

// maxAttempts bounds retries of deadlocks, busy errors and serialization
// failures.
const maxAttempts = 8

// Config configures a Store.
type Config struct {
	// Table is the table name (default "sessions").
	Table string
	// SkipSchema disables creating the table and indexes at New; use it when
	// migrations manage the schema (the schema files ship with each store).
	SkipSchema bool
	// ExistingOnly opens an existing table only: New creates nothing and
	// fails, naming the table, when it is missing (for tools, where a
	// mistyped name must not silently create an empty table).
	ExistingOnly bool
}

// ExistingOnly is the Option that sets Config.ExistingOnly; each store
// offers it as WithExistingTable.
func ExistingOnly() Option { return func(c *Config) { c.ExistingOnly = true } }

// Option adjusts a Config; each store's WithTable and WithoutSchema are
// Options.
type Option func(*Config)

// NewConfig returns the Config that opts describe.
func NewConfig(opts ...Option) Config {
	var cfg Config
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// Store is a session.Store over a SQL database. It implements every
// optional capability of package session. It is safe for concurrent use.
type Store struct {
	conn    Conn
	sqlConn *sqlConn // conn, when it is database/sql's
	owned   *sql.DB  // the handle Open opened, closed by Close
	dialect Dialect
	table   string

	load, create, update, touch, del, list, delUser, delLineage, count, delExpired string
	selectLocked, renew                                                            string
}

const columns = "digest, data, user_id, auth_at, created_at, last_seen_at, idle_timeout_ms, idle_expires_at, abs_expires_at, expires_at, expire_on_close, version, ip, user_agent"

// New returns a Store on db, creating the table and indexes unless
// cfg.SkipSchema is set.
func New(ctx context.Context, db *sql.DB, dialect Dialect, cfg Config) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: db is nil")
	}
	c := &sqlConn{db: db}
	s, err := NewConn(ctx, c, dialect, cfg)
	if err != nil {
		return nil, err
	}
	s.sqlConn = c
	if dialect.Prepare {
		if err := c.prepare(ctx, s.statements()); err != nil {
			c.close()
			return nil, fmt.Errorf("%s store: %w", dialect.Name, err)
		}
	}
	return s, nil
}

// Open opens a database/sql handle (driverName, dsn), checks that the
// database answers, and returns a Store on it together with the handle.
// The store owns the handle: its Close closes it.
func Open(ctx context.Context, driverName, dsn string, dialect Dialect, cfg Config) (*Store, *sql.DB, error) {
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("%s store: connecting: %w", dialect.Name, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("%s store: connecting: %w", dialect.Name, err)
	}
	s, err := New(ctx, db, dialect, cfg)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	s.owned = db
	return s, db, nil
}

// NewConn returns a Store on conn, a database interface other than
// database/sql (see Conn), creating the table and indexes unless
// cfg.SkipSchema is set. Dialect.Prepare does not apply: such a driver
// prepares or caches statements itself.
func NewConn(ctx context.Context, conn Conn, dialect Dialect, cfg Config) (*Store, error) {
	if conn == nil {
		return nil, errors.New("sqlstore: conn is nil")
	}
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	valid := dialect.ValidTable
	if valid == nil {
		valid = ValidTableName
	}
	if err := valid(cfg.Table); err != nil {
		return nil, err
	}
	t := dialect.Quote(cfg.Table)
	s := &Store{conn: conn, dialect: dialect, table: cfg.Table}
	sel := "SELECT " + columns + " FROM " + t
	s.load = sel + " WHERE digest = ?"
	s.selectLocked = sel + " WHERE digest = ?" + dialect.LockForUpdate
	s.create = "INSERT INTO " + t + " (" + columns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	s.update = "UPDATE " + t + " SET data = ?, last_seen_at = ?, idle_timeout_ms = ?, idle_expires_at = ?, expires_at = ?, expire_on_close = ?, version = ?, ip = ?, user_agent = ? WHERE digest = ? AND version = ?"
	g := dialect.Greatest
	s.touch = "UPDATE " + t + " SET last_seen_at = " + g + "(last_seen_at, ?), idle_expires_at = " + g + "(idle_expires_at, ?), expires_at = CASE WHEN " + g + "(idle_expires_at, ?) < abs_expires_at THEN " + g + "(idle_expires_at, ?) ELSE abs_expires_at END WHERE digest = ?"
	s.del = "DELETE FROM " + t + " WHERE digest = ?"
	s.renew = "UPDATE " + t + " SET " + strings.ReplaceAll(columns, ",", " = ?,") + " = ? WHERE digest = ?"
	s.list = sel + " WHERE user_id = ? AND expires_at > ?"
	s.delUser = "DELETE FROM " + t + " WHERE user_id = ? AND digest <> ?"
	s.delLineage = "DELETE FROM " + t + " WHERE user_id = ? AND created_at = ?"
	s.count = "SELECT COUNT(*) FROM " + t + " WHERE expires_at > ?"
	s.delExpired = dialect.DeleteExpired(t)
	if dialect.Numbered {
		for _, q := range s.statementFields() {
			*q = numbered(*q)
		}
	}
	if cfg.ExistingOnly {
		var one int
		err := conn.QueryRow(ctx, "SELECT 1 FROM "+t+" WHERE 1 = 0").Scan(&one)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%s store: table %q cannot be read (does it exist?): %w", dialect.Name, cfg.Table, err)
		}
	} else if !cfg.SkipSchema {
		for _, stmt := range dialect.Schema(t, cfg.Table) {
			if _, err := conn.Exec(ctx, stmt); err != nil {
				if dialect.SchemaRace != nil && dialect.SchemaRace(err) {
					continue
				}
				return nil, fmt.Errorf("%s store: creating schema: %w", dialect.Name, err)
			}
		}
	}
	return s, nil
}

// statementFields returns the fields holding the statements the store
// sends.
func (s *Store) statementFields() []*string {
	return []*string{&s.load, &s.selectLocked, &s.create, &s.update, &s.touch, &s.del, &s.renew, &s.list, &s.delUser, &s.delLineage, &s.count, &s.delExpired}
}

// statements returns every statement the store sends.
func (s *Store) statements() []string {
	var out []string
	for _, q := range s.statementFields() {
		out = append(out, *q)
	}
	return out
}

// numbered rewrites the question-mark placeholders of q as $1, $2, ...
// (the statements above hold no question mark anywhere else).
func numbered(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Close releases the prepared statements and closes the database handle
// if Open opened it (a handle given to New stays open: it belongs to the
// caller). The store must not be used afterwards.
func (s *Store) Close() error {
	var errs []error
	if s.sqlConn != nil {
		errs = append(errs, s.sqlConn.close())
	}
	if s.owned != nil {
		errs = append(errs, s.owned.Close())
	}
	return errors.Join(errs...)
}

// Table returns the table name.
func (s *Store) Table() string { return s.table }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func nullMS(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

type scanner interface{ Scan(dest ...any) error }

// scanRecord reads one row in the order of columns.
func scanRecord(row scanner) (session.Digest, *session.Record, error) {
	// One struct for all columns: Scan's pointers make what they point to
	// escape, so separate variables would be one allocation each.
	var c struct {
		digest, data                     []byte
		user, ip, ua                     sql.NullString
		auth                             sql.NullInt64
		created, seen, idleMS, idle, abs int64
		expires, version                 int64
		onClose                          bool
	}
	var d session.Digest
	if err := row.Scan(&c.digest, &c.data, &c.user, &c.auth, &c.created, &c.seen, &c.idleMS, &c.idle, &c.abs, &c.expires, &c.onClose, &c.version, &c.ip, &c.ua); err != nil {
		return d, nil, err
	}
	if len(c.digest) != len(d) {
		return d, nil, fmt.Errorf("%w: digest column has %d bytes", session.ErrCorrupt, len(c.digest))
	}
	copy(d[:], c.digest)
	values, err := session.DecodeValues(c.data)
	if err != nil {
		return d, nil, err
	}
	rec := &session.Record{
		Values:        values,
		UserID:        c.user.String,
		Created:       fromMS(c.created),
		LastSeen:      fromMS(c.seen),
		IdleTimeout:   time.Duration(c.idleMS) * time.Millisecond,
		IdleExpiry:    fromMS(c.idle),
		AbsExpiry:     fromMS(c.abs),
		ExpireOnClose: c.onClose,
		Version:       c.version,
		IP:            c.ip.String,
		UserAgent:     c.ua.String,
	}
	if c.auth.Valid {
		rec.AuthTime = fromMS(c.auth.Int64)
	}
	return d, rec, nil
}

func (s *Store) wrap(op string, err error) error {
	return fmt.Errorf("%s store: %s: %w", s.dialect.Name, op, err)
}

// retry runs f until it succeeds, fails with an error that is not
// retryable, or maxAttempts is reached, backing off briefly between tries.
func (s *Store) retry(ctx context.Context, f func() error) error {
	var err error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if err = f(); err == nil || !s.dialect.IsRetryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(1<<attempt) * time.Millisecond):
		}
	}
	return err
}

// Load reads the record under d in one SELECT.
func (s *Store) Load(ctx context.Context, d session.Digest) (*session.Record, error) {
	var rec *session.Record
	err := s.retry(ctx, func() error {
		var err error
		_, rec, err = scanRecord(s.conn.QueryRow(ctx, s.load, d[:]))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, session.ErrNotFound
	}
	if err != nil {
		return nil, s.wrap("load", err)
	}
	return rec, nil
}

func insertArgs(d session.Digest, r *session.Record, data []byte) []any {
	return []any{
		d[:], string(data), nullString(r.UserID), nullMS(r.AuthTime), ms(r.Created), ms(r.LastSeen),
		r.IdleTimeout.Milliseconds(), ms(r.IdleExpiry), ms(r.AbsExpiry), ms(r.ExpiresAt()),
		r.ExpireOnClose, r.Version, r.IP, r.UserAgent,
	}
}

// Create inserts the record; a row already under d gives ErrExists.
func (s *Store) Create(ctx context.Context, d session.Digest, r *session.Record) error {
	data, err := session.EncodeValues(r.Values)
	if err != nil {
		return err
	}
	err = s.retry(ctx, func() error {
		_, err := s.conn.Exec(ctx, s.create, insertArgs(d, r, data)...)
		return err
	})
	if err != nil && s.dialect.IsDuplicate(err) {
		return session.ErrExists
	}
	if err != nil {
		return s.wrap("create", err)
	}
	return nil
}

// writeVersioned writes next over the row that has version base, in one
// UPDATE; it reports whether a row matched.
func (s *Store) writeVersioned(ctx context.Context, q Querier, d session.Digest, base int64, next *session.Record) (bool, error) {
	data, err := session.EncodeValues(next.Values)
	if err != nil {
		return false, err
	}
	n, err := q.Exec(ctx, s.update, string(data), ms(next.LastSeen), next.IdleTimeout.Milliseconds(),
		ms(next.IdleExpiry), ms(next.ExpiresAt()), next.ExpireOnClose, next.Version, next.IP, next.UserAgent, d[:], base)
	return n == 1, err
}

// Update applies c. When c.Base holds the version the row still has, this is
// one UPDATE ... WHERE digest AND version. Otherwise (another request wrote
// meanwhile) the row is read and rewritten inside a transaction holding its
// write lock, re-applying this request's key changes on the fresh values, so
// changes to different keys by concurrent requests all survive. A row that
// no longer exists gives ErrNotFound and nothing is written.
func (s *Store) Update(ctx context.Context, d session.Digest, c *session.Change) error {
	if c.Base != nil {
		next := c.Base.Clone()
		c.Apply(next)
		// When the merged view is too large, the row may still differ
		// from Base (another request deleted keys meanwhile): the locked
		// path below decides on the row itself.
		if c.TooLarge(c.Base.Size(), next) != nil {
			return s.updateLocked(ctx, d, c)
		}
		var ok bool
		err := s.retry(ctx, func() error {
			var err error
			ok, err = s.writeVersioned(ctx, s.conn, d, c.Base.Version, next)
			return err
		})
		if err != nil {
			return s.wrap("update", err)
		}
		if ok {
			return nil
		}
	}
	return s.updateLocked(ctx, d, c)
}

// updateLocked is Update's path through a transaction that holds the row's
// write lock, retried on deadlocks and busy errors.
func (s *Store) updateLocked(ctx context.Context, d session.Digest, c *session.Change) error {
	err := s.retry(ctx, func() error { return s.lockedUpdate(ctx, d, c) })
	if errors.Is(err, session.ErrNotFound) || errors.Is(err, session.ErrTooLarge) {
		return err
	}
	if err != nil {
		return s.wrap("update", err)
	}
	return nil
}

func (s *Store) lockedUpdate(ctx context.Context, d session.Digest, c *session.Change) error {
	return s.conn.InTx(ctx, func(tx Querier) error {
		_, cur, err := scanRecord(tx.QueryRow(ctx, s.selectLocked, d[:]))
		if errors.Is(err, sql.ErrNoRows) {
			return session.ErrNotFound
		}
		if err != nil {
			return err
		}
		base, before := cur.Version, cur.Size()
		c.Apply(cur)
		if err := c.TooLarge(before, cur); err != nil {
			return err
		}
		ok, err := s.writeVersioned(ctx, tx, d, base, cur)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("row changed while locked")
		}
		return nil
	})
}

// Touch moves the expiry forward in one UPDATE of the expiry columns.
func (s *Store) Touch(ctx context.Context, d session.Digest, lastSeen, idleExpiry time.Time) error {
	var n int64
	err := s.retry(ctx, func() error {
		e := ms(idleExpiry)
		var err error
		n, err = s.conn.Exec(ctx, s.touch, ms(lastSeen), e, e, e, d[:])
		return err
	})
	if err != nil {
		return s.wrap("touch", err)
	}
	if n == 0 {
		// MySQL reports 0 rows for an UPDATE that matched but changed
		// nothing; tell the two apart.
		if _, err := s.Load(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes the row under d.
func (s *Store) Delete(ctx context.Context, d session.Digest) (bool, error) {
	var n int64
	err := s.retry(ctx, func() error {
		var err error
		n, err = s.conn.Exec(ctx, s.del, d[:])
		return err
	})
	if err != nil {
		return false, s.wrap("delete", err)
	}
	return n > 0, nil
}

// Renew moves the session to the new digest in one UPDATE of the primary
// key (and every other column): atomic without a transaction, so the user
// index moves with it. A missing old row gives ErrNotFound; an existing row
// under new is a key violation, reported as ErrExists, and changes nothing.
func (s *Store) Renew(ctx context.Context, old, new session.Digest, rec *session.Record) error {
	data, err := session.EncodeValues(rec.Values)
	if err != nil {
		return err
	}
	var n int64
	err = s.retry(ctx, func() error {
		args := append(insertArgs(new, rec, data), old[:])
		var err error
		n, err = s.conn.Exec(ctx, s.renew, args...)
		return err
	})
	if err != nil && s.dialect.IsDuplicate(err) {
		return session.ErrExists
	}
	if err != nil {
		return s.wrap("renew", err)
	}
	if n == 0 {
		return session.ErrNotFound
	}
	return nil
}

// ListByUser returns the user's live sessions through the user_id index.
func (s *Store) ListByUser(ctx context.Context, userID string, now time.Time) ([]session.Entry, error) {
	var out []session.Entry
	err := s.retry(ctx, func() error {
		out = out[:0]
		rows, err := s.conn.Query(ctx, s.list, userID, ms(now))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, rec, err := scanRecord(rows)
			if errors.Is(err, session.ErrCorrupt) {
				continue // unusable; the manager deletes it when presented
			}
			if err != nil {
				return err
			}
			out = append(out, session.Entry{Digest: d, Record: rec})
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.wrap("list by user", err)
	}
	return out, nil
}

// DeleteByUser deletes every session of the user but keep in one
// statement. A renewal moves a session by updating its row's key, so the
// statement cannot miss it: SQLite runs one writer at a time; on
// PostgreSQL a DELETE that meets a row updated by a concurrent transaction
// re-checks the row's new version (READ COMMITTED's update chain) and
// deletes it under its new key; InnoDB's DELETE is a locking read of the
// latest committed rows with next-key locks on the user's index range.
func (s *Store) DeleteByUser(ctx context.Context, userID string, keep session.Digest) (int, error) {
	var n int64
	err := s.retry(ctx, func() error {
		var err error
		n, err = s.conn.Exec(ctx, s.delUser, userID, keep[:])
		return err
	})
	if err != nil {
		return 0, s.wrap("delete by user", err)
	}
	return int(n), nil
}

// DeleteLineage deletes the user's sessions created at created in one
// statement, with the same atomicity as DeleteByUser.
func (s *Store) DeleteLineage(ctx context.Context, userID string, created time.Time) (int, error) {
	var n int64
	err := s.retry(ctx, func() error {
		var err error
		n, err = s.conn.Exec(ctx, s.delLineage, userID, ms(created))
		return err
	})
	if err != nil {
		return 0, s.wrap("delete lineage", err)
	}
	return int(n), nil
}

// CountActive counts live sessions through the expiry index.
func (s *Store) CountActive(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.retry(ctx, func() error {
		return s.conn.QueryRow(ctx, s.count, ms(now)).Scan(&n)
	})
	if err != nil {
		return 0, s.wrap("count", err)
	}
	return n, nil
}

// DeleteExpired deletes at most limit expired rows in one statement.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var n int64
	err := s.retry(ctx, func() error {
		var err error
		n, err = s.conn.Exec(ctx, s.delExpired, ms(now), limit)
		return err
	})
	if err != nil {
		return int(n), s.wrap("delete expired", err)
	}
	return int(n), nil
}

// Quote helpers for dialects.

// QuoteDouble quotes an identifier with double quotes (SQLite, PostgreSQL).
func QuoteDouble(ident string) string { return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"` }

// QuoteBacktick quotes an identifier with backticks (MySQL, MariaDB).
func QuoteBacktick(ident string) string { return "`" + strings.ReplaceAll(ident, "`", "``") + "`" }

var _ session.FullStore = (*Store)(nil)
