package django

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/sessionkit/session"
)

// users checks Django logins against the user table, as
// django.contrib.auth.get_user does.
type users struct {
	db         *sql.DB       // nil: no user table, so no login is honoured
	query      string        // password and is_active by id
	byName     string        // id, password and is_active by user name
	iterations *atomic.Int64 // the largest PBKDF2 cost seen (see dummyCheck)
	table      string
	secrets    []string // SECRET_KEY, then its fallbacks
	sha1       bool     // also accept the SHA-1 hash (Django 3.1/3.2)
	backends   []string
}

// verify checks the login keys of d as Django's get_user does. An
// anonymous session, or one whose login Django would not honour without
// flushing it (a backend not allowed, a user missing or inactive, no user
// table), gives an empty user; flush reports the one case where Django
// flushes the session: the user is there but the hash no longer matches
// the password (it changed).
func (u *users) verify(ctx context.Context, d *dict) (user string, flush bool, err error) {
	rawID, ok := d.get(KeyUserID)
	if !ok {
		return "", false, nil
	}
	var id, backend, hash string
	if !jsonString(rawID, &id) || !jsonString(d.vals[KeyUserBackend], &backend) || !jsonString(d.vals[KeyUserHash], &hash) {
		return "", false, nil
	}
	if !slices.Contains(u.backends, backend) {
		return "", false, nil
	}
	password, found, err := u.password(ctx, id)
	if err != nil || !found {
		return "", false, err
	}
	if !u.matches(hash, password) {
		return "", true, nil
	}
	return id, false, nil
}

// claimedUser returns the user d's login keys name, honoured or not
// (session.Record.ClaimedUser): the user id as Django stores it (a
// non-empty string), or the JSON text of any other value (a number, null,
// ""), which Django's login compares with the user's primary key as well
// and, but for a number equal to it, finds another user's; empty when d
// holds no login.
func claimedUser(d *dict) string {
	raw, ok := d.get(KeyUserID)
	if !ok {
		return ""
	}
	var id string
	if jsonString(raw, &id) && id != "" {
		return id
	}
	return string(raw)
}

// staleClaim marks a claim (session.Record.ClaimedUser) whose login no
// longer holds for its own user: a byte that is not valid UTF-8, which no
// user id Manager.Login accepts can hold, so that a login as anyone drops
// the data.
const staleClaim = "\xff"

// claim returns the ClaimedUser of a session whose login the store does
// not honour (verify gave no user): the user its login keys name
// (claimedUser), or, when that user is in the user table and the login's
// hash no longer matches their password (it changed since), the id behind
// staleClaim: Django's login flushes a session whose hash does not match
// the user logging in, the same user included. Without a user table, or
// for a login whose id is not a non-empty string or whose hash is not a
// string, the claim is the id.
func (u *users) claim(ctx context.Context, d *dict) (string, error) {
	id := claimedUser(d)
	var asString, hash string
	if id == "" || u.db == nil || !jsonString(d.vals[KeyUserID], &asString) || asString == "" || !jsonString(d.vals[KeyUserHash], &hash) {
		return id, nil
	}
	password, _, err := u.password(ctx, id)
	if err != nil {
		return "", err
	}
	if password != "" && !u.matches(hash, password) {
		return staleClaim + id, nil
	}
	return id, nil
}

// matches compares hash with the user's hash under every secret (and the
// SHA-1 variant when enabled), in constant time.
func (u *users) matches(hash, password string) bool {
	ok := false
	for _, secret := range u.secrets {
		ok = hmacEqual(hash, SessionAuthHash(secret, password)) || ok
		if u.sha1 {
			ok = hmacEqual(hash, sessionAuthHashSHA1(secret, password)) || ok
		}
	}
	return ok
}

// password returns the password field of an active user.
func (u *users) password(ctx context.Context, id string) (string, bool, error) {
	if u.db == nil {
		return "", false, nil
	}
	var password string
	var active bool
	err := u.db.QueryRowContext(ctx, u.query, id).Scan(&password, &active)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("django: reading user: %w", err)
	}
	return password, active, nil
}

// hash returns the session auth hash of an active user under SECRET_KEY.
func (u *users) hash(ctx context.Context, id string) (string, bool, error) {
	password, found, err := u.password(ctx, id)
	if err != nil || !found {
		return "", false, err
	}
	return SessionAuthHash(u.secrets[0], password), true, nil
}

// loginKeys sets the login keys of user id in out: those of base when it
// holds that user's login and fresh is false, else new ones with the hash
// of the user's current password (a login always writes new ones, so a
// login after a password change holds).
func (u *users) loginKeys(ctx context.Context, out, base *dict, id string, fresh bool) error {
	var prevID string
	if base != nil {
		jsonString(base.vals[KeyUserID], &prevID)
	}
	if !fresh && base != nil && prevID == id && base.vals[KeyUserHash] != nil {
		out.set(KeyUserID, base.vals[KeyUserID])
		out.set(KeyUserBackend, base.vals[KeyUserBackend])
		out.set(KeyUserHash, base.vals[KeyUserHash])
		return nil
	}
	if u.db == nil {
		return errors.New("django: a login needs the user table (Config.DB)")
	}
	hash, found, err := u.hash(ctx, id)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("django: no active user %q in %s", id, u.table)
	}
	out.set(KeyUserID, quote(id))
	out.set(KeyUserBackend, quote(u.backends[0]))
	out.set(KeyUserHash, quote(hash))
	return nil
}

// userQuery is the statement reading a user's password and state.
func userQuery(v Vendor, table string) string {
	q := "SELECT password, is_active FROM " + quoteIdent(v, table) + " WHERE id = ?"
	if v == PostgreSQL {
		q = numbered(q)
	}
	return q
}

func quoteIdent(v Vendor, ident string) string {
	if v == MySQL {
		return "`" + ident + "`"
	}
	return `"` + ident + `"`
}

// newUsers returns the login checks over db (nil: none is honoured) with
// the project's secrets (SECRET_KEY first, then its fallbacks).
func newUsers(db *sql.DB, v Vendor, table string, secrets []string, sha1 bool, backends []string) (users, error) {
	if table == "" {
		table = "auth_user"
	}
	if !identRE.MatchString(table) {
		return users{}, fmt.Errorf("django: invalid table name %q", table)
	}
	if len(backends) == 0 {
		backends = []string{ModelBackend}
	}
	if db != nil && (v < SQLite || v > MySQL) {
		return users{}, fmt.Errorf("django: unknown vendor %v", v)
	}
	byName := "SELECT id, password, is_active FROM " + quoteIdent(v, table) + " WHERE username = ?"
	if v == PostgreSQL {
		byName = numbered(byName)
	}
	return users{db: db, query: userQuery(v, table), byName: byName, iterations: new(atomic.Int64),
		table: table, secrets: secrets, sha1: sha1, backends: backends}, nil
}

// rebuild builds the dictionary of rec: base's keys in base's order, then
// new keys sorted, then the login keys of rec's user (see loginKeys; fresh
// for a login). A record without a user keeps base's login keys: Go reads
// such a session as anonymous when Django would not honour its login
// either, without flushing it (a backend or user it cannot check), and a
// write must not end that login for Django.
//
// With lt non-nil the session's KeyExpiry is lt.raw (see lifetimeFor),
// where base had it, removed when nil; with lt nil it is an ordinary
// value.
func rebuild(ctx context.Context, u *users, base *dict, rec *session.Record, fresh bool, lt *lifetime) (*dict, error) {
	managed := lt != nil
	var exp []byte
	if managed {
		exp = lt.raw
	}
	out := newDict()
	if base != nil {
		for _, k := range base.keys {
			if managed && k == KeyExpiry && exp != nil {
				out.set(k, exp) // where Django had it
			}
			if v, ok := rec.Values[k]; ok && !reserved(k, managed) {
				out.set(k, v)
			}
		}
	}
	var added []string
	for k := range rec.Values {
		if _, ok := out.vals[k]; !ok && !reserved(k, managed) {
			added = append(added, k)
		}
	}
	slices.Sort(added)
	for _, k := range added {
		out.set(k, rec.Values[k])
	}
	if exp != nil {
		out.set(KeyExpiry, exp)
	}
	if rec.UserID != "" {
		if err := u.loginKeys(ctx, out, base, rec.UserID, fresh); err != nil {
			return nil, err
		}
		var prevID string
		if base != nil {
			jsonString(base.vals[KeyUserID], &prevID)
		}
		// A login again as the same user: the records this package
		// reads date the login at the session's creation (recordOf), and
		// Manager.Login dates it at the call, so another AuthTime is a
		// login (a plain renewal keeps the record's). Not "later": the
		// creation may read as the load's instant, which the login's
		// millisecond-truncated time does not pass.
		relogin := fresh && prevID == rec.UserID && !rec.AuthTime.Equal(rec.Created)
		if base != nil && (prevID != rec.UserID || relogin) {
			// A login over a stored session: Django's login rotates the
			// CSRF secret it keeps in the session under CSRF_USE_SESSIONS
			// (rotate_token) on every login, the same user's included, so
			// that a secret planted before the login is worthless after
			// it. Dropped here; Django makes a new one when a page next
			// asks for it. (A signed cookie is rebuilt without its stored
			// form, base: there a write cannot be told from a login, and
			// the secret stays.)
			out.remove(KeyCSRFToken)
		}
	} else if base != nil {
		for _, k := range []string{KeyUserID, KeyUserBackend, KeyUserHash} {
			if v, ok := base.get(k); ok {
				out.set(k, v)
			}
		}
	}
	return out, nil
}
