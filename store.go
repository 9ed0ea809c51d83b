package session

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"
)

// Errors returned by stores. Stores wrap them with context; callers test with
// errors.Is.
var (
	// ErrNotFound reports that no record exists under a digest: it never
	// existed, was deleted, was revoked, or expired and was removed.
	ErrNotFound = errors.New("session: record not found")
	// ErrExists reports that Create found a record under the digest already.
	ErrExists = errors.New("session: record already exists")
	// ErrCorrupt reports a stored record that cannot be decoded. The manager
	// logs it as a security event, deletes the record and treats the request
	// as anonymous.
	ErrCorrupt = errors.New("session: stored record is corrupt")
	// ErrUnsupported reports that a store lacks an optional capability. The
	// wrapping error names the missing interface.
	ErrUnsupported = errors.New("session: store does not support this operation")
)

// Record is the stored form of one session. All times are UTC with
// millisecond precision, taken from the application's clock: stores never
// consult their own clock to decide whether a record is alive, except to let
// a record vanish after its expiry (a TTL).
type Record struct {
	// Values maps each key to its encoded value (JSON by default).
	Values map[string][]byte
	// UserID is the authenticated user, or empty for an anonymous session.
	UserID string
	// AuthTime is when the user logged in; zero for anonymous sessions.
	AuthTime time.Time
	// Created is when the session was first stored.
	Created time.Time
	// LastSeen is the last activity that was written (refreshes are throttled).
	LastSeen time.Time
	// IdleTimeout overrides the manager's idle timeout for this session when
	// positive ("remember me").
	IdleTimeout time.Duration
	// IdleExpiry is when the session ends unless activity extends it.
	IdleExpiry time.Time
	// AbsExpiry is the absolute deadline; activity never extends it.
	AbsExpiry time.Time
	// ExpireOnClose makes the cookie a browser-session cookie (no Max-Age).
	ExpireOnClose bool
	// Version counts the writes of the record; stores that detect concurrent
	// updates with it increment it on every update.
	Version int64
	// IP and UserAgent describe the client; they may be empty.
	IP        string
	UserAgent string
	// ClaimedUser, when UserID is empty, names the user the session's data
	// belongs to although the store does not take the session as logged in
	// (a Django login of a deactivated or deleted user, through a backend
	// this process does not honour, or read without Django's user table):
	// Manager.Login as any other user drops the session's values, as it
	// does for a session logged in as another user. Stores that know of
	// such logins set it when they load a record from their own data;
	// other stores neither keep nor return it, so a cache layered over
	// such a store (tieredstore) loses it: interop/django's CachedDB is
	// that store's cache. A claim that is not valid UTF-8 matches no user
	// id (Login accepts only UTF-8): stores set such a claim for data no
	// login may keep (a Django login whose password has changed since,
	// which Django's login flushes whoever logs in).
	ClaimedUser string
}

// ExpiresAt returns the earlier of the idle expiry and the absolute deadline.
func (r *Record) ExpiresAt() time.Time {
	if r.AbsExpiry.Before(r.IdleExpiry) {
		return r.AbsExpiry
	}
	return r.IdleExpiry
}

// Alive reports whether the record is live at now: a session is valid while
// now is strictly before both deadlines and expired from the deadline on.
func (r *Record) Alive(now time.Time) bool { return now.Before(r.ExpiresAt()) }

// Clone returns a deep copy of r. Encoded values are shared: they are
// immutable by convention.
func (r *Record) Clone() *Record {
	c := *r
	c.Values = maps.Clone(r.Values)
	if c.Values == nil {
		c.Values = map[string][]byte{}
	}
	return &c
}

// Size returns the number of bytes the keys and values of r occupy.
func (r *Record) Size() int { return valuesSize(r.Values) }

func valuesSize(v map[string][]byte) int {
	n := 0
	for k, b := range v {
		n += len(k) + len(b)
	}
	return n
}

// Change describes one request's modifications of a stored record. Stores
// apply it atomically to the record as it is at the time of the write, so
// concurrent requests that change different keys all survive; when two
// requests change the same key, the last writer wins.
type Change struct {
	// Base is the record as the request loaded it, with the Version it had.
	// A store that versions records can write Base with the change applied
	// in one conditional statement (WHERE version = Base.Version) and fall
	// back to reloading and re-applying the change when the version moved.
	// Its UserID and AbsExpiry are the stored record's (neither changes in
	// a record's life: a login or a new deadline makes a new record), and
	// stores may rely on them without reading them back. It may be nil;
	// stores must not modify it.
	Base *Record
	// Clear removes every key before Set is applied (Session.Clear).
	Clear bool
	// Set holds keys to write with their encoded values.
	Set map[string][]byte
	// Delete lists keys to remove.
	Delete []string
	// LastSeen and IdleExpiry record the activity of this request. Unless
	// SetExpiry is true they only ever move forward: a store keeps the later
	// of the stored and the given time, so a slow request cannot shorten a
	// session that a faster one extended. Both are zero when the request
	// records no activity (a write between two throttled touches): the
	// stored times stay as they are, and a store can skip rewriting them.
	LastSeen   time.Time
	IdleExpiry time.Time
	// SetExpiry replaces IdleTimeout, ExpireOnClose and IdleExpiry exactly
	// (the request changed the session's expiry policy).
	SetExpiry     bool
	IdleTimeout   time.Duration
	ExpireOnClose bool
	// SetClient replaces IP and UserAgent (the client's address or browser
	// changed since they were recorded).
	SetClient bool
	IP        string
	UserAgent string
	// MaxSize, when positive, bounds the size (Record.Size) of the record
	// as merged by the store: if applying the change to the stored record
	// would make it larger than MaxSize (and larger than it was), the store
	// writes nothing and returns an error wrapping ErrTooLarge. Each request checks its own view of the session
	// when a value is set; only the store sees the sum of concurrent
	// requests' changes, so only it can hold the limit.
	MaxSize int
}

// TooLarge reports whether merged, the stored record of beforeSize bytes
// (Record.Size) with c applied, exceeds c.MaxSize while growing, and
// returns the error to return then (wrapping ErrTooLarge). A change that
// shrinks a record already over the limit (the limit was lowered) is
// allowed. Stores that merge in Go call it before writing the merged
// record.
func (c *Change) TooLarge(beforeSize int, merged *Record) error {
	if c.MaxSize <= 0 {
		return nil
	}
	if n := merged.Size(); n > c.MaxSize && n > beforeSize {
		return fmt.Errorf("%w: the merged session would be %d bytes, the limit is %d", ErrTooLarge, n, c.MaxSize)
	}
	return nil
}

// Apply applies c to r in place and increments its version. Stores that keep
// records in memory or as one serialized blob use it to share the merge rules.
func (c *Change) Apply(r *Record) {
	if r.Values == nil {
		r.Values = map[string][]byte{}
	}
	if c.Clear {
		clear(r.Values)
	}
	for _, k := range c.Delete {
		delete(r.Values, k)
	}
	for k, v := range c.Set {
		r.Values[k] = v
	}
	if c.SetExpiry {
		r.IdleTimeout = c.IdleTimeout
		r.ExpireOnClose = c.ExpireOnClose
		r.IdleExpiry = c.IdleExpiry
	} else if c.IdleExpiry.After(r.IdleExpiry) {
		r.IdleExpiry = c.IdleExpiry
	}
	if c.LastSeen.After(r.LastSeen) {
		r.LastSeen = c.LastSeen
	}
	if c.SetClient {
		r.IP, r.UserAgent = c.IP, c.UserAgent
	}
	r.Version++
}

// Store persists sessions by token digest. Every method takes a context and
// must honour its cancellation. Implementations must be safe for concurrent
// use; the conformance suite in package sessiontest checks the contract.
type Store interface {
	// Load returns the record stored under d, or an error wrapping
	// ErrNotFound. It may return a record that has expired; the manager
	// checks deadlines itself. It must never create a record.
	Load(ctx context.Context, d Digest) (*Record, error)
	// Create stores rec under d only if no record exists there (insert if
	// absent); otherwise it returns an error wrapping ErrExists.
	Create(ctx context.Context, d Digest, rec *Record) error
	// Update applies c atomically to the record under d. If the record no
	// longer exists it returns an error wrapping ErrNotFound and writes
	// nothing: a deleted session is never recreated by a late write.
	Update(ctx context.Context, d Digest, c *Change) error
	// Delete removes the record under d and reports whether one existed.
	// Deleting an absent record is not an error.
	Delete(ctx context.Context, d Digest) (bool, error)
}

// Toucher is the capability to extend a session's expiry without rewriting
// its data: the throttled sliding refresh of a read-only request.
type Toucher interface {
	// Touch moves LastSeen and IdleExpiry forward (never backward) for the
	// record under d, or returns an error wrapping ErrNotFound.
	Touch(ctx context.Context, d Digest, lastSeen, idleExpiry time.Time) error
}

// Renewer is the capability to replace a record's key atomically.
type Renewer interface {
	// Renew deletes the record under old and stores rec under new in one
	// atomic step. If old no longer exists it returns an error wrapping
	// ErrNotFound and creates nothing, so of two concurrent renewals of one
	// session exactly one succeeds. If new exists it returns ErrExists.
	Renew(ctx context.Context, old, new Digest, rec *Record) error
}

// UserIndex is the capability to find and revoke a user's sessions through
// an index, without scanning every session.
type UserIndex interface {
	// ListByUser returns the user's sessions that are alive at now.
	ListByUser(ctx context.Context, userID string, now time.Time) ([]Entry, error)
	// DeleteByUser deletes every session of the user except the one under
	// keep (the zero Digest keeps none) and returns how many records it
	// removed. It must be atomic with respect to Renew: a session renewed
	// concurrently is deleted under its old or its new digest, never
	// missed because it moved between finding and deleting it (the
	// revocation guarantee of RevokeUser and RevokeOtherSessions rests on
	// it).
	DeleteByUser(ctx context.Context, userID string, keep Digest) (int, error)
}

// LineageDeleter is the capability to delete one session together with
// every renewed continuation of it, found through the user index: Renew
// keeps a record's Created time and user, so a session and its renewals
// share them. The manager uses it when a logout or a revocation of one
// session finds the session already moved by a concurrent renewal.
type LineageDeleter interface {
	// DeleteLineage deletes the user's sessions created at created and
	// returns how many it removed. Like UserIndex.DeleteByUser it must not
	// miss a session that a concurrent Renew moves meanwhile. Another
	// session of the same user created in the same millisecond goes too.
	DeleteLineage(ctx context.Context, userID string, created time.Time) (int, error)
}

// Entry is one session found through an index.
type Entry struct {
	Digest Digest
	Record *Record
}

// Counter is the capability to count live sessions cheaply.
type Counter interface {
	// CountActive returns the number of sessions alive at now.
	CountActive(ctx context.Context, now time.Time) (int64, error)
}

// ExpiredDeleter is the capability to remove expired sessions in batches.
type ExpiredDeleter interface {
	// DeleteExpired removes at most limit records whose expiry is at or
	// before now and returns how many it removed. Callers loop until it
	// returns fewer than limit; several processes may run it at once.
	DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error)
}

// Unwrapper is implemented by a value that carries a store without being
// it, such as the stores storeurl opens, which have every method so that
// tools can call them: New builds the manager on the store Unwrap returns
// (repeatedly, through up to 8 carriers), so the manager has exactly that
// store's optional capabilities. The manager never calls the carrier's
// own methods, and Manager.Store returns the store inside. A wrapper that
// adds behaviour (metrics, encryption) must therefore not implement it.
type Unwrapper interface {
	Unwrap() Store
}

// FullStore is a Store with every optional capability, as each server-side
// store in this repository is. The manager never requires it; a store states
// (and the compiler checks) that it is complete with
//
//	var _ session.FullStore = (*Store)(nil)
type FullStore interface {
	Store
	Toucher
	Renewer
	UserIndex
	LineageDeleter
	Counter
	ExpiredDeleter
}
