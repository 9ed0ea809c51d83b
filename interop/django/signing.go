package django

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"
)

// DefaultMaxPayload bounds the size of a decoded payload (after
// decompression) unless Signer.MaxPayload says otherwise: Django itself
// has no bound, so a small compressed value could inflate to gigabytes.
const DefaultMaxPayload = 1 << 20

// Signer signs and verifies values as django.core.signing does
// (TimestampSigner over an optionally compressed, base64url payload):
// "<payload>:<base62 timestamp>:<signature>", the signature an HMAC whose
// key is the hash of salt + "signer" + secret.
type Signer struct {
	// Secret is Django's SECRET_KEY, used to sign and to verify.
	Secret string
	// Fallbacks are older secrets accepted when verifying
	// (SECRET_KEY_FALLBACKS, Django 4.1 and later).
	Fallbacks []string
	// Salt is the signing salt: for sessions "django.contrib.sessions." and
	// the session store's class name (SessionSalt).
	Salt string
	// AcceptSHA1 also accepts SHA-1 signatures when verifying, as Django
	// 3.1 and 3.2 do for data signed before their switch to SHA-256.
	AcceptSHA1 bool
	// MaxPayload bounds the decoded payload; 0 means DefaultMaxPayload.
	MaxPayload int
}

// SessionSalt returns the salt Django signs session data with when its
// session store class is named storeClass (Django: "django.contrib.sessions."
// + type(store).__qualname__; every store Django ships is "SessionStore", but
// a subclass under another name changes it).
func SessionSalt(storeClass string) string { return "django.contrib.sessions." + storeClass }

// Errors of verification and decoding. Every error of Unsign wraps
// ErrBadSignature or one of the more specific errors below.
var (
	// ErrBadSignature: the value is malformed or its signature does not
	// verify under any secret.
	ErrBadSignature = errors.New("django: bad signature")
	// ErrExpired: the signature verifies but the timestamp is older than
	// the maximum age.
	ErrExpired = errors.New("django: signature expired")
	// ErrTooLarge: the payload inflates beyond the configured bound.
	ErrTooLarge = errors.New("django: payload too large")
	// ErrLegacyFormat: the data is in a format Django 3.1 and 3.2 still
	// read and this signer is not set to accept: signed with SHA-1 (set
	// AcceptSHA1, or let Django re-save it with SHA-256), or the pre-3.1
	// session format (base64 of a SHA-1 hex digest, ":" and the JSON),
	// which a Signer never accepts (it is no signing.dumps value) and the
	// stores of session data (Store, CachedDB, NewRedisSessionsStore) read
	// with AcceptSHA1 (accept_sha1=1 in a store URL). It wraps
	// ErrBadSignature.
	ErrLegacyFormat = fmt.Errorf("%w: legacy Django format", ErrBadSignature)
)

func (s *Signer) maxPayload() int {
	if s.MaxPayload > 0 {
		return s.MaxPayload
	}
	return DefaultMaxPayload
}

// signature returns the base64url HMAC of value under secret with h.
func (s *Signer) signature(h func() hash.Hash, secret, value string) string {
	k := h()
	k.Write([]byte(s.Salt + "signer" + secret))
	mac := hmac.New(h, k.Sum(nil))
	mac.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// Sign returns data signed with a timestamp of now, as signing.dumps does
// after serializing: compressed with zlib first when compress is set and
// that saves at least two bytes (the payload then starts with ".").
func (s *Signer) Sign(data []byte, compress bool, now time.Time) string {
	flag := ""
	if compress {
		var b bytes.Buffer
		w := zlib.NewWriter(&b)
		w.Write(data)
		w.Close()
		if b.Len() < len(data)-1 {
			data, flag = b.Bytes(), "."
		}
	}
	value := flag + base64.RawURLEncoding.EncodeToString(data) + ":" + encodeBase62(now.Unix())
	return value + ":" + s.signature(sha256.New, s.Secret, value)
}

// Unsign verifies signed and returns its payload, inflated when it was
// compressed. The signature is checked, in constant time against every
// secret, before anything else is decoded. maxAge > 0 rejects values
// signed longer ago than that (Django has no check for a timestamp in the
// future, and neither has this).
func (s *Signer) Unsign(signed string, maxAge time.Duration, now time.Time) ([]byte, error) {
	data, _, err := s.UnsignTime(signed, maxAge, now)
	return data, err
}

// UnsignTime is Unsign that also returns when the value was signed.
func (s *Signer) UnsignTime(signed string, maxAge time.Duration, now time.Time) ([]byte, time.Time, error) {
	data, ts, err := s.unsign(signed, maxAge, now)
	return data, time.Unix(ts, 0).UTC(), err
}

func (s *Signer) unsign(signed string, maxAge time.Duration, now time.Time) ([]byte, int64, error) {
	i := strings.LastIndexByte(signed, ':')
	if i < 0 {
		if isPre31(signed) {
			return nil, 0, fmt.Errorf("%w: the pre-3.1 session format (DEFAULT_HASHING_ALGORITHM = 'sha1' writes it; AcceptSHA1, accept_sha1=1 in a store URL, reads it)", ErrLegacyFormat)
		}
		return nil, 0, fmt.Errorf("%w: no separator", ErrBadSignature)
	}
	value, sig := signed[:i], signed[i+1:]
	if !s.verify(value, sig) {
		if !s.AcceptSHA1 && len(sig) == sha1SigLen {
			sha1Signer := *s
			sha1Signer.AcceptSHA1 = true
			if sha1Signer.verify(value, sig) {
				return nil, 0, fmt.Errorf("%w: signed with SHA-1 (set AcceptSHA1 to read it)", ErrLegacyFormat)
			}
		}
		return nil, 0, ErrBadSignature
	}
	j := strings.LastIndexByte(value, ':')
	if j < 0 {
		return nil, 0, fmt.Errorf("%w: no timestamp", ErrBadSignature)
	}
	payload, stamp := value[:j], value[j+1:]
	ts, ok := decodeBase62(stamp)
	if !ok {
		return nil, 0, fmt.Errorf("%w: invalid timestamp", ErrBadSignature)
	}
	if maxAge > 0 && now.Unix()-ts > int64(maxAge/time.Second) {
		return nil, ts, ErrExpired
	}
	compressed := strings.HasPrefix(payload, ".")
	if compressed {
		payload = payload[1:]
	}
	data, err := base64.RawURLEncoding.Strict().DecodeString(payload)
	if err != nil {
		return nil, ts, fmt.Errorf("%w: payload is not base64url", ErrBadSignature)
	}
	if !compressed {
		if len(data) > s.maxPayload() {
			return nil, ts, ErrTooLarge
		}
		return data, ts, nil
	}
	data, err = inflate(data, s.maxPayload())
	return data, ts, err
}

// sha1SigLen is the length of a base64url SHA-1 signature.
const sha1SigLen = 27

// isPre31 reports whether data looks like Django's pre-3.1 session
// format: standard base64 of 40 lowercase hex digits, ":" and the payload.
// Only the format is looked at, never the payload, which is refused
// whatever it holds.
func isPre31(data string) bool {
	head := data[:min(len(data), 60)] // 60 base64 characters hold 45 bytes
	head = head[:len(head)/4*4]
	raw, err := base64.StdEncoding.DecodeString(head)
	if err != nil || len(raw) < 41 || raw[40] != ':' {
		return false
	}
	for _, c := range raw[:40] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// verify compares sig with the signature of value under each secret.
func (s *Signer) verify(value, sig string) bool {
	ok := 0
	for _, secret := range append([]string{s.Secret}, s.Fallbacks...) {
		ok |= subtle.ConstantTimeCompare([]byte(sig), []byte(s.signature(sha256.New, secret, value)))
		if s.AcceptSHA1 {
			ok |= subtle.ConstantTimeCompare([]byte(sig), []byte(s.signature(sha1.New, secret, value)))
		}
	}
	return ok == 1
}

// inflate decompresses zlib data, refusing output beyond limit bytes.
func inflate(data []byte, limit int) ([]byte, error) {
	r, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: invalid compressed payload: %v", ErrBadSignature, err)
	}
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: invalid compressed payload: %v", ErrBadSignature, err)
	}
	if len(out) > limit {
		return nil, ErrTooLarge
	}
	return out, nil
}

const base62Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// encodeBase62 writes n in Django's base62 (digits, then upper, then lower
// case letters), as django.utils.baseconv.base62 does for timestamps.
func encodeBase62(n int64) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b []byte
	for n > 0 {
		b = append(b, base62Digits[n%62])
		n /= 62
	}
	if neg {
		b = append(b, '-')
	}
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// decodeBase62 parses Django's base62; it refuses empty, signed and
// overlong input (ten digits already reach the year 10^10).
func decodeBase62(s string) (int64, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(base62Digits, s[i])
		if d < 0 {
			return 0, false
		}
		n = n*62 + int64(d)
	}
	return n, n >= 0
}
