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
// devices" (Manager.RevokeOtherSessions) records a "not before" time and,
// in the same change, the lineage it spares up to that time; a later
// revocation of the user supersedes both.
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

// nbPrefix starts the keys of a user's marker: "nb:<ms>", one per
// revocation not yet superseded. The first format, one key "nb", is still
// read.
const nbPrefix = "nb:"

// lnPrefix starts the keys of a user's marker that revoke one lineage:
// "ln:<created ms>" (see session.ClientLineageRevoker).
const lnPrefix = "ln:"

// kpPrefix starts the keys of a user's marker that keep one lineage out of
// the "not before" times up to a bound: "kp:<created ms>:<bound ms>", the
// lineage RevokeOtherSessions was called from. A "not before" time after
// the bound covers the lineage as usual.
const kpPrefix = "kp:"

func (r *Revocations) revokeUser(ctx context.Context, user string, at time.Time) error {
	if err := r.record(ctx, user, at.UnixMilli(), nbPrefix+strconv.FormatInt(at.UnixMilli(), 10)); err != nil {
		return fmt.Errorf("cookiestore: recording a user revocation: %w", err)
	}
	return nil
}

// revokeUserExcept records a "not before" time at and, in the same change,
// the lineage created at keep as kept up to it.
func (r *Revocations) revokeUserExcept(ctx context.Context, user string, at, keep time.Time) error {
	atMS := at.UnixMilli()
	kp := kpPrefix + strconv.FormatInt(keep.UnixMilli(), 10) + ":" + strconv.FormatInt(atMS, 10)
	if err := r.record(ctx, user, atMS, nbPrefix+strconv.FormatInt(atMS, 10), kp); err != nil {
		return fmt.Errorf("cookiestore: recording a revocation of a user's other sessions: %w", err)
	}
	return nil
}

func (r *Revocations) revokeLineage(ctx context.Context, user string, created time.Time) error {
	if err := r.record(ctx, user, 0, lnPrefix+strconv.FormatInt(created.UnixMilli(), 10)); err != nil {
		return fmt.Errorf("cookiestore: recording a revoked session: %w", err)
	}
	return nil
}

// record adds keys to the user's marker, creating it if needed; atMS is
// the not-before time the keys record (0 for a lineage key).
func (r *Revocations) record(ctx context.Context, user string, atMS int64, keys ...string) error {
	now := r.now()
	d := userKey(user)
	// The value is when the key was recorded: a lineage key is kept until
	// every cookie sealed up to then has expired (see extend).
	values := make(map[string][]byte, len(keys))
	for _, k := range keys {
		values[k] = []byte(strconv.FormatInt(now.UnixMilli(), 10))
	}
	rec := marker(now, now.Add(markerForever), values)
	rec.IdleExpiry = now.Add(r.lifetime)
	err := r.store.Create(ctx, d, rec)
	if errors.Is(err, session.ErrExists) {
		err = r.extend(ctx, d, rec, atMS)
	}
	return err
}

// extend records one more revocation in an existing marker: its key is
// added, the keys of earlier revocations go (a later one, from a server
// whose clock is ahead, stays, and so does one added concurrently, which
// this change does not know about), and the expiry moves forward. A
// marker of the first format, whose absolute expiry would end it before
// the cookies it revokes, is replaced by one of the current format that
// keeps its time.
func (r *Revocations) extend(ctx context.Context, d session.Digest, rec *session.Record, atMS int64) error {
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
		if t, ok := notBefore(k); ok && t < atMS {
			c.Delete = append(c.Delete, k)
		} else if _, bound, ok := keptLineage(k); ok && bound < atMS {
			// A later "not before" covers the lineage it kept.
			c.Delete = append(c.Delete, k)
		} else if recorded, err := strconv.ParseInt(string(v), 10, 64); err == nil && strings.HasPrefix(k, lnPrefix) && recorded < expired {
			c.Delete = append(c.Delete, k)
		}
	}
	if atMS == 0 && r.lineagesLeft(cur, c.Delete) >= maxLineages {
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
			if _, kept := c.Set[k]; kept {
				continue
			}
			t, ok := notBefore(k)
			if !ok {
				_, t, ok = keptLineage(k)
			}
			if strings.HasPrefix(k, lnPrefix) || ok && t < now {
				c.Delete = append(c.Delete, k)
			}
		}
		rec.Values = c.Set
	}
	if cur.AbsExpiry.Before(rec.AbsExpiry.Add(-markerForever / 2)) {
		for k, v := range cur.Values {
			rec.Values[k] = v
		}
		if _, err := r.store.Delete(ctx, d); err != nil {
			return err
		}
		return r.store.Create(ctx, d, rec)
	}
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

// notBefore parses a key of a user's marker.
func notBefore(key string) (int64, bool) {
	if key == "nb" {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimPrefix(key, nbPrefix), 10, 64)
	return v, err == nil && strings.HasPrefix(key, nbPrefix)
}

// keptLineage parses a key of a user's marker that keeps a lineage (see
// kpPrefix): its creation time and the bound, in milliseconds.
func keptLineage(key string) (created, bound int64, ok bool) {
	rest, found := strings.CutPrefix(key, kpPrefix)
	if !found {
		return 0, 0, false
	}
	c, b, found := strings.Cut(rest, ":")
	if !found {
		return 0, 0, false
	}
	created, err1 := strconv.ParseInt(c, 10, 64)
	bound, err2 := strconv.ParseInt(b, 10, 64)
	return created, bound, err1 == nil && err2 == nil
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
	// The "not before" times up to kept are not this session's when it is
	// the lineage RevokeOtherSessions was called from.
	created := rec.Created.UnixMilli()
	kept := int64(-1 << 63)
	for k := range m.Values {
		if c, bound, ok := keptLineage(k); ok && c == created {
			kept = max(kept, bound)
		}
	}
	nb := int64(-1 << 63)
	for k, v := range m.Values {
		t, ok := notBefore(k)
		if !ok && k == "nb" {
			var err error
			if t, err = strconv.ParseInt(string(v), 10, 64); err != nil {
				return fmt.Errorf("cookiestore: revocation record of a user: %w", err)
			}
			ok = true
		}
		if ok && t > kept {
			nb = max(nb, t)
		}
	}
	if _, ok := m.Values[lnPrefix+strconv.FormatInt(rec.Created.UnixMilli(), 10)]; ok {
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
