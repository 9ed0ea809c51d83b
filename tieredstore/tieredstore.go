// Package tieredstore composes a fast cache store (memory, Redis) in front of
// a durable store (SQL): Django's cached_db, with the durable store
// authoritative.
//
//   - Reads come from the cache; a miss reads the durable store and refills
//     the cache (new and renewed sessions are cached by their first read,
//     never when written, so a revocation cannot miss a copy). A cache
//     failure is logged and the read served by the durable store: an
//     outage of the cache costs latency, never a session.
//   - Writes go to the durable store first. The cached copy is then
//     invalidated (deleted), not patched, so the cache never holds a
//     version the durable store does not; the next read refills it.
//   - If the cache cannot be invalidated after a write, a logout or a
//     revocation (after one retry), the operation fails: a cached copy must
//     never outlive its deletion or serve data older than a write the
//     client was told succeeded. The durable write has happened; the request
//     is answered by the manager's error handler.
//   - A refill cannot resurrect a session deleted meanwhile, nor serve it
//     for a moment: it fills the cache with an unmarked copy, which reads
//     ignore, checks the durable store again, and only then marks the copy
//     (with its own id, so that its mark never validates another refill's
//     copy), with a write that fails if a deletion or a revocation removed
//     the copy meanwhile. The first read of a session
//     costs five store calls (a cache miss, two durable reads, the copy
//     and its mark); later reads one.
//   - The user index, counting and cleanup are served by the durable store.
//   - The cache must be shared by every process that uses the durable
//     store (Redis, Memcached; a memory cache only for a single process):
//     a write or revocation invalidates the copies in the cache it goes
//     through, never those in another process's memory. A deletion made
//     in the durable store alone (sessionctl opens only that store) is
//     seen by the cache when the session is next written or refreshed
//     (within the manager's touch interval, a tenth of the idle timeout
//     by default), which drops the copy: revoke through this store for
//     an immediate effect.
package tieredstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sessionkit/session"
)

// Store is a write-through cache in front of a durable store.
type Store struct {
	cache, durable session.Store
	logger         *slog.Logger
}

// Option configures a Store.
type Option func(*Store)

// WithLogger sets the logger for cache failures (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.logger = l } }

// New returns a store reading through cache and writing to durable first.
func New(cache, durable session.Store, opts ...Option) (*Store, error) {
	if cache == nil || durable == nil {
		return nil, errors.New("tieredstore: cache and durable stores are required")
	}
	s := &Store{cache: cache, durable: durable, logger: slog.Default()}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

func (s *Store) cacheFailed(ctx context.Context, op string, err error) {
	s.logger.WarnContext(ctx, "tieredstore: cache unavailable; using the durable store", "op", op, "error", err)
}

// Load reads the cache, falling back to the durable store. A copy still
// being filled (see refill) is no copy: the durable store answers.
func (s *Store) Load(ctx context.Context, d session.Digest) (*session.Record, error) {
	rec, err := s.cache.Load(ctx, d)
	switch {
	case err == nil:
		if rec, ok := s.confirmed(ctx, d, rec); ok {
			return rec, nil
		}
	case errors.Is(err, session.ErrNotFound):
	case errors.Is(err, session.ErrCorrupt):
		// A corrupt cached copy: drop it and trust the durable store.
		s.cache.Delete(ctx, d)
	case ctx.Err() != nil:
		return nil, err
	default:
		s.cacheFailed(ctx, "load", err)
	}
	rec, err = s.durable.Load(ctx, d)
	if err != nil {
		return nil, err
	}
	if rec.Values[fillIDKey] != nil || rec.Values[fillMarkKey] != nil {
		rec = withoutFill(rec) // reserved keys: never an application's
	}
	s.refill(ctx, d, rec)
	return rec, nil
}

// invalidate deletes the cached copy, retrying once; it fails when the
// cache cannot confirm the deletion.
func (s *Store) invalidate(ctx context.Context, op string, ds ...session.Digest) error {
	for _, d := range ds {
		_, err := s.cache.Delete(ctx, d)
		if err != nil && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
			_, err = s.cache.Delete(ctx, d)
		}
		if err != nil {
			return fmt.Errorf("tieredstore: %s succeeded in the durable store but the cached copy could not be removed: %w", op, err)
		}
	}
	return nil
}

// Create stores the record durably. It is not cached here: a revocation
// of its user running meanwhile could not see a copy cached after it,
// which would then outlive the durable deletion. The first read fills the
// cache through refill, which checks the durable store after filling.
func (s *Store) Create(ctx context.Context, d session.Digest, rec *session.Record) error {
	return s.durable.Create(ctx, d, rec)
}

// Update writes the change durably, then invalidates the cached copy.
func (s *Store) Update(ctx context.Context, d session.Digest, c *session.Change) error {
	if err := s.durable.Update(ctx, d, c); err != nil {
		return s.goneDurably(ctx, "update", d, err)
	}
	return s.invalidate(ctx, "update", d)
}

// goneDurably returns err, the durable store's answer to a write of d;
// when the session is gone there (deleted by a tool that opened the
// durable store alone, such as sessionctl), its cached copy is dropped
// first, so that reads stop serving it.
func (s *Store) goneDurably(ctx context.Context, op string, d session.Digest, err error) error {
	if errors.Is(err, session.ErrNotFound) {
		if ierr := s.invalidate(ctx, op, d); ierr != nil {
			return ierr
		}
	}
	return err
}

// Touch extends the expiry durably, then invalidates the cached copy (a
// stale expiry in the cache would end the session early).
func (s *Store) Touch(ctx context.Context, d session.Digest, lastSeen, idleExpiry time.Time) error {
	var err error
	if t, ok := s.durable.(session.Toucher); ok {
		err = t.Touch(ctx, d, lastSeen, idleExpiry)
	} else {
		err = s.durable.Update(ctx, d, &session.Change{LastSeen: lastSeen, IdleExpiry: idleExpiry})
	}
	if err != nil {
		return s.goneDurably(ctx, "touch", d, err)
	}
	return s.invalidate(ctx, "touch", d)
}

// Delete deletes durably, then from the cache; a cache failure fails the
// call (the session is gone from the durable store either way).
func (s *Store) Delete(ctx context.Context, d session.Digest) (bool, error) {
	existed, err := s.durable.Delete(ctx, d)
	if err != nil {
		return false, err
	}
	return existed, s.invalidate(ctx, "delete", d)
}

// Renew renews durably (atomically when the durable store can), then drops
// the old cached copy.
func (s *Store) Renew(ctx context.Context, old, new session.Digest, rec *session.Record) error {
	if r, ok := s.durable.(session.Renewer); ok {
		if err := r.Renew(ctx, old, new, rec); err != nil {
			return s.goneDurably(ctx, "renew", old, err)
		}
	} else {
		existed, err := s.durable.Delete(ctx, old)
		if err != nil {
			return err
		}
		if !existed {
			return s.goneDurably(ctx, "renew", old, session.ErrNotFound)
		}
		if err := s.durable.Create(ctx, new, rec); err != nil {
			return err
		}
	}
	// The new record is not cached here: a revocation of its user that
	// ran meanwhile could not see a copy cached after it, which would then
	// outlive the durable deletion. The first read fills the cache through
	// refill, which checks the durable store after filling.
	return s.invalidate(ctx, "renew", old)
}

func (s *Store) capability(name string) error {
	return fmt.Errorf("%w: the durable store %T does not implement session.%s", session.ErrUnsupported, s.durable, name)
}

// ListByUser is served by the durable store.
func (s *Store) ListByUser(ctx context.Context, userID string, now time.Time) ([]session.Entry, error) {
	ui, ok := s.durable.(session.UserIndex)
	if !ok {
		return nil, s.capability("UserIndex")
	}
	return ui.ListByUser(ctx, userID, now)
}

// DeleteByUser deletes the user's sessions but keep durably, then their
// cached copies through the cache's own user index (so a session renewed
// meanwhile is dropped under its new digest too). It needs both stores to
// implement session.UserIndex.
func (s *Store) DeleteByUser(ctx context.Context, userID string, keep session.Digest) (int, error) {
	return inBothTiers(s, "UserIndex", "delete by user", func(ui session.UserIndex) (int, error) {
		return ui.DeleteByUser(ctx, userID, keep)
	})
}

// DeleteLineage deletes the lineage durably, then its cached copies through
// the cache's own index. It needs both stores to implement
// session.LineageDeleter.
func (s *Store) DeleteLineage(ctx context.Context, userID string, created time.Time) (int, error) {
	return inBothTiers(s, "LineageDeleter", "delete lineage", func(ld session.LineageDeleter) (int, error) {
		return ld.DeleteLineage(ctx, userID, created)
	})
}

// inBothTiers runs a deletion through capability C in the durable store,
// then in the cache (whose own index finds the cached copies), and returns
// the durable store's count. A cache failure fails the call: a cached copy
// must not outlive its deletion.
func inBothTiers[C any](s *Store, capability, op string, del func(C) (int, error)) (int, error) {
	d, ok := s.durable.(C)
	if !ok {
		return 0, s.capability(capability)
	}
	c, ok := s.cache.(C)
	if !ok {
		return 0, fmt.Errorf("%w: the cache store %T does not implement session.%s", session.ErrUnsupported, s.cache, capability)
	}
	n, err := del(d)
	if err != nil {
		return n, err
	}
	if _, err := del(c); err != nil {
		return n, fmt.Errorf("tieredstore: %s succeeded in the durable store but the cached copies could not be removed: %w", op, err)
	}
	return n, nil
}

// CountActive is served by the durable store.
func (s *Store) CountActive(ctx context.Context, now time.Time) (int64, error) {
	c, ok := s.durable.(session.Counter)
	if !ok {
		return 0, s.capability("Counter")
	}
	return c.CountActive(ctx, now)
}

// DeleteExpired cleans the durable store and, when the cache can clean
// itself, the cache too (the manager rejects expired cached copies anyway,
// and Redis expires them by TTL). It reports the durable store's count.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	c, ok := s.durable.(session.ExpiredDeleter)
	if !ok {
		return 0, s.capability("ExpiredDeleter")
	}
	n, err := c.DeleteExpired(ctx, now, limit)
	if err != nil {
		return n, err
	}
	if cc, ok := s.cache.(session.ExpiredDeleter); ok {
		for {
			m, err := cc.DeleteExpired(ctx, now, limit)
			if errors.Is(err, session.ErrUnsupported) {
				break // a stand-in for a cache that expires entries itself
			}
			if err != nil {
				s.cacheFailed(ctx, "delete expired", err)
				break
			}
			if m < limit {
				break
			}
		}
	}
	return n, nil
}

var _ session.FullStore = (*Store)(nil)
