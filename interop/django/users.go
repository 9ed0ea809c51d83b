package django

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
)

// users checks Django logins against the user table, as
// django.contrib.auth.get_user does.
type users struct {
	db       *sql.DB // nil: no user table, so no login is honoured
	query    string  // password and is_active by id
	table    string
	secret   string
	backends []string
}

// verify checks the login keys of d; an anonymous session is valid with
// an empty user. A login whose backend is not allowed, whose user is gone
// or inactive, or whose hash no longer matches the user's password is not.
func (u *users) verify(ctx context.Context, d *dict) (string, bool, error) {
	rawID, ok := d.get(KeyUserID)
	if !ok {
		return "", true, nil
	}
	var id, backend, hash string
	if !jsonString(rawID, &id) || !jsonString(d.vals[KeyUserBackend], &backend) || !jsonString(d.vals[KeyUserHash], &hash) {
		return "", false, nil
	}
	if !slices.Contains(u.backends, backend) {
		return "", false, nil
	}
	want, found, err := u.hash(ctx, id)
	if err != nil || !found {
		return "", false, err
	}
	return id, hmacEqual(hash, want), nil
}

// hash returns the session auth hash of an active user.
func (u *users) hash(ctx context.Context, id string) (string, bool, error) {
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
	if !active {
		return "", false, nil
	}
	return SessionAuthHash(u.secret, password), true, nil
}

// loginKeys sets the login keys of user id in out: those of base when it
// holds that user's login, else fresh ones with the hash of the user's
// current password.
func (u *users) loginKeys(ctx context.Context, out, base *dict, id string) error {
	var prevID string
	if base != nil {
		jsonString(base.vals[KeyUserID], &prevID)
	}
	if base != nil && prevID == id && base.vals[KeyUserHash] != nil {
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
