// Package pycookie is the session.ClientStore shared by the Python cookie
// formats of package interop/flask and interop/starlette: a JSON object
// under an itsdangerous timestamp signature, with the logged-in user under
// one key of the object.
package pycookie

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/itsdangerous"
)

// Codec turns the session object into the signed part of the cookie and
// back.
type Codec interface {
	Encode(object []byte) string
	Decode(payload string) ([]byte, error)
}

// Store keeps the whole session in a Python framework's signed cookie.
type Store struct {
	Signer *itsdangerous.Signer
	Codec  Codec
	// MaxAge is the age past which the framework refuses a cookie.
	MaxAge time.Duration
	// Skew is subtracted from the signing time: itsdangerous refuses a
	// timestamp in its future, so a Go host whose clock runs ahead of the
	// Python hosts' would write cookies they silently drop.
	Skew time.Duration
	// UserKey is the key of the logged-in user's id in the object.
	UserKey string
	// Spaced writes Python's default separators (", " and ": ").
	Spaced bool
	// Now is the clock of the signatures (time.Now unless set).
	Now func() time.Time
	// DecodeObject parses the object (the framework's JSON dialect).
	DecodeObject func([]byte) (map[string][]byte, error)
	// EncodeObject writes the object.
	EncodeObject func(map[string][]byte) []byte
}

// noDeadline: the Python formats have no absolute deadline of their own.
var noDeadline = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// Seal writes the record's values (and its user under UserKey) as the
// framework's cookie, signed now minus Skew.
func (s *Store) Seal(_ context.Context, _ string, _ session.Digest, rec *session.Record) (string, error) {
	values := make(map[string][]byte, len(rec.Values)+1)
	for k, v := range rec.Values {
		values[k] = v
	}
	// The user key as read stays as it was (an integer id stays an
	// integer) while it names the record's user; a login writes the new
	// id as a string, a logout removes it.
	raw, ok := values[s.UserKey]
	switch {
	case ok && userID(raw) == rec.UserID:
	case rec.UserID != "":
		values[s.UserKey] = quote(rec.UserID)
	default:
		delete(values, s.UserKey)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return s.Signer.SignTimestamp(s.Codec.Encode(s.EncodeObject(values)), now().Add(-s.Skew)), nil
}

// Open verifies the cookie (signature first, then its age as the framework
// checks it) and returns its record: values as JSON, the user from
// UserKey, the signing time as creation and last activity, the end of
// MaxAge as the idle deadline. The id is the SHA-256 of the cookie (the
// formats have no session id). Anything that does not verify or decode is
// session.ErrInvalidCookie.
func (s *Store) Open(_ context.Context, _, value string, now time.Time) (session.Digest, *session.Record, bool, error) {
	id := session.Digest(sha256.Sum256([]byte(value)))
	payload, ts, err := s.Signer.UnsignTimestamp(value, s.MaxAge, now)
	if err != nil {
		return id, nil, false, fmt.Errorf("%w: %w", session.ErrInvalidCookie, err)
	}
	object, err := s.Codec.Decode(payload)
	if err != nil {
		return id, nil, false, fmt.Errorf("%w: %w", session.ErrInvalidCookie, err)
	}
	values, err := s.DecodeObject(object)
	if err != nil {
		return id, nil, false, fmt.Errorf("%w: %w", session.ErrInvalidCookie, err)
	}
	rec := &session.Record{Values: values, Created: ts, LastSeen: ts, IdleExpiry: noDeadline, AbsExpiry: noDeadline, Version: 1}
	if s.MaxAge > 0 {
		rec.IdleExpiry = ts.Add(s.MaxAge)
	}
	if raw, ok := values[s.UserKey]; ok {
		// The key stays among the values (as the framework sees it);
		// Seal keeps its form while it names the record's user.
		if rec.UserID = userID(raw); rec.UserID != "" {
			rec.AuthTime = ts
		}
	}
	return id, rec, false, nil
}
