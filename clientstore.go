package session

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors of client-side (cookie) stores.
var (
	// ErrInvalidCookie is the single error for a session cookie that does
	// not open: tampered, truncated, renamed, sealed with an unknown key or
	// in an unknown format. Every cause gives the same error and the same
	// anonymous outcome, so failures are no oracle.
	ErrInvalidCookie = errors.New("session: invalid session cookie")
	// ErrRevoked reports a client-side session that the revocation hook
	// rejected (logged out, or all of its user's sessions revoked).
	ErrRevoked = errors.New("session: session revoked")
	// ErrCookieTooLarge reports a session whose sealed cookie would exceed
	// 4096 bytes (name plus value), the size browsers keep. It is returned
	// at commit, never as a silently dropped cookie.
	ErrCookieTooLarge = errors.New("session: session cookie too large")
)

// MaxCookieSize is the largest cookie (name plus value) browsers must keep.
const MaxCookieSize = 4096

// ClientStore keeps whole sessions on the client, sealed in the cookie (see
// package cookiestore). Build its Manager with NewClientSide.
type ClientStore interface {
	// Seal encrypts and authenticates the session id and record for the
	// cookie called name.
	Seal(ctx context.Context, name string, id Digest, rec *Record) (string, error)
	// Open verifies and decrypts a cookie value sealed for name. Anything
	// tampered gives ErrInvalidCookie; a session past a deadline at now, or
	// revoked, gives an error wrapping ErrInvalidCookie or ErrRevoked. reseal
	// reports a cookie sealed with an old key, which the manager re-seals
	// with the current key at commit. Other errors (a revocation store that
	// cannot be reached) fail the request.
	Open(ctx context.Context, name, value string, now time.Time) (id Digest, rec *Record, reseal bool, err error)
}

// ClientRevoker is the optional server-side revocation hook of a
// ClientStore: without it, a copied cookie stays valid until its deadline,
// whatever the user does.
type ClientRevoker interface {
	// RevokeSession rejects the session id from now until until.
	RevokeSession(ctx context.Context, id Digest, until time.Time) error
	// RevokeUser rejects every session of the user authenticated before at.
	RevokeUser(ctx context.Context, userID string, at time.Time) error
}

// ClientLineageRevoker is the optional capability of a ClientRevoker to
// reject a logged-in session together with its renewed continuations:
// every session of the user created at created (a renewal keeps both).
// Destroy uses it for logged-in sessions, so that a renewal racing a
// logout cannot hand out a cookie that outlives it. The manager gives
// client-side sessions creation times to the nanosecond (cookiestore keeps
// them; a hook that keeps less rejects every session of the user created
// in the same unit).
type ClientLineageRevoker interface {
	RevokeLineage(ctx context.Context, userID string, created time.Time) error
}

// ClientOthersRevoker is the optional capability of a ClientRevoker to end
// every session of a user but one ("log out other devices"):
// Manager.RevokeOtherSessions uses it on a client-side manager, which
// without it answers ErrUnsupported.
type ClientOthersRevoker interface {
	// RevokeUserExcept rejects every session of the user authenticated
	// before at, as RevokeUser does, except those created at keep: the
	// session the call is made from and its renewals (the manager gives
	// client-side sessions creation times to the nanosecond; a hook that
	// keeps less keeps every session of the user created in the same
	// unit). They are spared by this revocation only: any other of the
	// user's, earlier or later, covers them as usual.
	RevokeUserExcept(ctx context.Context, userID string, at, keep time.Time) error
}

// ClientRevocationLifetime is implemented by a ClientRevoker whose
// revocations of a user's sessions (RevokeUser, and the logouts of
// ClientLineageRevoker) last a fixed time after they are made, as
// cookiestore's do. NewClientSide refuses a manager whose sessions can
// live longer (WithMaxLifetime, or else the absolute timeout): a cookie
// revoked by such a marker would become valid again once it expired.
// Zero means the revocations do not expire (or there are none).
type ClientRevocationLifetime interface {
	RevocationLifetime() time.Duration
}

// NewClientSide returns a Manager whose sessions live in the cookie, sealed
// by cs. The options are those of New; the cookie must stay within 4096
// bytes, so keep such sessions small. Concurrent requests each send back a
// whole cookie, so the last response wins (no per-key merge), and capabilities
// that need server state (listing a user's sessions, counting, cleanup) are
// unsupported; RevokeUser and Destroy take effect on copies of the cookie
// only when cs implements ClientRevoker.
func NewClientSide(cs ClientStore, opts ...Option) (*Manager, error) {
	if cs == nil {
		return nil, fmt.Errorf("%w: client store is nil", ErrConfig)
	}
	m, err := New(noServerStore{}, opts...)
	if err != nil {
		return nil, err
	}
	if m.anon != nil {
		return nil, fmt.Errorf("%w: WithAnonymousInCookie is for server-side managers; a client-side one keeps every session in the cookie", ErrConfig)
	}
	if m.headerToken {
		return nil, fmt.Errorf("%w: WithHeaderToken is for server-side managers; a client-side one keeps every session in the cookie", ErrConfig)
	}
	if rl, ok := cs.(ClientRevocationLifetime); ok {
		if d := rl.RevocationLifetime(); d > 0 && d < m.maxLifetime {
			return nil, fmt.Errorf("%w: the revocation hook keeps revocations for %v, but sessions can live %v (WithMaxLifetime, or the absolute timeout): a revoked cookie would become valid again; give the hook at least that lifetime", ErrConfig, d, m.maxLifetime)
		}
	}
	m.client = cs
	m.revoker, _ = cs.(ClientRevoker)
	return m, nil
}

// noServerStore stands in for the Store of a client-side manager, so that
// server-only operations fail with ErrUnsupported instead of crashing.
type noServerStore struct{}

var errNoServer = fmt.Errorf("%w: sessions are kept in the cookie (client-side store)", ErrUnsupported)

func (noServerStore) Load(context.Context, Digest) (*Record, error) { return nil, errNoServer }
func (noServerStore) Create(context.Context, Digest, *Record) error { return errNoServer }
func (noServerStore) Update(context.Context, Digest, *Change) error { return errNoServer }
func (noServerStore) Delete(context.Context, Digest) (bool, error)  { return false, errNoServer }
