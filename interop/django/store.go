package django

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sessionkit/session"
)

// Vendor is the database holding Django's tables.
type Vendor int

// The databases the store supports, with Django's column types for
// expire_date: SQLite text, PostgreSQL timestamptz, MariaDB/MySQL
// datetime(6), all in UTC (USE_TZ = True, Django's project default).
const (
	SQLite Vendor = iota + 1
	PostgreSQL
	MySQL
)

func (v Vendor) String() string {
	switch v {
	case SQLite:
		return "sqlite"
	case PostgreSQL:
		return "postgres"
	case MySQL:
		return "mysql"
	}
	return "vendor(" + strconv.Itoa(int(v)) + ")"
}

// Config describes the Django project whose sessions the store shares.
type Config struct {
	// Vendor is the database (required).
	Vendor Vendor
	// Secret is the project's SECRET_KEY (required); Fallbacks its
	// SECRET_KEY_FALLBACKS (Django 4.1 and later), accepted when reading.
	Secret    string
	Fallbacks []string
	// StoreClass is the class name of the project's session store, which
	// Django puts in the signing salt; "SessionStore" (every store Django
	// ships) unless the project subclasses it under another name.
	StoreClass string
	// AcceptSHA1 accepts what a site in DEFAULT_HASHING_ALGORITHM =
	// "sha1" left behind, as Django 3.1/3.2 still do (4.0 and later do
	// not): data signed with SHA-1, rows in the pre-3.1 format (a Go write
	// re-signs them with SHA-256) and SHA-1 login hashes.
	AcceptSHA1 bool
	// Table is the session table (default "django_session"); UserTable the
	// user model's table (default "auth_user", with Django's columns id,
	// password and is_active).
	Table, UserTable string
	// Backends lists the authentication backends whose logins are honoured
	// (AUTHENTICATION_BACKENDS; default ModelBackend only). A Go login
	// writes the first one.
	Backends []string
	// CookieAge is SESSION_COOKIE_AGE (default two weeks): the idle
	// timeout of a session without its own set_expiry (see KeyExpiry), as
	// in Django; a write of such a session dates expire_date that far
	// ahead, and its last activity reads as expire_date minus it.
	CookieAge time.Duration
	// AbsoluteTimeout is the manager's session.WithAbsoluteTimeout
	// (default CookieAge, the README's settings). Django keeps no login
	// time: a session's start reads as its last save, except that when
	// AbsoluteTimeout is at least CookieAge, a session whose set_expiry
	// outlasts it reads as started late enough that the manager never ends
	// it before Django does (see KeyExpiry). A shorter one ends every
	// session that long after its last save.
	AbsoluteTimeout time.Duration
	// TimeZone is the project's TIME_ZONE, needed only under USE_TZ =
	// False to read a set_expiry datetime stored without an offset (as a
	// naive local time); without it such a value is not understood and the
	// session ends when its expire_date says (see KeyExpiry). Django reads
	// naive datetimes in TIME_ZONE only when it sets the process's time
	// zone (a settings module does; settings.configure does not), so
	// check what the Django processes run with.
	TimeZone *time.Location
	// MaxPayload bounds a decoded session (default DefaultMaxPayload).
	MaxPayload int
	// Compress compresses written data as Django does when that saves
	// space (default off: every Django version reads both forms).
	Compress bool
}

// Store keeps sessions in the django_session table of a Django project,
// readable and writable by Django at the same time. Tokens are Django's
// session keys: use it with a manager configured with
// session.WithTokenScheme(django.Keys{}) and the cookie name "sessionid".
//
// It implements session.Store, session.Toucher, session.Renewer,
// session.Counter and session.ExpiredDeleter. It keeps no per-user index (Django's table has none),
// so listing or revoking a user's sessions is unsupported.
type Store struct {
	db     *sql.DB
	cfg    Config
	signer Signer
	users  users

	load, insert, update, touch, del, renew, count, expire string

	// beforeRenewWrite, set only by the tests (export_test.go), runs in
	// Renew between its read of the row and its UPDATE.
	beforeRenewWrite func()
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// NewStore returns a store on db, a handle to the Django project's
// database (its own driver: modernc.org/sqlite, pgx's stdlib, or
// go-sql-driver/mysql). The store creates and alters nothing: Django's
// migrations own the tables.
func NewStore(db *sql.DB, cfg Config) (*Store, error) {
	if db == nil {
		return nil, errors.New("django: db is nil")
	}
	if cfg.Vendor < SQLite || cfg.Vendor > MySQL {
		return nil, fmt.Errorf("django: unknown vendor %v", cfg.Vendor)
	}
	if cfg.Secret == "" {
		return nil, errors.New("django: Config.Secret (SECRET_KEY) is required")
	}
	if cfg.StoreClass == "" {
		cfg.StoreClass = "SessionStore"
	}
	if cfg.Table == "" {
		cfg.Table = "django_session"
	}
	if cfg.UserTable == "" {
		cfg.UserTable = "auth_user"
	}
	for _, t := range []string{cfg.Table, cfg.UserTable} {
		if !identRE.MatchString(t) {
			return nil, fmt.Errorf("django: invalid table name %q", t)
		}
	}
	if len(cfg.Backends) == 0 {
		cfg.Backends = []string{ModelBackend}
	}
	if cfg.CookieAge <= 0 {
		cfg.CookieAge = 14 * 24 * time.Hour
	}
	if cfg.AbsoluteTimeout <= 0 {
		cfg.AbsoluteTimeout = cfg.CookieAge
	}
	s := &Store{db: db, cfg: cfg, signer: Signer{
		Secret: cfg.Secret, Fallbacks: cfg.Fallbacks, Salt: SessionSalt(cfg.StoreClass),
		AcceptSHA1: cfg.AcceptSHA1, MaxPayload: cfg.MaxPayload,
	}}
	u, err := newUsers(db, cfg.Vendor, cfg.UserTable, append([]string{cfg.Secret}, cfg.Fallbacks...), cfg.AcceptSHA1, cfg.Backends)
	if err != nil {
		return nil, err
	}
	s.users = u
	t := quoteIdent(cfg.Vendor, cfg.Table)
	// MySQL's and SQLite's DATETIME is a wall clock, Django's in UTC: read
	// as text, so that no driver setting (go-sql-driver/mysql's
	// parseTime=true with a loc= of a zone with daylight saving time)
	// turns it into another zone's reading, which a clock change can
	// shift by an hour.
	exp := "CAST(expire_date AS CHAR)"
	switch cfg.Vendor {
	case PostgreSQL:
		exp = "expire_date"
	case SQLite:
		exp = "CAST(expire_date AS TEXT)"
	}
	s.load = "SELECT session_data, " + exp + " FROM " + t + " WHERE session_key = ? AND expire_date > ?"
	s.insert = "INSERT INTO " + t + " (session_key, session_data, expire_date) VALUES (?, ?, ?)"
	s.update = "UPDATE " + t + " SET session_data = ?, expire_date = ? WHERE session_key = ? AND session_data = ?"
	s.touch = "UPDATE " + t + " SET expire_date = ? WHERE session_key = ? AND session_data = ? AND expire_date < ?"
	s.del = "DELETE FROM " + t + " WHERE session_key = ?"
	s.renew = "UPDATE " + t + " SET session_key = ?, session_data = ?, expire_date = ? WHERE session_key = ? AND session_data = ? AND expire_date > ?"
	s.count = "SELECT COUNT(*) FROM " + t + " WHERE expire_date > ?"
	// Django's clearsessions deletes every expired row in one statement;
	// this deletes them in batches of at most limit rows, as the cleaner
	// asks, so that no transaction holds the table for long.
	if cfg.Vendor == MySQL {
		s.expire = "DELETE FROM " + t + " WHERE expire_date <= ? LIMIT ?"
	} else {
		s.expire = "DELETE FROM " + t + " WHERE session_key IN (SELECT session_key FROM " + t + " WHERE expire_date <= ? LIMIT ?)"
	}
	if cfg.Vendor == PostgreSQL {
		for _, p := range []*string{&s.load, &s.insert, &s.update, &s.touch, &s.del, &s.renew, &s.count, &s.expire} {
			*p = numbered(*p)
		}
	}
	return s, nil
}

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

// sqliteTime is how Django stores a UTC datetime in SQLite (and how MySQL
// takes a datetime(6)): SQLite compares expire_date as text, so any other
// spelling (an ISO "T", an offset) breaks Django's expiry check.
const sqliteTime = "2006-01-02 15:04:05.000000"

// timeArg is a time as a parameter for expire_date.
func (s *Store) timeArg(t time.Time) any {
	if s.cfg.Vendor == PostgreSQL {
		return t.UTC()
	}
	return t.UTC().Format(sqliteTime)
}

// parseTime reads expire_date as the driver returns it: PostgreSQL's
// timestamptz as an instant, MySQL's and SQLite's DATETIME as the text the
// load selects (Django's UTC wall clock, see NewStore).
func parseTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), nil
	case []byte:
		return parseTimeText(string(x))
	case string:
		return parseTimeText(x)
	}
	return time.Time{}, fmt.Errorf("django: expire_date of type %T", v)
}

func parseTimeText(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("django: expire_date %q is not a datetime", s)
}

// version identifies a row's data for conditional writes: Django's table
// has no version column, so the data itself is compared.
func version(data string) int64 {
	h := fnv.New64a()
	h.Write([]byte(data))
	return int64(h.Sum64() >> 1)
}

// row is a loaded session row with its decoded dictionary.
type row struct {
	data   string
	expire time.Time
	dict   *dict
}

// read loads the live row under key; ok is false when there is none.
func (s *Store) read(ctx context.Context, key string, now time.Time) (*row, bool, error) {
	var r row
	var exp any
	err := s.db.QueryRowContext(ctx, s.load, key, s.timeArg(now)).Scan(&r.data, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("django store: load: %w", err)
	}
	if r.expire, err = parseTime(exp); err != nil {
		return nil, false, err
	}
	payload, err := s.unsign(r.data, now)
	if err != nil {
		// A row this store cannot verify is not deleted: a wrong
		// SECRET_KEY must not destroy every session it meets.
		return nil, false, fmt.Errorf("django store: session data: %w", err)
	}
	if r.dict, err = decodeSession(payload); err != nil {
		return nil, false, err
	}
	return &r, true, nil
}

// unsign verifies a row's session data (see unsignSession).
func (s *Store) unsign(data string, now time.Time) ([]byte, error) {
	return unsignSession(&s.signer, s.cfg.StoreClass, data, now)
}

// unsignSession verifies session data as Django 3.2's SessionBase.decode
// does, with signer for a store of class storeClass: Django's signed
// format or, when the signer accepts SHA-1, the pre-3.1 format.
func unsignSession(signer *Signer, storeClass, data string, now time.Time) ([]byte, error) {
	payload, err := signer.Unsign(data, 0, now)
	if errors.Is(err, ErrLegacyFormat) && signer.AcceptSHA1 && isPre31(data) {
		return signer.decodePre31(data, legacySessionSalt(storeClass))
	}
	return payload, err
}

// record turns a row read at now into the record the manager works with
// (recordOf).
func (s *Store) record(r *row, userID string, now time.Time) *session.Record {
	return recordOf(r.dict, userID, r.expire, now, s.cfg.CookieAge, s.cfg.AbsoluteTimeout, s.cfg.TimeZone, version(r.data))
}

// expiry returns the row's own expiry (KeyExpiry).
func (s *Store) expiry(r *row) expiry {
	return parseExpiry(r.dict.vals[KeyExpiry], s.cfg.CookieAge, s.cfg.TimeZone)
}

// noDeadline is the absolute deadline of a Django session: none (the
// manager's own absolute timeout still applies from its login time).
var noDeadline = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func authKey(k string) bool { return k == KeyUserID || k == KeyUserBackend || k == KeyUserHash }

// Load reads the session under d (a Django session key), verifying its
// login as django.contrib.auth does: a session whose _auth_user_hash no
// longer matches its user's password is deleted, as Django flushes it, and
// reported as not found; one whose user is gone or inactive, or logged in
// through a backend not in Config.Backends, is anonymous for Go (as for
// Django) and keeps its data.
func (s *Store) Load(ctx context.Context, d session.Digest) (*session.Record, error) {
	key := string(d[:])
	now := time.Now()
	r, ok, err := s.read(ctx, key, now)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, session.ErrNotFound
	}
	user, flush, err := s.users.verify(ctx, r.dict)
	if err != nil {
		return nil, err
	}
	if flush {
		if _, err := s.db.ExecContext(ctx, s.del, key); err != nil {
			return nil, fmt.Errorf("django store: deleting a session whose password changed: %w", err)
		}
		return nil, session.ErrNotFound
	}
	rec := s.record(r, user, now)
	if user == "" {
		if rec.ClaimedUser, err = s.users.claim(ctx, r.dict); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// encodeRecord builds the dictionary of rec with lt's expiry, keeping
// base's key order and login keys when rec's user is the one base was
// logged in as, and writing fresh login keys (with the hash of the user's
// current password) when the user changed. It returns the signed data;
// lt.expires is the expire_date that goes with it.
func (s *Store) encodeRecord(ctx context.Context, base *dict, rec *session.Record, fresh bool, lt lifetime) (string, error) {
	out, err := rebuild(ctx, &s.users, base, rec, fresh, &lt)
	if err != nil {
		return "", err
	}
	return s.signer.Sign(encodeSession(out), s.cfg.Compress, time.Now()), nil
}

// lifetime is lifetimeFor with the store's settings; base is nil for a
// new session.
func (s *Store) lifetime(base *row, rec *session.Record) lifetime {
	if base == nil {
		return lifetimeFor(nil, time.Time{}, rec, s.cfg.CookieAge, s.cfg.TimeZone)
	}
	return lifetimeFor(base.dict, base.expire, rec, s.cfg.CookieAge, s.cfg.TimeZone)
}

// Create inserts a new session row; an existing key gives ErrExists.
func (s *Store) Create(ctx context.Context, d session.Digest, rec *session.Record) error {
	lt := s.lifetime(nil, rec)
	data, err := s.encodeRecord(ctx, nil, rec, true, lt)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.insert, string(d[:]), data, s.timeArg(lt.expires)); err != nil {
		if s.isDuplicate(err) {
			return session.ErrExists
		}
		return fmt.Errorf("django store: create: %w", err)
	}
	return nil
}

// maxAttempts bounds the retries of a conditional write that keeps
// meeting concurrent writes.
const maxAttempts = 16

// Update applies c to the row: read, apply, then one UPDATE conditional on
// the data being what was read, retried when another writer (Go or Django)
// changed it meanwhile, so that Go writes to different keys all survive.
// (Django's own save rewrites the whole row unconditionally: a Django
// request that loaded the row before a Go write and saves after it loses
// that write, as it would lose another Django request's.)
func (s *Store) Update(ctx context.Context, d session.Digest, c *session.Change) error {
	key := string(d[:])
	written := ""
	for range maxAttempts {
		now := time.Now()
		r, ok, err := s.read(ctx, key, now)
		if err != nil {
			return err
		}
		if !ok {
			return session.ErrNotFound
		}
		if written != "" && r.data == written {
			// MySQL counts changed rows, not matched ones: a write that
			// left the row as it was (same values, same second) affected
			// nothing, yet it is done.
			return nil
		}
		user, flush, err := s.users.verify(ctx, r.dict)
		if err != nil {
			return err
		}
		if flush {
			return session.ErrNotFound // its password changed: Django flushes it
		}
		rec := s.record(r, user, now)
		before := rec.Size()
		c.Apply(rec)
		if err := c.TooLarge(before, rec); err != nil {
			return err
		}
		redate(rec, c, now)
		lt := s.lifetime(r, rec)
		data, err := s.encodeRecord(ctx, r.dict, rec, false, lt)
		if err != nil {
			return err
		}
		res, err := s.db.ExecContext(ctx, s.update, data, s.timeArg(lt.expires), key, r.data)
		if err != nil {
			return fmt.Errorf("django store: update: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("django store: update: %w", err)
		} else if n == 1 {
			return nil
		}
		written = data
	}
	return fmt.Errorf("django store: update: the row kept changing over %d attempts", maxAttempts)
}

// Touch moves expire_date forward (never back) to idleExpiry, but never
// past what the row's own expiry, as read now, gives a save at lastSeen
// (the request's view may predate a Django set_expiry that shortened the
// session, and an expiry the store does not understand is never
// extended): it reads the row, then updates expire_date in one UPDATE
// conditional on the data being what was read, retried when it changed.
func (s *Store) Touch(ctx context.Context, d session.Digest, lastSeen, idleExpiry time.Time) error {
	key := string(d[:])
	for range maxAttempts {
		r, ok, err := s.read(ctx, key, time.Now())
		if err != nil {
			return err
		}
		if !ok {
			return session.ErrNotFound
		}
		// The databases keep microseconds.
		target := minTime(idleExpiry, s.expiry(r).expires(lastSeen, r.expire)).Truncate(time.Microsecond)
		if !r.expire.Before(target) {
			return nil // already as late
		}
		res, err := s.db.ExecContext(ctx, s.touch, s.timeArg(target), key, r.data, s.timeArg(target))
		if err != nil {
			return fmt.Errorf("django store: touch: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("django store: touch: %w", err)
		} else if n == 1 {
			return nil
		}
	}
	return fmt.Errorf("django store: touch: the row kept changing over %d attempts", maxAttempts)
}

// redate dates rec, merged from a change c by a write at now, from that
// write, as Django's save does: LastSeen is now, and when c set the
// expiry policy the idle window c decided (c.IdleExpiry - c.LastSeen,
// which holds the manager's idle timeout when c.IdleTimeout is 0) starts
// at now.
func redate(rec *session.Record, c *session.Change, now time.Time) {
	if c.SetExpiry && !c.LastSeen.IsZero() {
		rec.IdleExpiry = now.Add(c.IdleExpiry.Sub(c.LastSeen))
	}
	rec.LastSeen = now
}

// Delete removes the row, as Django's flush does.
func (s *Store) Delete(ctx context.Context, d session.Digest) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.del, string(d[:]))
	if err != nil {
		return false, fmt.Errorf("django store: delete: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("django store: delete: %w", err)
	}
	return n > 0, nil
}

// Renew moves the session to a new key in one UPDATE of the row's key and
// data, as Django's cycle_key does at login (the old key stops working).
// A login as another user writes that user's login keys. The row is read
// again first: if it changed since the request loaded rec, its own expiry
// is kept when it ends earlier than rec's (see renewedLifetime). The
// UPDATE is conditional on the data being what was read, retried when it
// changed meanwhile (a Django save between the read and the write, such
// as a set_expiry, is then seen, not overwritten).
func (s *Store) Renew(ctx context.Context, old, new session.Digest, rec *session.Record) error {
	for range maxAttempts {
		now := time.Now()
		r, ok, err := s.read(ctx, string(old[:]), now)
		if err != nil {
			return err
		}
		if !ok {
			return session.ErrNotFound
		}
		lt := renewedLifetime(r.dict, version(r.data), r.expire, now, rec, s.cfg.CookieAge, s.cfg.TimeZone)
		data, err := s.encodeRecord(ctx, r.dict, rec, true, lt)
		if err != nil {
			return err
		}
		if s.beforeRenewWrite != nil {
			s.beforeRenewWrite()
		}
		res, err := s.db.ExecContext(ctx, s.renew, string(new[:]), data, s.timeArg(lt.expires), string(old[:]), r.data, s.timeArg(now))
		if err != nil {
			if s.isDuplicate(err) {
				return session.ErrExists
			}
			return fmt.Errorf("django store: renew: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("django store: renew: %w", err)
		} else if n == 1 {
			return nil
		}
	}
	return fmt.Errorf("django store: renew: the row kept changing over %d attempts", maxAttempts)
}

// CountActive counts unexpired rows (through Django's expire_date index).
func (s *Store) CountActive(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, s.count, s.timeArg(now)).Scan(&n); err != nil {
		return 0, fmt.Errorf("django store: count: %w", err)
	}
	return n, nil
}

// DeleteExpired deletes at most limit rows that expired before now (all
// of them in batches when limit <= 0), as Django's clearsessions command
// does, and returns how many it deleted.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	batch := limit
	if batch <= 0 {
		batch = 1000
	}
	total := 0
	for {
		res, err := s.db.ExecContext(ctx, s.expire, s.timeArg(now), batch)
		if err != nil {
			return total, fmt.Errorf("django store: delete expired: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("django store: delete expired: %w", err)
		}
		total += int(n)
		if limit > 0 || n < int64(batch) {
			return total, nil
		}
	}
}

func (s *Store) isDuplicate(err error) bool {
	msg := err.Error()
	switch s.cfg.Vendor {
	case SQLite:
		return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "PRIMARY KEY")
	case PostgreSQL:
		return strings.Contains(msg, "SQLSTATE 23505")
	default:
		return strings.Contains(msg, "Error 1062")
	}
}

var (
	_ session.Store   = (*Store)(nil)
	_ session.Toucher = (*Store)(nil)
	_ session.Renewer = (*Store)(nil)
	_ session.Counter = (*Store)(nil)
)
