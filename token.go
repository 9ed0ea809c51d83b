package session

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
)

// TokenBytes is the number of random bytes in a session token (256 bits).
const TokenBytes = 32

// TokenLength is the length of an encoded token: base64url without padding.
const TokenLength = 43

// Digest is the SHA-256 digest of a session token. Stores are keyed by the
// digest and never see the token itself, so a leaked store dump cannot be
// replayed as cookies.
type Digest [sha256.Size]byte

// String returns the digest in lowercase hexadecimal, the form stores use as
// a key.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// ParseDigest parses the hexadecimal form returned by [Digest.String].
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) != 2*len(d) {
		return d, fmt.Errorf("session: digest must be %d hex characters, got %d", 2*len(d), len(s))
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return Digest{}, fmt.Errorf("session: invalid digest: %w", err)
	}
	return d, nil
}

// Handle returns an opaque identifier of the session, suitable for showing in
// "your devices" lists and for revoking one session. It is derived from the
// digest only and cannot be turned back into the token.
func (d Digest) Handle() string { return d.String() }

// newToken returns a fresh token read from r (crypto/rand in production).
func newToken(r io.Reader) (string, Digest, error) {
	var raw [TokenBytes]byte
	if _, err := io.ReadFull(r, raw[:]); err != nil {
		return "", Digest{}, fmt.Errorf("session: generating token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(raw[:]), sha256.Sum256(raw[:]), nil
}

// base64url marks the bytes of the base64url alphabet, which tokens and
// sealed cookies are written in.
var base64url = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
		t[c] = true
	}
	return t
}()

// tokenEncoding decodes tokens: unpadded base64url that rejects non-zero
// trailing bits, so each token has exactly one spelling.
var tokenEncoding = base64.RawURLEncoding.Strict()

// parseToken validates the syntax of a token received from a client and
// returns its digest. Only canonical 43-character base64url strings decoding
// to exactly 32 bytes are accepted; everything else is rejected before any
// store is consulted.
func parseToken(s string) (Digest, bool) {
	if len(s) != TokenLength {
		return Digest{}, false
	}
	for i := 0; i < len(s); i++ {
		if !base64url[s[i]] {
			return Digest{}, false
		}
	}
	var raw [TokenBytes]byte
	n, err := tokenEncoding.Decode(raw[:], []byte(s))
	if err != nil || n != TokenBytes {
		return Digest{}, false
	}
	return sha256.Sum256(raw[:]), true
}

// DigestOf returns the digest of a syntactically valid token. It is meant for
// tools and tests that hold a token (for example from a cookie jar) and need
// to find its record; the boolean is false when the token is malformed.
func DigestOf(token string) (Digest, bool) { return parseToken(token) }

// logHash returns a short keyed hash of a digest for logs and metrics: it
// lets operators correlate events of one session without revealing anything
// that could be replayed or looked up in a store.
func logHash(key []byte, d Digest) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(d[:])
	sum := mac.Sum(nil)
	return hex.EncodeToString(sum[:8])
}

// randomKey returns n bytes from crypto/rand.
func randomKey(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // crypto/rand.Read never returns an error since Go 1.24; it crashes the program instead.
	return b
}
