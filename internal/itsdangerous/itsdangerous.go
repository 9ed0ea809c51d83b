// Package itsdangerous signs and verifies values as Python's itsdangerous
// 2.x does (Signer and TimestampSigner), for the Flask and Starlette
// session formats of package interop/flask and interop/starlette.
package itsdangerous

import (
	"crypto/hmac"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"strings"
	"time"
)

// Errors of verification; every error of Unsign wraps one of them.
var (
	ErrBadSignature = errors.New("itsdangerous: bad signature")
	ErrExpired      = errors.New("itsdangerous: signature expired")
)

// Derivation is how the signing key derives from the secret and the salt.
type Derivation int

const (
	// DjangoConcat: H(salt + "signer" + secret) (itsdangerous' default;
	// Starlette).
	DjangoConcat Derivation = iota
	// HMAC: HMAC-H(key=secret, msg=salt) (Flask).
	HMAC
)

// Signer is an itsdangerous Signer with separator ".".
type Signer struct {
	keys [][]byte // derived keys, the signing key first
	hash func() hash.Hash
}

// New returns a signer signing with the first secret and accepting any.
func New(secrets []string, salt string, d Derivation, h func() hash.Hash) *Signer {
	s := &Signer{hash: h}
	for _, secret := range secrets {
		var key []byte
		switch d {
		case HMAC:
			m := hmac.New(h, []byte(secret))
			m.Write([]byte(salt))
			key = m.Sum(nil)
		default:
			k := h()
			k.Write([]byte(salt + "signer" + secret))
			key = k.Sum(nil)
		}
		s.keys = append(s.keys, key)
	}
	return s
}

func (s *Signer) mac(key []byte, value string) []byte {
	m := hmac.New(s.hash, key)
	m.Write([]byte(value))
	return m.Sum(nil)
}

// Sign returns value + "." + its signature.
func (s *Signer) Sign(value string) string {
	return value + "." + base64.RawURLEncoding.EncodeToString(s.mac(s.keys[0], value))
}

// Unsign checks the signature after the last "." in constant time against
// every key and returns the value before it.
func (s *Signer) Unsign(signed string) (string, error) {
	i := strings.LastIndexByte(signed, '.')
	if i < 0 {
		return "", ErrBadSignature
	}
	value := signed[:i]
	sig, err := base64.RawURLEncoding.Strict().DecodeString(signed[i+1:])
	if err != nil {
		return "", ErrBadSignature
	}
	ok := 0
	for _, k := range s.keys {
		ok |= subtle.ConstantTimeCompare(sig, s.mac(k, value))
	}
	if ok != 1 {
		return "", ErrBadSignature
	}
	return value, nil
}

// SignTimestamp signs value with the Unix time at (TimestampSigner): the
// time is the big-endian seconds without leading zero bytes, base64url.
func (s *Signer) SignTimestamp(value string, at time.Time) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(at.Unix()))
	i := 0
	for i < 7 && b[i] == 0 {
		i++
	}
	return s.Sign(value + "." + base64.RawURLEncoding.EncodeToString(b[i:]))
}

// UnsignTimestamp verifies a SignTimestamp value and returns the value and
// its time. As itsdangerous does, a value older than maxAge at now, or
// stamped after now, is expired; maxAge <= 0 checks no age.
func (s *Signer) UnsignTimestamp(signed string, maxAge time.Duration, now time.Time) (string, time.Time, error) {
	v, err := s.Unsign(signed)
	if err != nil {
		return "", time.Time{}, err
	}
	i := strings.LastIndexByte(v, '.')
	if i < 0 {
		return "", time.Time{}, ErrBadSignature
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(v[i+1:])
	if err != nil || len(raw) == 0 || len(raw) > 8 {
		return "", time.Time{}, ErrBadSignature
	}
	var b [8]byte
	copy(b[8-len(raw):], raw)
	n := binary.BigEndian.Uint64(b[:])
	if n > 1<<62 {
		return "", time.Time{}, ErrBadSignature
	}
	ts := time.Unix(int64(n), 0)
	if maxAge > 0 {
		age := now.Unix() - ts.Unix()
		if age > int64(maxAge/time.Second) || age < 0 {
			return "", ts, ErrExpired
		}
	}
	return v[:i], ts, nil
}
