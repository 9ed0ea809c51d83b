package memcachedstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/session"
)

// index is a user's index item: the sessions that may load as the user.
// It never expires by time (Memcached may still evict it, which logs the
// user's sessions out); entries whose deadline passed are pruned whenever
// it is written.
type index struct {
	Entries []entry
	// unreadable: the item is no index of this version (an earlier
	// version's, or damaged). It lists nobody, and a change of it is
	// written even when it changes nothing, so that it becomes one: a
	// revocation then ends the sessions a process still running the
	// earlier version would accept.
	unreadable bool
}

// entry is one listed session: its digest, creation time (the
// lineage of renewals) and absolute deadline, all the index needs without
// reading the item. The absolute deadline, not the idle one: activity
// moves the idle deadline without writing the index, and an entry pruned
// before its session ends would log the session out.
type entry struct {
	Digest  session.Digest
	Created int64 // Unix ms, as the other times
	Expires int64
	Added   int64 // when listed
}

func entryOf(d session.Digest, rec *session.Record, now time.Time) entry {
	return entry{Digest: d, Created: ms(rec.Created), Expires: ms(rec.AbsExpiry), Added: ms(now)}
}

// pruneGrace is how long an entry stays listed although its item is
// missing: a session is listed before its item is added (Create, Renew),
// and an entry pruned in between would log the new session out.
var pruneGrace = time.Minute

// pruneGone drops the entries whose item is gone (logged out, expired or
// evicted) and that were listed more than pruneGrace ago, with one get of
// several keys. Logouts unlist their sessions, but sessions that expired
// idle or were evicted leave their entries behind until their absolute
// deadline; a full index is pruned of them before a login is refused.
func (s *Store) pruneGone(x *index, now time.Time) error {
	keys := make([]string, len(x.Entries))
	for i, e := range x.Entries {
		keys[i] = s.sessionKey(e.Digest)
	}
	items, err := s.client.GetMulti(keys)
	if err != nil {
		return s.wrap("pruning the user index", err)
	}
	live := x.Entries[:0]
	for i, e := range x.Entries {
		if _, ok := items[keys[i]]; ok || e.Added > ms(now.Add(-pruneGrace)) {
			live = append(live, e)
		}
	}
	x.Entries = live
	return nil
}

// listed reports whether the user's index lists d, reading the index item
// without decoding it (every read of a logged-in session asks): false
// when there is none, or it cannot be read.
func (s *Store) listed(ctx context.Context, userID string, d session.Digest) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	item, err := s.get(s.userKey(userID))
	if errors.Is(err, memcache.ErrCacheMiss) {
		return false, nil
	}
	if err != nil {
		return false, s.wrap("reading the user index", err)
	}
	return indexLists(item.Value, d), nil
}

// readIndex returns the user's index with its item (for cas), or nil when
// there is none.
func (s *Store) readIndex(ctx context.Context, userID string) (*index, *memcache.Item, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	item, err := s.get(s.userKey(userID))
	if errors.Is(err, memcache.ErrCacheMiss) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, s.wrap("reading the user index", err)
	}
	x, ok := decodeIndex(item.Value)
	if !ok {
		// An unreadable index lists nobody: the user's sessions are out.
		return &index{unreadable: true}, item, nil
	}
	return x, item, nil
}

// updateIndex applies change to the user's index with gets and cas (add
// when there is none), retried when another writer changed it meanwhile.
// change returns false to leave the index as it is.
func (s *Store) updateIndex(ctx context.Context, userID string, change func(*index) (bool, error)) error {
	for attempt := range maxAttempts {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		}
		x, item, err := s.readIndex(ctx, userID)
		if err != nil {
			return err
		}
		if x == nil {
			x = &index{}
		}
		write, err := change(x)
		if err != nil || !write && !x.unreadable {
			return err
		}
		v := encodeIndex(x)
		if item == nil {
			err = s.client.Add(&memcache.Item{Key: s.userKey(userID), Value: v})
			if errors.Is(err, memcache.ErrNotStored) {
				continue // created meanwhile
			}
		} else {
			item.Value, item.Expiration = v, 0
			if beforeCAS != nil {
				beforeCAS()
			}
			err = s.client.CompareAndSwap(item)
			if errors.Is(err, memcache.ErrCASConflict) || errors.Is(err, memcache.ErrNotStored) || errors.Is(err, memcache.ErrCacheMiss) {
				continue
			}
		}
		if err != nil {
			return s.wrap("writing the user index", err)
		}
		return nil
	}
	return s.wrap("writing the user index", fmt.Errorf("it kept changing over %d attempts", maxAttempts))
}

// prune drops the entries whose absolute deadline has passed.
func (x *index) prune(now time.Time) {
	live := x.Entries[:0]
	for _, e := range x.Entries {
		if e.Expires > now.UnixMilli() {
			live = append(live, e)
		}
	}
	x.Entries = live
}

// indexAdd lists e in the user's index; when replace is not zero, it takes
// the place of replace's entry, which must still be listed (a revocation
// emptied it otherwise: session.ErrNotFound).
func (s *Store) indexAdd(ctx context.Context, userID string, replace session.Digest, e entry, now time.Time) error {
	return s.updateIndex(ctx, userID, func(x *index) (bool, error) {
		x.prune(now)
		if replace != (session.Digest{}) {
			i := -1
			for j, old := range x.Entries {
				if old.Digest == replace {
					i = j
				}
			}
			if i < 0 {
				return false, session.ErrNotFound
			}
			x.Entries[i] = e
			return true, nil
		}
		for _, old := range x.Entries {
			if old.Digest == e.Digest {
				return false, nil
			}
		}
		if len(x.Entries) >= s.indexLimit {
			if err := s.pruneGone(x, now); err != nil {
				return false, err
			}
		}
		if len(x.Entries) >= s.indexLimit {
			return false, fmt.Errorf("memcached store: user has %d live sessions, the index holds at most %d", len(x.Entries), s.indexLimit)
		}
		x.Entries = append(x.Entries, e)
		return true, nil
	})
}

// ListByUser returns the user's live sessions: the index, then every
// listed item in one get of several keys.
func (s *Store) ListByUser(ctx context.Context, userID string, now time.Time) ([]session.Entry, error) {
	x, _, err := s.readIndex(ctx, userID)
	if err != nil || x == nil || len(x.Entries) == 0 {
		return nil, err
	}
	keys := make([]string, len(x.Entries))
	for i, e := range x.Entries {
		keys[i] = s.sessionKey(e.Digest)
	}
	items, err := s.client.GetMulti(keys)
	if err != nil {
		return nil, s.wrap("list by user", err)
	}
	var out []session.Entry
	for i, key := range keys {
		item, ok := items[key]
		if !ok {
			continue
		}
		rec, err := decodeRecord(item.Value)
		if err != nil || rec.UserID != userID || !rec.Alive(now) {
			continue
		}
		out = append(out, session.Entry{Digest: x.Entries[i].Digest, Record: rec})
	}
	return out, nil
}

// DeleteByUser empties the user's index but for keep, with cas (from that
// moment no other session of the user loads, and a renewal racing it
// fails or moves an entry this call then deletes), then deletes the items
// it listed and returns how many existed.
func (s *Store) DeleteByUser(ctx context.Context, userID string, keep session.Digest) (int, error) {
	return s.deleteListed(ctx, userID, func(e entry) bool { return e.Digest != keep })
}

// DeleteLineage deletes the user's sessions created at created, as
// DeleteByUser does.
func (s *Store) DeleteLineage(ctx context.Context, userID string, created time.Time) (int, error) {
	return s.deleteListed(ctx, userID, func(e entry) bool { return e.Created == ms(created) })
}

func (s *Store) deleteListed(ctx context.Context, userID string, drop func(entry) bool) (int, error) {
	var dropped []entry
	err := s.updateIndex(ctx, userID, func(x *index) (bool, error) {
		dropped = dropped[:0]
		kept := x.Entries[:0]
		for _, e := range x.Entries {
			if drop(e) {
				dropped = append(dropped, e)
			} else {
				kept = append(kept, e)
			}
		}
		x.Entries = kept
		return len(dropped) > 0, nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range dropped {
		err := s.client.Delete(s.sessionKey(e.Digest))
		if errors.Is(err, memcache.ErrCacheMiss) {
			continue
		}
		if err != nil {
			// Unlisted, so it no longer loads; the count is a lower bound.
			return n, s.wrap("delete by user", err)
		}
		n++
	}
	return n, nil
}
