package memcachedstore

import (
	"time"

	"github.com/sessionkit/session"
)

// SetPruneGrace sets pruneGrace for a test and returns the function that
// restores it.
func SetPruneGrace(d time.Duration) (restore func()) {
	old := pruneGrace
	pruneGrace = d
	return func() { pruneGrace = old }
}

// UserKey is the key of userID's index.
func (s *Store) UserKey(userID string) string { return s.userKey(userID) }

// SetBeforeCAS sets beforeCAS for a test and returns the function that
// restores it. A test using it must not run in parallel with others.
func SetBeforeCAS(f func()) (restore func()) {
	old := beforeCAS
	beforeCAS = f
	return func() { beforeCAS = old }
}

// SessionKey is the key of the session of d.
func (s *Store) SessionKey(d session.Digest) string { return s.sessionKey(d) }
