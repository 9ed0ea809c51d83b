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
// (Django 5 uses under 1,000,000), so that a hash in the table cannot make
// a login take minutes.
const maxIterations = 10_000_000

// dummyHash is verified when the user name is unknown or inactive, as
// Django's ModelBackend runs its default hasher, so that the time taken
// does not tell which user names exist (Django 3.2's default iterations).
const dummyHash = "pbkdf2_sha256$260000$timingsalt$" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

// Authenticate checks a user name and password against the user table as
// Django's ModelBackend does (the "username" column; an inactive user
// cannot log in) and returns the user's primary key, which
// Manager.Login takes to write a login Django honours. Wrong credentials
// give ErrBadCredentials; a hash of another hasher than Django's PBKDF2
// ones gives ErrUnsupportedHasher.
func (s *Store) Authenticate(ctx context.Context, username, password string) (string, error) {
	var id, stored string
	var active bool
	err := s.db.QueryRowContext(ctx, s.byName, username).Scan(&id, &stored, &active)
	if errors.Is(err, sql.ErrNoRows) {
		checkPassword(dummyHash, password)
		return "", ErrBadCredentials
	}
	if err != nil {
		return "", fmt.Errorf("django: reading user: %w", err)
	}
	ok, err := checkPassword(stored, password)
	if err != nil {
		return "", err
	}
	if !ok || !active {
		return "", ErrBadCredentials
	}
	return id, nil
}

// checkPassword verifies password against a Django password hash,
// "<algorithm>$<iterations>$<salt>$<base64 hash>" for the PBKDF2 hashers.
// An unusable password ("!..." from set_unusable_password) never matches.
func checkPassword(encoded, password string) (bool, error) {
	algorithm, rest, _ := strings.Cut(encoded, "$")
	var h func() hash.Hash
	switch algorithm {
	case "pbkdf2_sha256":
		h = sha256.New
	case "pbkdf2_sha1":
		h = sha1.New
	default:
		if strings.HasPrefix(encoded, "!") || encoded == "" {
			return false, nil
		}
		return false, fmt.Errorf("%w %q (only pbkdf2_sha256 and pbkdf2_sha1)", ErrUnsupportedHasher, algorithm)
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 3 {
		return false, nil
	}
	iterations, err := strconv.Atoi(parts[0])
	if err != nil || iterations < 1 || iterations > maxIterations {
		return false, nil
	}
	want, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(want) != h().Size() {
		return false, nil
	}
	got, err := pbkdf2.Key(h, password, []byte(parts[1]), iterations, len(want))
	if err != nil {
		return false, nil
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
