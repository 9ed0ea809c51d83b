// Package cookiestore keeps whole sessions in the cookie, encrypted and
// authenticated with AES-256-GCM (standard library only). Use it with
// session.NewClientSide.
//
// A cookie value is base64url(version | key id | nonce | ciphertext+tag).
// The nonce is 12 random bytes per seal; the associated data binds the
// cookie name and the format version, so a cookie renamed or replayed under
// another name does not open. The payload (binary, length-prefixed; see
// payload.go) carries the session id, values, user, times and both
// deadlines, which Open enforces. Values travel as the manager's codec
// encoded them (JSON by default). Cookies of the previous format (JSON
// payload, version 1) still open and are re-sealed in the current one.
// The creation time is kept to the nanosecond (it names the session's
// lineage in the revocation markers); releases before that refuse such a
// cookie, so during a rolling upgrade a client served by an older instance
// starts a new session there, and they do not read the "log out other
// devices" markers of the new ones (which name lineages to the
// nanosecond): finish the rollout before relying on those.
//
// Keys: an ordered ring. The first key seals; every key opens; a cookie
// opened with an older key is re-sealed with the first one at the next
// response. Keys shorter than 32 bytes or all zero are refused. Each key's
// id is the first 4 bytes of a hash of it.
//
// Logout and revocation: without a revocation hook, a copied cookie stays
// valid until its idle or absolute deadline, whatever the user does; logout
// only clears the browser's copy. With WithRevocations, logout and renewal
// record the session id server-side and RevokeUser records a per-user "not
// before" time, both checked on every Open (one or two reads of the
// revocation store per request); RevokeOtherSessions records one that
// spares the lineage of the session it is called from.
//
// Size: browsers keep cookies up to 4096 bytes (name plus value). The
// manager refuses to commit a larger one with session.ErrCookieTooLarge
// instead of letting the browser drop it silently.
package cookiestore

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/sessionkit/session"
)

// formatVersion is the first byte of every cookie this package seals: 2,
// the binary payload of payload.go. Open also accepts version 1 (JSON,
// payload_v1.go) and has such cookies re-sealed.
const (
	formatVersion   byte = 2
	formatVersionV1 byte = 1
)

const (
	idLen    = 4
	nonceLen = 12
	overhead = 1 + idLen + nonceLen + 16 // version, key id, nonce, tag
)

type key struct {
	id   [idLen]byte
	aead cipher.AEAD
}

// Store seals sessions into cookies. It implements session.ClientStore, and
// session.ClientRevoker when built with WithRevocations.
type Store struct {
	keys        []key
	revocations *Revocations
	lastAAD     atomic.Pointer[[]byte] // aad of the cookie name last used
}

// Option configures a Store.
type Option func(*Store)

// WithRevocations adds the server-side revocation hook.
func WithRevocations(r *Revocations) Option { return func(s *Store) { s.revocations = r } }

// New returns a store with the key ring keys: keys[0] seals, all open.
func New(keys [][]byte, opts ...Option) (*Store, error) {
	if len(keys) == 0 {
		return nil, errors.New("cookiestore: at least one key is required")
	}
	s := &Store{}
	seen := map[[idLen]byte]bool{}
	for i, k := range keys {
		if len(k) < 32 {
			return nil, fmt.Errorf("cookiestore: key %d has %d bytes; at least 32 random bytes are required", i, len(k))
		}
		if bytes.Count(k, []byte{0}) == len(k) {
			return nil, fmt.Errorf("cookiestore: key %d is all zero", i)
		}
		// The AES key is derived from the configured key, so keys longer
		// than 32 bytes use all their bytes.
		aesKey := sha256.Sum256(append([]byte("sessionkit cookiestore v1 aes-256-gcm\x00"), k...))
		block, err := aes.NewCipher(aesKey[:])
		if err != nil {
			return nil, fmt.Errorf("cookiestore: key %d: %w", i, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("cookiestore: key %d: %w", i, err)
		}
		idSum := sha256.Sum256(append([]byte("sessionkit cookiestore v1 key id\x00"), k...))
		var id [idLen]byte
		copy(id[:], idSum[:])
		if seen[id] {
			return nil, fmt.Errorf("cookiestore: key %d repeats an earlier key", i)
		}
		seen[id] = true
		s.keys = append(s.keys, key{id: id, aead: aead})
	}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// aad returns the associated data binding a cookie to its name and the
// format version. The manager always passes the same name, so the last
// one of the current version is kept rather than rebuilt for every request.
func (s *Store) aad(name string, version byte) []byte {
	if version != formatVersion {
		return append([]byte(name+"\x00"), version)
	}
	if p := s.lastAAD.Load(); p != nil && len(*p) == len(name)+2 && string((*p)[:len(name)]) == name {
		return *p
	}
	a := append([]byte(name+"\x00"), formatVersion)
	s.lastAAD.Store(&a)
	return a
}

// Seal encrypts the session for the cookie called name. It does not fail.
func (s *Store) Seal(_ context.Context, name string, id session.Digest, rec *session.Record) (string, error) {
	const header = 1 + idLen + nonceLen
	k := s.keys[0]
	// The payload is written after the header and sealed in place.
	buf := make([]byte, header, header+payloadSize(rec)+k.aead.Overhead())
	buf[0] = formatVersion
	copy(buf[1:], k.id[:])
	nonce := buf[1+idLen : header]
	rand.Read(nonce) // crypto/rand never fails (Go 1.24+)
	buf = encodePayload(buf, id, rec)
	out := k.aead.Seal(buf[:header], nonce, buf[header:], s.aad(name, formatVersion))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// Open verifies, decrypts and checks the deadlines of a cookie value.
func (s *Store) Open(ctx context.Context, name, value string, now time.Time) (session.Digest, *session.Record, bool, error) {
	var id session.Digest
	raw, err := base64.RawURLEncoding.Strict().DecodeString(value)
	if err != nil || len(raw) < overhead || (raw[0] != formatVersion && raw[0] != formatVersionV1) {
		return id, nil, false, session.ErrInvalidCookie
	}
	version := raw[0]
	var kid [idLen]byte
	copy(kid[:], raw[1:1+idLen])
	nonce := raw[1+idLen : 1+idLen+nonceLen]
	sealed := raw[1+idLen+nonceLen:]
	var plain []byte
	reseal := false
	opened := false
	for i, k := range s.keys {
		if k.id != kid {
			continue
		}
		// GCM checks the tag in constant time; any failure is the same
		// error below.
		// Opened in place: the plaintext overwrites the ciphertext, and
		// the record's values share its memory.
		if p, err := k.aead.Open(sealed[:0], nonce, sealed, s.aad(name, version)); err == nil {
			plain, opened, reseal = p, true, i > 0 || version != formatVersion
		}
		break
	}
	if !opened {
		return id, nil, false, session.ErrInvalidCookie
	}
	var rec *session.Record
	if version == formatVersion {
		rec, err = decodePayload(plain, &id)
	} else {
		rec, err = decodePayloadV1(plain, &id)
	}
	if err != nil {
		return id, nil, false, session.ErrInvalidCookie
	}
	if !rec.Alive(now) {
		return id, nil, false, fmt.Errorf("%w: past its deadline", session.ErrInvalidCookie)
	}
	if s.revocations != nil {
		if err := s.revocations.check(ctx, id, rec); err != nil {
			return id, nil, false, err
		}
	}
	return id, rec, reseal, nil
}

// RevokeSession implements session.ClientRevoker through the revocation
// hook. Without one there is nothing to record and it does nothing: logout
// clears the browser's cookie, and copies stay valid until their deadline
// (see the package documentation).
func (s *Store) RevokeSession(ctx context.Context, id session.Digest, until time.Time) error {
	if s.revocations == nil {
		return nil
	}
	return s.revocations.revokeSession(ctx, id, until)
}

// RevokeUser implements session.ClientRevoker through the revocation hook;
// without one it returns an error wrapping session.ErrUnsupported, since a
// user's cookies cannot be revoked.
func (s *Store) RevokeUser(ctx context.Context, userID string, at time.Time) error {
	if s.revocations == nil {
		return fmt.Errorf("%w: cookiestore has no revocation hook", session.ErrUnsupported)
	}
	return s.revocations.revokeUser(ctx, userID, at)
}

// RevokeUserExcept implements session.ClientOthersRevoker through the
// revocation hook (Manager.RevokeOtherSessions); without one it returns an
// error wrapping session.ErrUnsupported, as RevokeUser does.
func (s *Store) RevokeUserExcept(ctx context.Context, userID string, at, keep time.Time) error {
	if s.revocations == nil {
		return fmt.Errorf("%w: cookiestore has no revocation hook", session.ErrUnsupported)
	}
	return s.revocations.revokeUserExcept(ctx, userID, at, keep)
}

// RevokeLineage implements session.ClientLineageRevoker through the
// revocation hook: the user's cookies created at created (a session and
// its renewals) are rejected from now on. Without a hook, like
// RevokeSession, it does nothing: logout only clears the browser's cookie.
func (s *Store) RevokeLineage(ctx context.Context, userID string, created time.Time) error {
	if s.revocations == nil {
		return nil
	}
	return s.revocations.revokeLineage(ctx, userID, created)
}

// RevocationLifetime implements session.ClientRevocationLifetime: how
// long the revocation hook keeps a user's revocations (the maxLifetime
// given to NewRevocations), or 0 without a hook. NewClientSide refuses a
// manager whose sessions can outlive it.
func (s *Store) RevocationLifetime() time.Duration {
	if s.revocations == nil {
		return 0
	}
	return s.revocations.lifetime
}

var (
	_ session.ClientOthersRevoker      = (*Store)(nil)
	_ session.ClientRevocationLifetime = (*Store)(nil)
	_ session.ClientStore              = (*Store)(nil)
	_ session.ClientRevoker            = (*Store)(nil)
	_ session.ClientLineageRevoker     = (*Store)(nil)
)
