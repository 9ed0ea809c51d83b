package redisstore

import "github.com/sessionkit/session"

// KeyOf exposes the key of a session's hash to the tests of this package.
func (s *Store) KeyOf(d session.Digest) string { return s.key(d) }

// UserKeyOf exposes the key of a user's index to the tests of this package.
func (s *Store) UserKeyOf(userID string) string { return s.userKey(userID) }
