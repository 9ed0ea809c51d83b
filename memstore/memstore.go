// Package memstore is an in-memory session.Store for a single process: tests,
// development, and applications that accept losing sessions on restart.
//
// Records live in a sharded map guarded by per-shard locks, so concurrent
// requests for different sessions rarely contend. Expired records are never
// returned as live by the manager and are removed by a janitor goroutine;
// call Stop to end it. The store implements every optional capability of
// package session: Touch, Renew, the user index, Count and batched cleanup.
package memstore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/session"
)

const shardCount = 64

// Store is an in-memory session store. The zero value is not usable; call New.
type Store struct {
	shards [shardCount]shard

	idxMu  sync.Mutex
	byUser map[string]map[session.Digest]struct{}

	clock    func() time.Time
	interval time.Duration
	max      int
	count    atomic.Int64
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

type shard struct {
	mu sync.RWMutex
	m  map[session.Digest]*session.Record
}

// Option configures a Store.
type Option func(*Store)

// WithCleanupInterval sets how often the janitor removes expired records
// (default one minute). Zero or a negative value disables the janitor.
func WithCleanupInterval(d time.Duration) Option { return func(s *Store) { s.interval = d } }

// WithMaxSessions bounds the number of records the store holds (default:
// no bound). When a new session would exceed it, the store first removes
// expired records; if it is still full, it evicts the record that expires
// soonest, which is the least valuable to keep. Eviction scans every record,
// so it is an overload guard, not a cache policy for steady operation.
func WithMaxSessions(n int) Option { return func(s *Store) { s.max = n } }

// WithClock replaces time.Now for the janitor and eviction, for tests.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.clock = now } }

// New returns a Store and starts its janitor. Call Stop when done with it.
func New(opts ...Option) *Store {
	s := &Store{
		byUser:   map[string]map[session.Digest]struct{}{},
		clock:    time.Now,
		interval: time.Minute,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	for i := range s.shards {
		s.shards[i].m = map[session.Digest]*session.Record{}
	}
	for _, o := range opts {
		o(s)
	}
	if s.interval > 0 {
		go s.janitor()
	} else {
		close(s.done)
	}
	return s
}

// Stop ends the janitor and waits for it to return. It is safe to call more
// than once; the store stays usable afterwards.
func (s *Store) Stop() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
}

func (s *Store) janitor() {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			for {
				n, _ := s.DeleteExpired(context.Background(), s.clock(), 1000)
				if n < 1000 {
					break
				}
			}
		}
	}
}

func (s *Store) shard(d session.Digest) *shard { return &s.shards[d[0]%shardCount] }

func (s *Store) index(userID string, d session.Digest) {
	if userID == "" {
		return
	}
	s.idxMu.Lock()
	set := s.byUser[userID]
	if set == nil {
		set = map[session.Digest]struct{}{}
		s.byUser[userID] = set
	}
	set[d] = struct{}{}
	s.idxMu.Unlock()
}

func (s *Store) unindex(userID string, d session.Digest) {
	if userID == "" {
		return
	}
	s.idxMu.Lock()
	if set := s.byUser[userID]; set != nil {
		delete(set, d)
		if len(set) == 0 {
			delete(s.byUser, userID)
		}
	}
	s.idxMu.Unlock()
}

// Load returns a copy of the record under d.
func (s *Store) Load(ctx context.Context, d session.Digest) (*session.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sh := s.shard(d)
	sh.mu.RLock()
	rec, ok := sh.m[d]
	if ok {
		rec = rec.Clone()
	}
	sh.mu.RUnlock()
	if !ok {
		return nil, session.ErrNotFound
	}
	return rec, nil
}

// Create stores a copy of rec under d unless a record exists there.
func (s *Store) Create(ctx context.Context, d session.Digest, rec *session.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := s.shard(d)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[d]; ok {
		return session.ErrExists
	}
	if s.max > 0 && int(s.count.Load()) >= s.max {
		sh.mu.Unlock()
		s.makeRoom()
		sh.mu.Lock()
		if _, ok := sh.m[d]; ok {
			return session.ErrExists
		}
	}
	sh.m[d] = rec.Clone()
	s.count.Add(1)
	s.index(rec.UserID, d)
	return nil
}

// makeRoom removes expired records, then the soonest-expiring ones, until
// the store is below its bound.
func (s *Store) makeRoom() {
	now := s.clock()
	for int(s.count.Load()) >= s.max {
		if n, _ := s.DeleteExpired(context.Background(), now, int(s.count.Load())-s.max+1); n > 0 {
			continue
		}
		var victim session.Digest
		var soonest time.Time
		found := false
		for i := range s.shards {
			sh := &s.shards[i]
			sh.mu.RLock()
			for d, rec := range sh.m {
				if exp := rec.ExpiresAt(); !found || exp.Before(soonest) {
					victim, soonest, found = d, exp, true
				}
			}
			sh.mu.RUnlock()
		}
		if !found {
			return
		}
		s.Delete(context.Background(), victim)
	}
}

// Update applies c to the record under d.
func (s *Store) Update(ctx context.Context, d session.Digest, c *session.Change) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := s.shard(d)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	rec, ok := sh.m[d]
	if !ok {
		return session.ErrNotFound
	}
	// Copy on write: records handed out by Load never change underneath.
	next := rec.Clone()
	c.Apply(next)
	if err := c.TooLarge(rec.Size(), next); err != nil {
		return err
	}
	sh.m[d] = next
	return nil
}

// Touch extends the expiry of the record under d.
func (s *Store) Touch(ctx context.Context, d session.Digest, lastSeen, idleExpiry time.Time) error {
	return s.Update(ctx, d, &session.Change{LastSeen: lastSeen, IdleExpiry: idleExpiry})
}

// Delete removes the record under d.
func (s *Store) Delete(ctx context.Context, d session.Digest) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	sh := s.shard(d)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	rec, ok := sh.m[d]
	if !ok {
		return false, nil
	}
	delete(sh.m, d)
	s.count.Add(-1)
	s.unindex(rec.UserID, d)
	return true, nil
}

// Renew moves the session from old to new atomically.
func (s *Store) Renew(ctx context.Context, old, new session.Digest, rec *session.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a, b := s.shard(old), s.shard(new)
	switch {
	case a == b:
		a.mu.Lock()
		defer a.mu.Unlock()
	case old[0]%shardCount < new[0]%shardCount:
		a.mu.Lock()
		defer a.mu.Unlock()
		b.mu.Lock()
		defer b.mu.Unlock()
	default:
		b.mu.Lock()
		defer b.mu.Unlock()
		a.mu.Lock()
		defer a.mu.Unlock()
	}
	prev, ok := a.m[old]
	if !ok {
		return session.ErrNotFound
	}
	if _, ok := b.m[new]; ok {
		return session.ErrExists
	}
	delete(a.m, old)
	s.unindex(prev.UserID, old)
	b.m[new] = rec.Clone()
	s.index(rec.UserID, new)
	return nil
}

func (s *Store) userDigests(userID string) []session.Digest {
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	set := s.byUser[userID]
	out := make([]session.Digest, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	return out
}

// ListByUser returns the user's sessions alive at now.
func (s *Store) ListByUser(ctx context.Context, userID string, now time.Time) ([]session.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []session.Entry
	for _, d := range s.userDigests(userID) {
		rec, err := s.Load(ctx, d)
		if err != nil {
			continue // deleted since the index was read
		}
		if rec.UserID == userID && rec.Alive(now) {
			out = append(out, session.Entry{Digest: d, Record: rec})
		}
	}
	return out, nil
}

// DeleteByUser deletes every session of the user except keep. It holds
// every shard's lock while it does, so no renewal can move one of the
// user's sessions out of its reach meanwhile.
func (s *Store) DeleteByUser(ctx context.Context, userID string, keep session.Digest) (int, error) {
	return s.deleteUserWhere(ctx, userID, func(d session.Digest, _ *session.Record) bool { return d != keep })
}

// deleteUserWhere deletes the user's sessions that match, with every
// shard's lock held.
func (s *Store) deleteUserWhere(ctx context.Context, userID string, match func(session.Digest, *session.Record) bool) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("memstore: deleting sessions of a user: %w", err)
	}
	for i := range s.shards {
		s.shards[i].mu.Lock()
	}
	defer func() {
		for i := range s.shards {
			s.shards[i].mu.Unlock()
		}
	}()
	n := 0
	for _, d := range s.userDigests(userID) {
		sh := s.shard(d)
		rec, ok := sh.m[d]
		if !ok || rec.UserID != userID || !match(d, rec) {
			continue
		}
		delete(sh.m, d)
		s.count.Add(-1)
		s.unindex(userID, d)
		n++
	}
	return n, nil
}

// DeleteLineage deletes the user's sessions created at created, holding
// every shard's lock like DeleteByUser.
func (s *Store) DeleteLineage(ctx context.Context, userID string, created time.Time) (int, error) {
	return s.deleteUserWhere(ctx, userID, func(d session.Digest, r *session.Record) bool { return r.Created.Equal(created) })
}

// CountActive counts the sessions alive at now. It visits every record in
// memory, which takes milliseconds for a million sessions.
func (s *Store) CountActive(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	for i := range s.shards {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		sh := &s.shards[i]
		sh.mu.RLock()
		for _, rec := range sh.m {
			if rec.Alive(now) {
				n++
			}
		}
		sh.mu.RUnlock()
	}
	return n, nil
}

// DeleteExpired removes up to limit records expired at now.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	n := 0
	for i := range s.shards {
		if n >= limit {
			break
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
		sh := &s.shards[i]
		sh.mu.Lock()
		for d, rec := range sh.m {
			if n >= limit {
				break
			}
			if !rec.Alive(now) {
				delete(sh.m, d)
				s.count.Add(-1)
				s.unindex(rec.UserID, d)
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n, nil
}

// Len returns the number of records held, live or expired.
func (s *Store) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}

var _ session.FullStore = (*Store)(nil)
