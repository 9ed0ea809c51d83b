// Package memcachedstore keeps sessions in Memcached through
// github.com/bradfitz/gomemcache: one item per session, written with
// Memcached's compare-and-swap (gets/cas), created with add, expiring with
// the session's idle deadline.
//
// What Memcached allows, and what it does not:
//
//   - Conditional writes and the per-key merge of concurrent requests use
//     CAS: a write re-reads and re-applies its change when another wrote
//     meanwhile (bounded retries, then an error, never a silent overwrite),
//     and a write to a deleted session never recreates it.
//   - A user's sessions are listed in a per-user index item kept with CAS
//     (pruned of dead entries, at most MaxSessionsPerUser). A logged-in
//     session is valid only while its user's index lists it: every read of
//     a logged-in session fetches the index too (two round trips instead of
//     one), and in exchange a revocation is never escaped by a renewal
//     racing it, and an index that Memcached evicted or lost with a node
//     logs that user's sessions out instead of leaving sessions that no
//     "revoke" can find. "Revoked N" is therefore exact.
//   - Counting active sessions is not supported (Memcached cannot count
//     without a scan), and there is nothing to clean up: items expire.
//   - Memcached is a cache: a node lost or restarted loses its sessions
//     (their users log in again), and memory pressure evicts sessions
//     before their deadline. Pair it with tieredstore over PostgreSQL for
//     sessions that must survive that (Django's cached_db on Memcached).
//   - Several servers: build the client with NewServers (rendezvous
//     hashing), so that a change of the server list moves only the
//     sessions of the servers that changed; gomemcache's memcache.New
//     moves most of them.
//   - gomemcache takes no context: a call's context is checked before it
//     starts, and the client's Timeout bounds each network operation.
package memcachedstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/session"
)

// DefaultPrefix is put before every key unless WithPrefix says otherwise.
const DefaultPrefix = "sess:"

// DefaultMaxItemSize is Memcached's default item size limit (-I 1m).
const DefaultMaxItemSize = 1 << 20

// MaxSessionsPerUser is the default bound of a user's index
// (WithIndexLimit): a login beyond it fails, once the index is pruned of
// the sessions that ended.
const MaxSessionsPerUser = 5000

// maxAttempts bounds the compare-and-swap retries of one operation; each
// retry after a conflict waits a random moment that grows with the attempt
// (see backoff), so writers racing on one session take turns.
const maxAttempts = 32

// beforeCAS, set only by tests, runs between a compare-and-swap loop's
// read and its write, where another client's write makes the swap fail.
var beforeCAS func()

// backoff waits before retry attempt (1, 2, ...) of a conflicting cas: a
// random time up to attempt × 200 µs, or until ctx ends.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(rand.Int64N(int64(attempt) * int64(200*time.Microsecond)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Store is a Memcached session store. It implements session.Store,
// session.Toucher, session.Renewer, session.UserIndex and
// session.LineageDeleter.
type Store struct {
	client  *memcache.Client
	prefix  string
	maxItem int
	// indexLimit bounds a user's index (WithIndexLimit).
	indexLimit int
	casHints   casHints
}

// Option configures a Store.
type Option func(*Store)

var prefixRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{0,64}$`)

// WithPrefix sets the key prefix (default "sess:"): letters, digits and
// "_.:-", at most 64 characters, so that every key stays within
// Memcached's 250 bytes.
func WithPrefix(p string) Option { return func(s *Store) { s.prefix = p } }

// WithMaxItemSize sets the server's item size limit (memcached -I); a
// session whose stored form would exceed it is refused with
// session.ErrTooLarge before anything is written.
func WithMaxItemSize(n int) Option { return func(s *Store) { s.maxItem = n } }

// WithIndexLimit sets how many sessions a user's index lists at most
// (default MaxSessionsPerUser): a login beyond it fails once the index is
// pruned of the sessions that ended. The index is one item of 56 bytes an
// entry (indexcodec.go): New refuses a limit whose full index would
// exceed the item size limit (WithMaxItemSize).
func WithIndexLimit(n int) Option { return func(s *Store) { s.indexLimit = n } }

// New returns a store on client. Set client.Timeout (gomemcache's default
// is 500 ms) and client.MaxIdleConns for your load.
func New(client *memcache.Client, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, errors.New("memcachedstore: client is nil")
	}
	s := &Store{client: client, prefix: DefaultPrefix, maxItem: DefaultMaxItemSize, indexLimit: MaxSessionsPerUser}
	for _, o := range opts {
		o(s)
	}
	if !prefixRE.MatchString(s.prefix) {
		return nil, fmt.Errorf("memcachedstore: invalid prefix %q: use letters, digits and _.:- (at most 64)", s.prefix)
	}
	if s.maxItem <= 0 {
		return nil, fmt.Errorf("memcachedstore: invalid item size limit %d", s.maxItem)
	}
	if s.indexLimit <= 0 {
		return nil, fmt.Errorf("memcachedstore: invalid index limit %d", s.indexLimit)
	}
	if size := 1 + s.indexLimit*entrySize + itemOverhead; size > s.maxItem {
		// Memcached would refuse a full index with "object too large"
		// at some login of a user with many sessions.
		return nil, fmt.Errorf("memcachedstore: a user index of %d sessions takes %d bytes with Memcached's item overhead, over the item size limit of %d: lower WithIndexLimit to %d or less",
			s.indexLimit, size, s.maxItem, (s.maxItem-1-itemOverhead)/entrySize)
	}
	return s, nil
}

// Client returns the Memcached client.
func (s *Store) Client() *memcache.Client { return s.client }

func (s *Store) sessionKey(d session.Digest) string { return s.prefix + "s:" + d.String() }

// userKey is the index key of a user: the SHA-256 of the id, since ids may
// hold characters Memcached keys cannot.
func (s *Store) userKey(userID string) string {
	h := sha256.Sum256([]byte(userID))
	return s.prefix + "u:" + hex.EncodeToString(h[:])
}

// expiration is Memcached's expiration for an item living until t:
// seconds from now up to 30 days, a Unix time beyond (Memcached reads
// larger values as absolute times), -1 (already expired) for a past time.
// Memcached counts its clock in whole seconds and ends an item once that
// clock reaches the expiration, up to a second before now plus the
// seconds given: one more second keeps the item until t at least (the
// manager still ends the session at its deadline).
func expiration(t, now time.Time) int32 {
	d := t.Sub(now)
	if d <= 0 {
		return -1
	}
	secs := int64((d+time.Second-1)/time.Second) + 1
	if secs <= 30*24*3600 {
		return int32(secs)
	}
	// Memcached's expiration is 32 bits: times past 2038 are clamped to
	// its last second (the manager still checks the real deadline).
	return int32(min(t.Unix()+1, math.MaxInt32))
}

// errNoCAS reports a memcached started with -C: its gets answer a CAS id
// of 0 and its cas then succeeds whatever the item became meanwhile, so
// the store's conditional writes would overwrite concurrent changes (and
// a revocation's emptied index) silently.
var errNoCAS = errors.New("memcached returned an item without a CAS id: it runs with CAS disabled (-C), under which concurrent writes overwrite each other silently; run it without -C")

// get reads an item with gets, refusing one without a CAS id (errNoCAS).
func (s *Store) get(key string) (*memcache.Item, error) {
	item, err := s.client.Get(key)
	if err == nil && item.CasID == 0 {
		return nil, errNoCAS
	}
	return item, err
}

func (s *Store) wrap(op string, err error) error {
	return fmt.Errorf("memcached store: %s: %w", op, err)
}

// Load reads the session in one get; a logged-in session's user index is
// read too, and the session is valid only if the index lists it.
func (s *Store) Load(ctx context.Context, d session.Digest) (*session.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	item, err := s.get(s.sessionKey(d))
	if errors.Is(err, memcache.ErrCacheMiss) {
		return nil, session.ErrNotFound
	}
	if err != nil {
		return nil, s.wrap("load", err)
	}
	rec, err := decodeRecord(item.Value)
	if err != nil {
		return nil, err
	}
	s.casHints.remember(d, rec, item.CasID)
	if rec.UserID != "" {
		listed, err := s.listed(ctx, rec.UserID, d)
		if err != nil {
			return nil, err
		}
		if !listed {
			return nil, session.ErrNotFound // revoked, or its index evicted: logged out
		}
	}
	return rec, nil
}

// itemOverhead is what Memcached counts against its item size limit
// besides the value (the item header, CAS id, key and suffix), with room
// to spare.
const itemOverhead = 512

// encode encodes rec and checks the item size limit.
func (s *Store) encode(rec *session.Record) ([]byte, error) {
	v, err := encodeRecord(rec)
	if err != nil {
		return nil, err
	}
	if len(v)+itemOverhead > s.maxItem {
		return nil, fmt.Errorf("%w: %d bytes stored, Memcached's item limit is %d", session.ErrTooLarge, len(v), s.maxItem)
	}
	return v, nil
}

// Create adds the session if its key is free; a logged-in session is
// listed in its user's index first (a revocation in between must find
// it). A Create that finds the key taken (ErrExists) leaves that entry:
// the manager's tokens are random, and tieredstore's refill, which may
// find its copy added meanwhile, lists a session its durable store holds.
func (s *Store) Create(ctx context.Context, d session.Digest, rec *session.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v, err := s.encode(rec)
	if err != nil {
		return err
	}
	now := time.Now()
	if rec.UserID != "" {
		if err := s.indexAdd(ctx, rec.UserID, session.Digest{}, entryOf(d, rec, now), now); err != nil {
			return err
		}
	}
	err = s.client.Add(&memcache.Item{Key: s.sessionKey(d), Value: v, Expiration: expiration(rec.ExpiresAt(), now)})
	if errors.Is(err, memcache.ErrNotStored) {
		return session.ErrExists
	}
	if err != nil {
		return s.wrap("create", err)
	}
	return nil
}

// Update applies c. When c.Base is the record as this store's Load
// returned it (the store remembers the item's CAS id for the record's
// version: see casHints), that is one cas of Base with the change
// applied; when another request wrote meanwhile, the id is unknown, or the
// merged view is too large, it falls back to gets and cas, re-applying the
// change to what the other wrote.
func (s *Store) Update(ctx context.Context, d session.Digest, c *session.Change) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if cas, ok := s.casHints.lookup(d, c.Base); ok {
		next := c.Base.Clone()
		c.Apply(next)
		if c.TooLarge(c.Base.Size(), next) == nil {
			v, err := s.encode(next)
			if err != nil {
				return err
			}
			err = s.client.CompareAndSwap(&memcache.Item{Key: s.sessionKey(d), Value: v, CasID: cas,
				Expiration: expiration(next.ExpiresAt(), time.Now())})
			switch {
			case err == nil:
				return nil
			case errors.Is(err, memcache.ErrNotStored), errors.Is(err, memcache.ErrCacheMiss):
				return session.ErrNotFound // deleted meanwhile: never recreated
			case !errors.Is(err, memcache.ErrCASConflict):
				return s.wrap("update", err)
			}
		}
	}
	return s.rewrite(ctx, d, "update", func(rec *session.Record) error {
		before := rec.Size()
		c.Apply(rec)
		return c.TooLarge(before, rec)
	})
}

// Touch moves LastSeen and the idle deadline forward. The deadlines live
// in the item (the manager checks them on every load, and Memcached's gets
// cannot report an item's TTL), so this rewrites the item with gets and
// cas rather than Memcached's touch; the manager touches at most once per
// tenth of the idle window.
func (s *Store) Touch(ctx context.Context, d session.Digest, lastSeen, idleExpiry time.Time) error {
	return s.rewrite(ctx, d, "touch", func(rec *session.Record) error {
		if lastSeen.After(rec.LastSeen) {
			rec.LastSeen = lastSeen
		}
		if idleExpiry.After(rec.IdleExpiry) {
			rec.IdleExpiry = idleExpiry
		}
		return nil
	})
}

// rewrite is the gets / change / cas loop of Update and Touch.
func (s *Store) rewrite(ctx context.Context, d session.Digest, op string, change func(*session.Record) error) error {
	key := s.sessionKey(d)
	if err := ctx.Err(); err != nil {
		return err
	}
	for attempt := range maxAttempts {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		}
		item, err := s.get(key)
		if errors.Is(err, memcache.ErrCacheMiss) {
			return session.ErrNotFound
		}
		if err != nil {
			return s.wrap(op, err)
		}
		rec, err := decodeRecord(item.Value)
		if err != nil {
			return err
		}
		if err := change(rec); err != nil {
			return err
		}
		v, err := s.encode(rec)
		if err != nil {
			return err
		}
		item.Value, item.Expiration = v, expiration(rec.ExpiresAt(), time.Now())
		if beforeCAS != nil {
			beforeCAS()
		}
		err = s.client.CompareAndSwap(item)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, memcache.ErrCASConflict):
			continue
		case errors.Is(err, memcache.ErrNotStored), errors.Is(err, memcache.ErrCacheMiss):
			return session.ErrNotFound // deleted meanwhile: never recreated
		default:
			return s.wrap(op, err)
		}
	}
	return s.wrap(op, fmt.Errorf("the session kept changing over %d attempts", maxAttempts))
}

// Delete deletes the session's item. A logged-in session's index entry
// goes first (unlisted, it no longer loads), so that logouts leave no
// entries behind for every read of the user's sessions to fetch (a
// service account's index grew towards its limit with stale entries):
// a logout costs a gets of the item and a gets and cas of the index more
// than a bare delete. The unlisting is housekeeping, not the logout: when
// it cannot be done (the index unreadable, as an earlier version's is,
// which a write would empty; changing under many concurrent logins; an
// item that cannot be decoded), the item is deleted all the same and its
// entry is pruned later, as an expired session's is.
func (s *Store) Delete(ctx context.Context, d session.Digest) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	key := s.sessionKey(d)
	item, err := s.get(key)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return false, nil
	}
	if err != nil {
		return false, s.wrap("delete", err)
	}
	if rec, err := decodeRecord(item.Value); err == nil && rec.UserID != "" {
		s.unlist(ctx, rec.UserID, d)
	}
	err = s.client.Delete(key)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return false, nil
	}
	if err != nil {
		return false, s.wrap("delete", err)
	}
	return true, nil
}

// errLeaveIndex stops an index change without writing (see unlist).
var errLeaveIndex = errors.New("index left as it is")

// unlist removes d's entry from the user's index, if it can (see Delete):
// an index it cannot read or write is left as it is.
func (s *Store) unlist(ctx context.Context, userID string, d session.Digest) {
	_ = s.updateIndex(ctx, userID, func(x *index) (bool, error) {
		if x.unreadable {
			return false, errLeaveIndex // a write would empty it
		}
		for i, e := range x.Entries {
			if e.Digest == d {
				x.Entries = append(x.Entries[:i], x.Entries[i+1:]...)
				return true, nil
			}
		}
		return false, nil
	})
}

// Renew moves the session to a new key. A logged-in session's index entry
// moves first, with cas: a revocation that emptied the index meanwhile
// makes the renewal fail (ErrNotFound), and one that comes after finds the
// new key. The new item is then added and the old one deleted; of two
// renewals racing, the one that fails to delete the old item undoes its
// new one.
func (s *Store) Renew(ctx context.Context, old, new session.Digest, rec *session.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	item, err := s.get(s.sessionKey(old))
	if errors.Is(err, memcache.ErrCacheMiss) {
		return session.ErrNotFound
	}
	if err != nil {
		return s.wrap("renew", err)
	}
	prev, err := decodeRecord(item.Value)
	if err != nil {
		return err
	}
	v, err := s.encode(rec)
	if err != nil {
		return err
	}
	now := time.Now()
	if rec.UserID != "" {
		var replace session.Digest
		if prev.UserID == rec.UserID {
			replace = old // must still be listed: not revoked meanwhile
		}
		if err := s.indexAdd(ctx, rec.UserID, replace, entryOf(new, rec, now), now); err != nil {
			return err
		}
	}
	err = s.client.Add(&memcache.Item{Key: s.sessionKey(new), Value: v, Expiration: expiration(rec.ExpiresAt(), now)})
	if errors.Is(err, memcache.ErrNotStored) {
		return session.ErrExists
	}
	if err != nil {
		return s.wrap("renew", err)
	}
	if err := s.client.Delete(s.sessionKey(old)); err != nil {
		// Another renewal or a logout took the old item first: undo.
		if derr := s.client.Delete(s.sessionKey(new)); derr != nil && !errors.Is(derr, memcache.ErrCacheMiss) {
			return s.wrap("renew", derr)
		}
		if errors.Is(err, memcache.ErrCacheMiss) {
			return session.ErrNotFound
		}
		return s.wrap("renew", err)
	}
	return nil
}

var (
	_ session.Store          = (*Store)(nil)
	_ session.Toucher        = (*Store)(nil)
	_ session.Renewer        = (*Store)(nil)
	_ session.UserIndex      = (*Store)(nil)
	_ session.LineageDeleter = (*Store)(nil)
)
