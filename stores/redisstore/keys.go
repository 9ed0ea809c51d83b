package redisstore

import (
	"encoding/hex"

	"github.com/sessionkit/session"
)

// key returns the key of the session's hash: prefix, hash tag (the
// digest's first byte in hex), digest in hex.
func (s *Store) key(d session.Digest) string {
	b := make([]byte, 0, 128)
	b = append(b, s.prefix...)
	b = append(b, '{')
	b = hex.AppendEncode(b, d[:1])
	b = append(b, "}:"...)
	b = hex.AppendEncode(b, d[:])
	return string(b)
}

// keys returns the session's key and the expiry shard of its hash slot.
func (s *Store) keys(d session.Digest) (key, shard string) {
	key = s.key(d)
	return key, key[:len(s.prefix)+len("{00}:")] + "exp"
}

func (s *Store) userKey(userID string) string { return s.prefix + "u:" + userID }

// member is a session's entry in its expiry shard: the digest, then the
// user id.
func member(d session.Digest, userID string) string { return string(d[:]) + userID }
