package django

import (
	"fmt"
	"io"

	"github.com/sessionkit/session"
)

// keyAlphabet is the alphabet of Django's session keys
// (get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")).
const keyAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// KeyLength is the length of a session key Django issues.
const KeyLength = 32

// Keys is the session.TokenScheme of Django session keys: 32 characters of
// [a-z0-9] (about 165 random bits), drawn from crypto/rand without bias, and
// stored as they are in django_session.session_key, as Django does. The
// store key (session.Digest) holds the key's 32 bytes. A key of another
// form (Django reads any of 8 to 40 characters, but issues only these) is
// refused before any store is consulted.
//
// Because the store key is the token itself, Session.Handle on such a
// session would reveal the key; the Django stores keep no per-user index,
// so no device list shows handles.
type Keys struct{}

// NewToken draws a Django session key.
func (Keys) NewToken(random io.Reader) (string, session.Digest, error) {
	var d session.Digest
	var buf [64]byte
	n := 0
	for n < KeyLength {
		if _, err := io.ReadFull(random, buf[:]); err != nil {
			return "", d, fmt.Errorf("django: generating a session key: %w", err)
		}
		for _, b := range buf {
			// 252 = 7*36: bytes at or above it would favour some letters.
			if b >= 252 || n == KeyLength {
				continue
			}
			d[n] = keyAlphabet[b%36]
			n++
		}
	}
	return string(d[:]), d, nil
}

// Key accepts exactly the keys NewToken (and Django) issue.
func (Keys) Key(token string) (session.Digest, bool) {
	var d session.Digest
	if len(token) != KeyLength {
		return d, false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return session.Digest{}, false
		}
		d[i] = c
	}
	return d, true
}

var _ session.TokenScheme = Keys{}
