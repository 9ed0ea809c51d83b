package django

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// legacySessionSalt is the key salt of the pre-3.1 session format's digest
// (Django 3.2's SessionBase._hash): "django.contrib.sessions" and the
// store's class name, without the dot of the signing salt (SessionSalt).
// Django takes the class's __name__ there and its __qualname__ in the
// signing salt: they differ for a class nested in another, whose legacy
// data this does not read.
func legacySessionSalt(storeClass string) string { return "django.contrib.sessions" + storeClass }

// decodePre31 verifies data in Django's pre-3.1 session format and returns
// its JSON, as Django 3.2's SessionBase._legacy_decode does: standard
// base64 of the lowercase hex HMAC-SHA1 of the JSON, ":" and the JSON, the
// HMAC keyed with SHA-1(keySalt + secret) (salted_hmac). A site in
// DEFAULT_HASHING_ALGORITHM = "sha1" writes it. Every secret is tried, in
// constant time; the JSON is bounded by MaxPayload. Whether it is JSON at
// all (not a pickle) is for the caller to find out.
func (s *Signer) decodePre31(data, keySalt string) ([]byte, error) {
	if base64.StdEncoding.DecodedLen(len(data)) > 41+s.maxPayload() {
		return nil, ErrTooLarge
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("%w: the pre-3.1 session format: not base64", ErrBadSignature)
	}
	digest, payload, found := bytes.Cut(raw, []byte(":"))
	if !found || len(digest) != 2*sha1.Size {
		return nil, fmt.Errorf("%w: the pre-3.1 session format: no digest", ErrBadSignature)
	}
	ok := 0
	for _, secret := range append([]string{s.Secret}, s.Fallbacks...) {
		k := sha1.Sum([]byte(keySalt + secret))
		mac := hmac.New(sha1.New, k[:])
		mac.Write(payload)
		ok |= subtle.ConstantTimeCompare(digest, []byte(hex.EncodeToString(mac.Sum(nil))))
	}
	if ok != 1 {
		return nil, ErrBadSignature
	}
	return payload, nil // bounded by the length checked first
}
