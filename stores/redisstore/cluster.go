package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
)

// renewAcrossSlots is Renew on Cluster: the old session is taken off its
// node first, then one pipeline creates the new one on its node and, for a
// logged-in session, moves the user-index entry with moveIndexScript. The
// take comes first, on a round trip of its own, so that the old session
// is gone before its index entry moves: in one pipeline the index could
// move before the take ran (each node gets its commands concurrently), and
// a revocation in between, which finds the sessions through the index,
// returned while the old session still loaded; and a take whose outcome
// is unknown (its node failing) leaves the index as it was, so the old
// session stays revocable. The renewal stands only if all three succeeded
// and the old entry was still in the index; an entry that was gone means a
// revocation claimed it (see claimUserScript), and the renewal is undone
// without putting the old session back. The scripts go as EVAL, not
// EVALSHA: a node that lost its script cache must not leave the pipeline
// half applied with a NOSCRIPT to retry.
func (s *Store) renewAcrossSlots(ctx context.Context, old, new session.Digest, rec *session.Record) error {
	oldKey, oldShard := s.keys(old)
	newKey, newShard := s.keys(new)
	taken := takeScript.Eval(ctx, s.client, []string{oldKey, oldShard}, string(old[:]))
	pairs, takeErr := taken.StringSlice()
	if errors.Is(takeErr, redis.Nil) {
		return wrap("renew", session.ErrNotFound) // gone, or revoked
	}
	if takeErr != nil {
		// Unknown whether it was taken: nothing else was changed, so a
		// session still there is still indexed and revocable.
		return wrap("renew", takeErr)
	}
	// The old session is off its node: what follows completes the renewal
	// or undoes it, and must not be cut short by the request's end (a
	// cancelled context would leave the old session taken and never put
	// back).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), renewUndoTimeout)
	defer cancel()
	args := append([]any{ms(rec.ExpiresAt()), member(new, rec.UserID)}, fields(rec)...)
	var created, moved *redis.Cmd
	// The pipeline's own error is the first of its commands' errors; each
	// command's is read below.
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		created = createScript.Eval(ctx, p, []string{newKey, newShard}, args...)
		if rec.UserID != "" {
			moved = moveIndexScript.Eval(ctx, p, []string{s.userKey(rec.UserID)}, string(old[:]), string(new[:]), ms(rec.Created))
		}
		return nil
	})
	n, createErr := created.Int()
	createdNew := createErr == nil && n == 1
	if createErr == nil && n == 0 {
		createErr = session.ErrExists
	}
	oldUser := pairValue(pairs, "_u")
	var indexErr error
	claimed := false // a revocation claimed the old session's entry
	if moved != nil {
		// A session missing from its user's index would escape
		// force-logout: without the index entry, the renewal fails.
		// -1: the lineage is being revoked, whoever the old session's
		// user was (a login over an anonymous session of the same
		// creation time included): the new session was not indexed.
		was, err := moved.Int()
		indexErr = err
		claimed = err == nil && (was == -1 || oldUser == rec.UserID && was == 0)
	}
	if createErr == nil && indexErr == nil && !claimed {
		if oldUser != "" && oldUser != rec.UserID {
			s.unindexDeleted(ctx, oldUser, old)
		}
		return nil
	}
	var errs []error
	if claimed {
		errs = append(errs, session.ErrNotFound) // the old session was revoked: that decides
	} else {
		errs = append(errs, createErr, indexErr)
	}
	if createdNew {
		if _, err := s.Delete(ctx, new); err != nil {
			errs = append(errs, fmt.Errorf("deleting the new session: %w", err))
		}
	}
	restoring := !claimed
	if !createdNew && moved != nil && indexErr == nil && !(restoring && oldUser == rec.UserID) {
		// The new entry moveIndexScript added has no session (restoring a
		// session of this user swaps the entries back instead).
		s.warnUnindexed(ctx, s.client.HDel(ctx, s.userKey(rec.UserID), string(new[:])).Err())
	}
	if restoring {
		if err := s.restore(ctx, old, new, oldUser, pairs); err != nil {
			errs = append(errs, fmt.Errorf("restoring the old session: %w", err))
		}
	}
	return wrap("renew", errors.Join(errs...))
}

// renewUndoTimeout bounds the part of a Cluster renewal after the take,
// which ignores the caller's cancellation.
const renewUndoTimeout = 10 * time.Second

// restore puts back a session taken by takeScript, from its fields and
// values, unless a revocation claimed its user-index entry (or the entry
// of its successor new) meanwhile: then it stays gone and restore returns
// an error wrapping ErrNotFound.
func (s *Store) restore(ctx context.Context, d, new session.Digest, userID string, pairs []string) error {
	h := make(map[string]string, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		h[pairs[i]] = pairs[i+1]
	}
	rec, err := decode(h)
	if err != nil {
		return err
	}
	if userID != "" {
		ok, err := restoreIndexScript.Eval(ctx, s.client, []string{s.userKey(userID)}, string(d[:]), string(new[:])).Int()
		if err != nil {
			return err
		}
		if ok == 0 {
			return fmt.Errorf("%w: revoked during the renewal", session.ErrNotFound)
		}
	}
	if err := s.Create(ctx, d, rec); errors.Is(err, session.ErrExists) {
		// Only a revocation's tombstone takes a digest that was just
		// taken.
		return fmt.Errorf("%w: revoked during the renewal", session.ErrNotFound)
	} else if err != nil {
		return err
	}
	return nil
}

// pairValue returns the value of field f in HGETALL-style pairs, or "".
func pairValue(pairs []string, f string) string {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] == f {
			return pairs[i+1]
		}
	}
	return ""
}
