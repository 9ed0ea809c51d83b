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
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/session"
)

// DefaultTable is the table name unless WithTable says otherwise.
const DefaultTable = "sessions"

const maxAttempts = 8

// Store is a PostgreSQL session store. It implements session.Store and every
// optional capability. It is safe for concurrent use.
type Store struct {
	pool  *pgxpool.Pool
	owned bool
	table string

	load, selectLocked, create, update, touch, del, renew, list, delUser, count, delExpired string
}

// Option configures a Store.
type Option func(*config)

type config struct {
	table      string
	skipSchema bool
}

// WithTable sets the table name (default "sessions"). It may be qualified
// with a schema ("auth.sessions").
func WithTable(name string) Option { return func(c *config) { c.table = name } }

// WithoutSchema disables creating the table and indexes at New; apply
// schema.sql with your migrations instead.
func WithoutSchema() Option { return func(c *config) { c.skipSchema = true } }

var tableRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,62}$`)

func quote(qualified string) string {
	parts := strings.Split(qualified, ".")
	for i, p := range parts {
		parts[i] = `"` + p + `"`
	}
	return strings.Join(parts, ".")
}

const columns = "digest, data, user_id, auth_at, created_at, last_seen_at, idle_timeout_ms, idle_expires_at, abs_expires_at, expires_at, expire_on_close, version, ip, user_agent"

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
	cfg := config{table: DefaultTable}
	for _, o := range opts {
		o(&cfg)
	}
	if !tableRE.MatchString(cfg.table) {
		return nil, fmt.Errorf("pgstore: invalid table name %q: use letters, digits and underscores, optionally schema-qualified", cfg.table)
	}
	t := quote(cfg.table)
	s := &Store{pool: pool, table: cfg.table}
	sel := "SELECT " + columns + " FROM " + t
	s.load = sel + " WHERE digest = $1"
	s.selectLocked = sel + " WHERE digest = $1 FOR UPDATE"
	s.create = "INSERT INTO " + t + " (" + columns + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
	s.update = "UPDATE " + t + " SET data = $1, last_seen_at = $2, idle_timeout_ms = $3, idle_expires_at = $4, expires_at = $5, expire_on_close = $6, version = $7, ip = $8, user_agent = $9 WHERE digest = $10 AND version = $11"
	s.touch = "UPDATE " + t + " SET last_seen_at = GREATEST(last_seen_at, $1), idle_expires_at = GREATEST(idle_expires_at, $2), expires_at = LEAST(GREATEST(idle_expires_at, $2), abs_expires_at) WHERE digest = $3"
	s.del = "DELETE FROM " + t + " WHERE digest = $1"
	var set []string
	for i, c := range strings.Split(columns, ", ") {
		set = append(set, fmt.Sprintf("%s = $%d", c, i+1))
	}
	s.renew = "UPDATE " + t + " SET " + strings.Join(set, ", ") + " WHERE digest = $15"
	s.list = sel + " WHERE user_id = $1 AND expires_at > $2"
	s.delUser = "DELETE FROM " + t + " WHERE user_id = $1"
	s.count = "SELECT count(*) FROM " + t + " WHERE expires_at > $1"
	s.delExpired = "DELETE FROM " + t + " WHERE digest IN (SELECT digest FROM " + t + " WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)"
	if !cfg.skipSchema {
		name := cfg.table[strings.LastIndexByte(cfg.table, '.')+1:]
		stmts := []string{
			fmt.Sprintf(schemaTable, t),
			fmt.Sprintf(`CREATE INDEX IF NOT EXISTS "%s_expires_at_idx" ON %s (expires_at)`, name, t),
			fmt.Sprintf(`CREATE INDEX IF NOT EXISTS "%s_user_id_idx" ON %s (user_id) WHERE user_id IS NOT NULL`, name, t),
		}
		for _, stmt := range stmts {
			if _, err := pool.Exec(ctx, stmt); err != nil {
				// Concurrent CREATE ... IF NOT EXISTS from several servers
				// starting at once can race on the catalog; the loser sees a
				// unique violation and the object exists.
				if code(err) == "23505" || code(err) == "42P07" {
					continue
				}
				return nil, fmt.Errorf("pgstore: creating schema: %w", err)
			}
		}
	}
	return s, nil
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

// Pool returns the connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Table returns the table name.
func (s *Store) Table() string { return s.table }

// Close closes the pool if Open created it; for New it does nothing.
func (s *Store) Close() {
	if s.owned {
		s.pool.Close()
	}
}

func code(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func isDuplicate(err error) bool { return code(err) == "23505" }

// retryable: serialization failure and deadlock.
func retryable(err error) bool {
	c := code(err)
	return c == "40001" || c == "40P01"
}

func retry(ctx context.Context, f func() error) error {
	var err error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if err = f(); err == nil || !retryable(err) {
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

func wrap(op string, err error) error { return fmt.Errorf("pgstore: %s: %w", op, err) }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func optMS(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	v := t.UnixMilli()
	return &v
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func scanRecord(row pgx.Row) (session.Digest, *session.Record, error) {
	var (
		digest, data                []byte
		user                        *string
		auth                        *int64
		created, seen, idleMS, idle int64
		abs, expires, version       int64
		onClose                     bool
		ip, ua                      string
		d                           session.Digest
	)
	if err := row.Scan(&digest, &data, &user, &auth, &created, &seen, &idleMS, &idle, &abs, &expires, &onClose, &version, &ip, &ua); err != nil {
		return d, nil, err
	}
	if len(digest) != len(d) {
		return d, nil, fmt.Errorf("%w: digest column has %d bytes", session.ErrCorrupt, len(digest))
	}
	copy(d[:], digest)
	values, err := session.DecodeValues(data)
	if err != nil {
		return d, nil, err
	}
	rec := &session.Record{
		Values: values, Created: fromMS(created), LastSeen: fromMS(seen),
		IdleTimeout: time.Duration(idleMS) * time.Millisecond,
		IdleExpiry:  fromMS(idle), AbsExpiry: fromMS(abs), ExpireOnClose: onClose,
		Version: version, IP: ip, UserAgent: ua,
	}
	if user != nil {
		rec.UserID = *user
	}
	if auth != nil {
		rec.AuthTime = fromMS(*auth)
	}
	return d, rec, nil
}

func rowArgs(d session.Digest, r *session.Record, data []byte) []any {
	return []any{
		d[:], string(data), optString(r.UserID), optMS(r.AuthTime), ms(r.Created), ms(r.LastSeen),
		r.IdleTimeout.Milliseconds(), ms(r.IdleExpiry), ms(r.AbsExpiry), ms(r.ExpiresAt()),
		r.ExpireOnClose, r.Version, r.IP, r.UserAgent,
	}
}

// Load reads the record under d in one SELECT.
func (s *Store) Load(ctx context.Context, d session.Digest) (*session.Record, error) {
	var rec *session.Record
	err := retry(ctx, func() error {
		var err error
		_, rec, err = scanRecord(s.pool.QueryRow(ctx, s.load, d[:]))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, session.ErrNotFound
	}
	if err != nil {
		return nil, wrap("load", err)
	}
	return rec, nil
}

// Create inserts the record; a row already under d gives ErrExists.
func (s *Store) Create(ctx context.Context, d session.Digest, r *session.Record) error {
	data, err := session.EncodeValues(r.Values)
	if err != nil {
		return err
	}
	err = retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, s.create, rowArgs(d, r, data)...)
		return err
	})
	if isDuplicate(err) {
		return session.ErrExists
	}
	if err != nil {
		return wrap("create", err)
	}
	return nil
}

type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func (s *Store) writeVersioned(ctx context.Context, q execer, d session.Digest, base int64, next *session.Record) (bool, error) {
	data, err := session.EncodeValues(next.Values)
	if err != nil {
		return false, err
	}
	tag, err := q.Exec(ctx, s.update, string(data), ms(next.LastSeen), next.IdleTimeout.Milliseconds(),
		ms(next.IdleExpiry), ms(next.ExpiresAt()), next.ExpireOnClose, next.Version, next.IP, next.UserAgent, d[:], base)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// Update applies c: one UPDATE ... WHERE digest AND version when c.Base is
// current; otherwise the row is locked (SELECT ... FOR UPDATE), the change
// re-applied to the fresh values and written in the same transaction. A row
// that no longer exists gives ErrNotFound and nothing is written.
func (s *Store) Update(ctx context.Context, d session.Digest, c *session.Change) error {
	if c.Base != nil {
		next := c.Base.Clone()
		c.Apply(next)
		var ok bool
		err := retry(ctx, func() error {
			var err error
			ok, err = s.writeVersioned(ctx, s.pool, d, c.Base.Version, next)
			return err
		})
		if err != nil {
			return wrap("update", err)
		}
		if ok {
			return nil
		}
	}
	err := retry(ctx, func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			_, cur, err := scanRecord(tx.QueryRow(ctx, s.selectLocked, d[:]))
			if errors.Is(err, pgx.ErrNoRows) {
				return session.ErrNotFound
			}
			if err != nil {
				return err
			}
			base := cur.Version
			c.Apply(cur)
			ok, err := s.writeVersioned(ctx, tx, d, base, cur)
			if err == nil && !ok {
				err = errors.New("row changed while locked")
			}
			return err
		})
	})
	if errors.Is(err, session.ErrNotFound) {
		return err
	}
	if err != nil {
		return wrap("update", err)
	}
	return nil
}

// Touch moves the expiry forward in one UPDATE of the expiry columns.
func (s *Store) Touch(ctx context.Context, d session.Digest, lastSeen, idleExpiry time.Time) error {
	var tag pgconn.CommandTag
	err := retry(ctx, func() error {
		var err error
		tag, err = s.pool.Exec(ctx, s.touch, ms(lastSeen), ms(idleExpiry), d[:])
		return err
	})
	if err != nil {
		return wrap("touch", err)
	}
	if tag.RowsAffected() == 0 {
		return session.ErrNotFound
	}
	return nil
}

// Delete removes the row under d.
func (s *Store) Delete(ctx context.Context, d session.Digest) (bool, error) {
	var tag pgconn.CommandTag
	err := retry(ctx, func() error {
		var err error
		tag, err = s.pool.Exec(ctx, s.del, d[:])
		return err
	})
	if err != nil {
		return false, wrap("delete", err)
	}
	return tag.RowsAffected() > 0, nil
}

// Renew moves the session to the new digest in one UPDATE of the primary key
// and every other column. A missing old row gives ErrNotFound; an existing
// row under new is a key violation, reported as ErrExists.
func (s *Store) Renew(ctx context.Context, old, new session.Digest, rec *session.Record) error {
	data, err := session.EncodeValues(rec.Values)
	if err != nil {
		return err
	}
	var tag pgconn.CommandTag
	err = retry(ctx, func() error {
		var err error
		tag, err = s.pool.Exec(ctx, s.renew, append(rowArgs(new, rec, data), old[:])...)
		return err
	})
	if isDuplicate(err) {
		return session.ErrExists
	}
	if err != nil {
		return wrap("renew", err)
	}
	if tag.RowsAffected() == 0 {
		return session.ErrNotFound
	}
	return nil
}

// ListByUser returns the user's live sessions through the user_id index.
func (s *Store) ListByUser(ctx context.Context, userID string, now time.Time) ([]session.Entry, error) {
	var out []session.Entry
	err := retry(ctx, func() error {
		out = out[:0]
		rows, err := s.pool.Query(ctx, s.list, userID, ms(now))
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
		return nil, wrap("list by user", err)
	}
	return out, nil
}

// DeleteByUser deletes every session of the user in one statement.
func (s *Store) DeleteByUser(ctx context.Context, userID string) (int, error) {
	var tag pgconn.CommandTag
	err := retry(ctx, func() error {
		var err error
		tag, err = s.pool.Exec(ctx, s.delUser, userID)
		return err
	})
	if err != nil {
		return 0, wrap("delete by user", err)
	}
	return int(tag.RowsAffected()), nil
}

// CountActive counts live sessions through the expiry index.
func (s *Store) CountActive(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := retry(ctx, func() error { return s.pool.QueryRow(ctx, s.count, ms(now)).Scan(&n) })
	if err != nil {
		return 0, wrap("count", err)
	}
	return n, nil
}

// DeleteExpired deletes at most limit expired rows in one statement, skipping
// rows another cleaner holds.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var tag pgconn.CommandTag
	err := retry(ctx, func() error {
		var err error
		tag, err = s.pool.Exec(ctx, s.delExpired, ms(now), limit)
		return err
	})
	if err != nil {
		return 0, wrap("delete expired", err)
	}
	return int(tag.RowsAffected()), nil
}

var (
	_ session.Store          = (*Store)(nil)
	_ session.Toucher        = (*Store)(nil)
	_ session.Renewer        = (*Store)(nil)
	_ session.UserIndex      = (*Store)(nil)
	_ session.Counter        = (*Store)(nil)
	_ session.ExpiredDeleter = (*Store)(nil)
)
