package redisstore

import (
	"encoding/hex"

	"github.com/sessionkit/session"
)

// key returns the key of the session's hash: prefix, hash tag (the
// digest's first byte in hex), the digest's 32 raw bytes (half the memory
// of hex; a brace in them is harmless, as Redis takes the hash tag from
// the first "{" and the first "}" after it, which the tag itself holds).
func (s *Store) key(d session.Digest) string {
	b := make([]byte, 0, len(s.prefix)+len("{00}:")+len(d))
	b = append(b, s.prefix...)
	b = append(b, '{')
	b = hex.AppendEncode(b, d[:1])
	b = append(b, "}:"...)
	b = append(b, d[:]...)
	return string(b)
}

// keys returns the session's key and the expiry shard of its hash slot.
func (s *Store) keys(d session.Digest) (key, shard string) {
	key = s.key(d)
	return key, key[:len(s.prefix)+len("{00}:")] + "exp"
}

// userKey returns the key of the user's index, a hash whose fields are the
// digests of the user's sessions (32 raw bytes) with empty values: a hash
// rather than a set, because Redis before 7.2 keeps sets of strings as hash
// tables (about 85 bytes a member) where a small hash is one listpack
// (34 bytes a member). (Version 0.1 kept a set under "u:<user id>".)
func (s *Store) userKey(userID string) string { return s.prefix + "user:" + userID }

// member is a session's entry in its expiry shard: the digest, then the
// user id.
func member(d session.Digest, userID string) string { return string(d[:]) + userID }
