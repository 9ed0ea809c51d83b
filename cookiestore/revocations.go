package cookiestore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sessionkit/session"
)

// Revocations is the server-side revocation hook of cookie sessions, kept in
// any session.Store (memory, SQL, Redis): revoked session ids until their
// absolute deadline, and per-user "not before" times. Records are keyed by
// digests in their own namespace, so the store can be shared with other
// sessions.
//
// A user's marker lives until every cookie it revokes has expired: each
// revocation moves its expiry to the revocation time plus the maximum
// lifetime, whatever the order of calls, and its "not before" time never
// moves back (concurrent revocations each add their time as a key of the
// marker, merged by the store, and the check takes the latest). The marker
// also holds the logged-out lineages of the user's sessions (a session and
// its renewals share their creation time), so that a logout covers a
// cookie that a racing renewal sealed; the user's logged-in cookies cost no
// more lookups than before. It lists at most 256 lineages: a logout beyond
// them (a client looping login and logout) records a "not before" time
// instead, which logs the user's other sessions out too. "Log out other
// devices" (Manager.RevokeOtherSessions) records a "not before" time that
// spares one lineage; it spares it from no other revocation. A revocation
// goes once later ones end everything it ends, so a marker holds at most
// three (see superseded), besides the one just added and those added
// concurrently.
//
// Markers of the first format (development builds before 2026-11-30, a
// key "nb", never released) are still read and extended, but keep their
// absolute expiry, the first revocation plus the lifetime: replacing them
// cannot be made atomic on every store, and a replacement racing another
// revocation could lose it. A revocation recorded in one ends with it.
type Revocations struct {
	store    session.Store
	lifetime time.Duration
	clock    func() time.Time
}

// RevocationsOption configures Revocations.
type RevocationsOption func(*Revocations)

// WithRevocationsClock replaces time.Now as the clock that dates the
// markers (their expiry), for tests.
func WithRevocationsClock(now func() time.Time) RevocationsOption {
	return func(r *Revocations) { r.clock = now }
}

// NewRevocations returns a hook on store. maxLifetime is the longest a
// session can live (the manager's WithMaxLifetime, which defaults to its
// absolute timeout, or longer: "remember me" sessions live up to
// WithMaxLifetime, and NewClientSide refuses a hook shorter than that);
// per-user revocations are kept that long after the latest one. The markers are the
// revocations: on a replicated store they must reach the replicas before
// a logout is reported done (on Redis, a redisstore with WithWait and
// WithWaitOnWrites; from a store URL, ?wait=1&wait_writes=1), or a
// failover can make a logged-out cookie valid again.
func NewRevocations(store session.Store, maxLifetime time.Duration, opts ...RevocationsOption) (*Revocations, error) {
	if store == nil || maxLifetime <= 0 {
		return nil, errors.New("cookiestore: revocations need a store and a positive maximum session lifetime")
	}
	r := &Revocations{store: store, lifetime: maxLifetime, clock: time.Now}
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

func (r *Revocations) now() time.Time { return r.clock().UTC().Truncate(time.Millisecond) }

// markerForever is the absolute expiry of a user's marker: its idle expiry,
// which each revocation moves forward, decides when it goes.
const markerForever = 100 * 365 * 24 * time.Hour

func sessionKey(id session.Digest) session.Digest {
	return sha256.Sum256(append([]byte("sessionkit cookiestore revoked session\x00"), id[:]...))
}

func userKey(user string) session.Digest {
	return sha256.Sum256([]byte("sessionkit cookiestore user not before\x00" + user))
}

func marker(now, until time.Time, values map[string][]byte) *session.Record {
	return &session.Record{Values: values, Created: now, LastSeen: now, IdleExpiry: until, AbsExpiry: until, Version: 1}
}

func (r *Revocations) revokeSession(ctx context.Context, id session.Digest, until time.Time) error {
	now := r.now()
	if !until.After(now) {
		return nil // the session cannot be used any more anyway
	}
	err := r.store.Create(ctx, sessionKey(id), marker(now, until, nil))
	if err != nil && !errors.Is(err, session.ErrExists) {
		return fmt.Errorf("cookiestore: recording a revoked session: %w", err)
	}
	return nil
}

func (r *Revocations) revokeUser(ctx context.Context, user string, at time.Time) error {
	if err := r.record(ctx, user, false, nbPrefix+strconv.FormatInt(at.UnixMilli(), 10)); err != nil {
		return fmt.Errorf("cookiestore: recording a user revocation: %w", err)
	}
	return nil
}

func (r *Revocations) revokeUserExcept(ctx context.Context, user string, at, keep time.Time) error {
	key := kpPrefix + lineageID(keep) + ":" + strconv.FormatInt(at.UnixMilli(), 10)
	if err := r.record(ctx, user, false, key); err != nil {
		return fmt.Errorf("cookiestore: recording a revocation of a user's other sessions: %w", err)
	}
	return nil
}

func (r *Revocations) revokeLineage(ctx context.Context, user string, created time.Time) error {
	if err := r.record(ctx, user, true, lnPrefix+lineageID(created)); err != nil {
		return fmt.Errorf("cookiestore: recording a revoked session: %w", err)
	}
	return nil
}

// record adds key to the user's marker, creating it if needed: a
// revocation, or a lineage key when lineage is set.
func (r *Revocations) record(ctx context.Context, user string, lineage bool, key string) error {
	now := r.now()
	d := userKey(user)
	// The value is when the key was recorded: a lineage key is kept until
	// every cookie sealed up to then has expired (see extend).
	rec := marker(now, now.Add(markerForever), map[string][]byte{key: []byte(strconv.FormatInt(now.UnixMilli(), 10))})
	rec.IdleExpiry = now.Add(r.lifetime)
	err := r.store.Create(ctx, d, rec)
	if errors.Is(err, session.ErrExists) {
		err = r.extend(ctx, d, rec, lineage)
	}
	return err
}

// extend records one more key in an existing marker: it is added, the
// revocations it makes redundant go (see superseded: a later one, from a
// server whose clock is ahead, stays, and so does one added concurrently,
// which this change does not know about), and the expiry moves forward.
func (r *Revocations) extend(ctx context.Context, d session.Digest, rec *session.Record, lineage bool) error {
	c := &session.Change{Set: rec.Values, LastSeen: rec.LastSeen, IdleExpiry: rec.IdleExpiry}
	cur, err := r.store.Load(ctx, d)
	if errors.Is(err, session.ErrNotFound) {
		return r.store.Create(ctx, d, rec) // expired and removed meanwhile
	}
	if err != nil {
		return err
	}
	// A lineage key recorded before this is no longer needed: every cookie
	// sealed by then (a renewal racing the logout included) has expired.
	expired := rec.LastSeen.Add(-r.lifetime).UnixMilli()
	for k, v := range cur.Values {
		if recorded, err := strconv.ParseInt(string(v), 10, 64); err == nil && strings.HasPrefix(k, lnPrefix) && recorded < expired {
			c.Delete = append(c.Delete, k)
		}
	}
	if lineage && r.lineagesLeft(cur, c.Delete) >= maxLineages {
		// Too many logged-out lineages: a "not before" now ends them all
		// (and the user's other sessions authenticated until now), in
		// one key instead of one more; the lineage logged out now keeps
		// its own key (its session may have been authenticated on a
		// server whose clock is ahead of this one's "now").
		now := rec.LastSeen.UnixMilli()
		nb := nbPrefix + strconv.FormatInt(now, 10)
		c.Set = map[string][]byte{nb: []byte(strconv.FormatInt(now, 10))}
		for k, v := range rec.Values {
			c.Set[k] = v
		}
		c.Delete = c.Delete[:0]
		for k := range cur.Values {
			if _, kept := c.Set[k]; !kept && strings.HasPrefix(k, lnPrefix) {
				c.Delete = append(c.Delete, k)
			}
		}
		rec.Values = c.Set
	}
	c.Delete = append(c.Delete, superseded(cur.Values, c.Set)...)
	// One merge by the store, never a delete and a re-create: a marker
	// missing for a moment, or re-created without a revocation that a
	// concurrent change added, would let revoked cookies in. (So a marker
	// of the first format keeps its absolute expiry: see Revocations.)
	return r.store.Update(ctx, d, c)
}

// maxLineages bounds the logged-out lineages a user's marker lists (each
// for the maximum lifetime, and the marker is read whole on every request
// of the user): a logout beyond it records a "not before" time instead,
// which logs the user's other sessions out too.
const maxLineages = 256

// lineagesLeft counts the lineage keys of the marker cur that a change
// deleting del keeps.
func (r *Revocations) lineagesLeft(cur *session.Record, del []string) int {
	n := 0
	for k := range cur.Values {
		if strings.HasPrefix(k, lnPrefix) && !slices.Contains(del, k) {
			n++
		}
	}
	return n
}

// check rejects a revoked session or one of a user revoked after it began.
func (r *Revocations) check(ctx context.Context, id session.Digest, rec *session.Record) error {
	_, err := r.store.Load(ctx, sessionKey(id))
	switch {
	case err == nil:
		return session.ErrRevoked
	case !errors.Is(err, session.ErrNotFound):
		return fmt.Errorf("cookiestore: checking revocations: %w", err)
	}
	if rec.UserID == "" {
		return nil
	}
	m, err := r.store.Load(ctx, userKey(rec.UserID))
	if errors.Is(err, session.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cookiestore: checking revocations: %w", err)
	}
	// The latest revocation that covers this session's lineage.
	lineage := lineageID(rec.Created)
	nb := int64(-1 << 63)
	for k, v := range m.Values {
		rv, ok, err := parseRevocation(k, v)
		if err != nil {
			return fmt.Errorf("cookiestore: revocation record of a user: %w", err)
		}
		if ok && rv.covers(lineage) {
			nb = max(nb, rv.at)
		}
	}
	if _, ok := m.Values[lnPrefix+lineage]; ok {
		return session.ErrRevoked // this session's lineage was logged out
	}
	start := rec.AuthTime
	if start.IsZero() {
		start = rec.Created
	}
	if start.UnixMilli() <= nb {
		return session.ErrRevoked
	}
	return nil
}
