package memcachedstore

import "time"

// SetPruneGrace sets pruneGrace for a test and returns the function that
// restores it.
func SetPruneGrace(d time.Duration) (restore func()) {
	old := pruneGrace
	pruneGrace = d
	return func() { pruneGrace = old }
}

// UserKey is the key of userID's index.
func (s *Store) UserKey(userID string) string { return s.userKey(userID) }
