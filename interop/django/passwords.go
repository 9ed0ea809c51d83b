package django

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// ErrBadCredentials: Authenticate found no active user with that user
// name and password.
var ErrBadCredentials = errors.New("django: wrong user name or password")

// ErrUnsupportedHasher: the user's password is hashed with a hasher this
// package does not verify (only Django's PBKDF2 hashers are: its default,
// pbkdf2_sha256, and pbkdf2_sha1). The message names the hasher, never
// the hash.
var ErrUnsupportedHasher = errors.New("django: unsupported password hasher")

// maxIterations bounds the PBKDF2 iterations a stored hash may ask for
// (Django 5.2 uses 1,000,000), so that a hash in the table cannot make a
// login take minutes.
const maxIterations = 10_000_000

// defaultIterations is Django 3.2's PBKDF2 iteration count, the cost of
// the dummy check until a real hash shows the project's own.
const defaultIterations = 260_000

// dummyCheck costs what checking a password against a real hash costs, for
// the failures that have no hash to check (an unknown user name, an
// unusable, malformed or unsupported hash), as Django's ModelBackend runs
// its default hasher for an unknown user: the time taken must not tell
// which user names exist or how their passwords are stored. Its iteration
// count is the largest a real hash has shown (the project's current
// setting), Django 3.2's until then.
func (u *users) dummyCheck(password string) {
	n := max(u.iterations.Load(), defaultIterations)
	pbkdf2.Key(sha256.New, password, []byte("timing-equaliser"), int(n), sha256.Size)
}

// Authenticate checks a user name and password against the user table as
// Django's ModelBackend does (the "username" column; an inactive user
// cannot log in) and returns the user's primary key, which
// Manager.Login takes to write a login Django honours. Wrong credentials
// give ErrBadCredentials; a hash of another hasher than Django's PBKDF2
// ones gives ErrUnsupportedHasher.
func (s *Store) Authenticate(ctx context.Context, username, password string) (string, error) {
	return s.users.authenticate(ctx, username, password)
}

// Authenticate checks a user name and password as Store.Authenticate does,
// against the user table of CacheConfig.DB; without one it returns
// ErrNoUserTable.
func (c *CacheStore) Authenticate(ctx context.Context, username, password string) (string, error) {
	return c.users.authenticate(ctx, username, password)
}

// Authenticate checks a user name and password as Store.Authenticate does,
// against the user table of CookieConfig.DB; without one it returns
// ErrNoUserTable.
func (c *SignedCookies) Authenticate(ctx context.Context, username, password string) (string, error) {
	return c.users.authenticate(ctx, username, password)
}

// ErrNoUserTable: Authenticate was called on a store configured without
// Django's user table (CacheConfig.DB or CookieConfig.DB), which it needs.
var ErrNoUserTable = errors.New("django: no user table to check passwords against (CacheConfig.DB or CookieConfig.DB is nil)")

func (u *users) authenticate(ctx context.Context, username, password string) (string, error) {
	if u.db == nil {
		return "", ErrNoUserTable
	}
	var id, stored string
	var active bool
	err := u.db.QueryRowContext(ctx, u.byName, username).Scan(&id, &stored, &active)
	if errors.Is(err, sql.ErrNoRows) {
		u.dummyCheck(password)
		return "", ErrBadCredentials
	}
	if err != nil {
		return "", fmt.Errorf("django: reading user: %w", err)
	}
	ok, iterations, err := checkPassword(stored, password)
	if iterations == 0 {
		u.dummyCheck(password) // nothing was hashed
	} else if iterations > u.iterations.Load() {
		u.iterations.Store(iterations)
	}
	if err != nil {
		return "", err
	}
	if !ok || !active {
		return "", ErrBadCredentials
	}
	return id, nil
}

// hasherName names the hasher of a hash checkPassword does not verify,
// for its error: the algorithm before the first "$" when it looks like a
// hasher's name, never more of the hash (a legacy unsalted MD5 hash, or a
// password stored in clear, has no "$": all of it would be quoted).
func hasherName(encoded, algorithm string) string {
	ok := strings.Contains(encoded, "$") && len(algorithm) > 0 && len(algorithm) <= 32
	for _, r := range algorithm {
		ok = ok && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_')
	}
	if !ok {
		return "(a hash in no format of Django's hashers)"
	}
	return strconv.Quote(algorithm)
}

// checkPassword verifies password against a Django password hash,
// "<algorithm>$<iterations>$<salt>$<base64 hash>" for the PBKDF2 hashers,
// and returns the iterations it computed (0 when it hashed nothing). An
// unusable password ("!..." from set_unusable_password) never matches.
func checkPassword(encoded, password string) (ok bool, iterations int64, err error) {
	algorithm, rest, _ := strings.Cut(encoded, "$")
	var h func() hash.Hash
	switch algorithm {
	case "pbkdf2_sha256":
		h = sha256.New
	case "pbkdf2_sha1":
		h = sha1.New
	default:
		if strings.HasPrefix(encoded, "!") || encoded == "" {
			return false, 0, nil
		}
		return false, 0, fmt.Errorf("%w %s (only pbkdf2_sha256 and pbkdf2_sha1)", ErrUnsupportedHasher, hasherName(encoded, algorithm))
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 3 {
		return false, 0, nil
	}
	n, err := strconv.Atoi(parts[0])
	if err != nil || n < 1 || n > maxIterations {
		return false, 0, nil
	}
	want, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(want) != h().Size() {
		return false, 0, nil
	}
	got, err := pbkdf2.Key(h, password, []byte(parts[1]), n, len(want))
	if err != nil {
		return false, 0, nil
	}
	return subtle.ConstantTimeCompare(got, want) == 1, int64(n), nil
}
