package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
)

// renewAcrossSlots is Renew on Cluster: one pipeline takes the old session
// on its node, creates the new one on its node and, for a logged-in
// session, moves the user-index entry with moveIndexScript. The renewal
// stands only if all three succeeded and the old entry was still in the
// index; an entry that was gone means a revocation claimed it (see
// claimUserScript), and the renewal is undone without putting the old
// session back. The scripts go as EVAL, not EVALSHA: a node that lost its
// script cache must not leave the pipeline half applied with a NOSCRIPT to
// retry.
func (s *Store) renewAcrossSlots(ctx context.Context, old, new session.Digest, rec *session.Record) error {
	oldKey, oldShard := s.keys(old)
	newKey, newShard := s.keys(new)
	args := append([]any{ms(rec.ExpiresAt()), member(new, rec.UserID)}, fields(rec)...)
	var taken, created, moved *redis.Cmd
	// The pipeline's own error is the first of its commands' errors; each
	// command's is read below.
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		taken = takeScript.Eval(ctx, p, []string{oldKey, oldShard}, string(old[:]))
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
	pairs, takeErr := taken.StringSlice()
	oldUser := pairValue(pairs, "_u")
	var indexErr error
	claimed := false // a revocation claimed the old session's entry
	if moved != nil {
		// A session missing from its user's index would escape
		// force-logout: without the index entry, the renewal fails.
		was, err := moved.Int()
		indexErr = err
		claimed = err == nil && takeErr == nil && oldUser == rec.UserID && was == 0
	}
	if takeErr == nil && createErr == nil && indexErr == nil && !claimed {
		if oldUser != "" && oldUser != rec.UserID {
			s.unindexDeleted(ctx, oldUser, old)
		}
		return nil
	}
	var errs []error
	switch {
	case errors.Is(takeErr, redis.Nil), claimed:
		errs = append(errs, session.ErrNotFound) // the old session was gone or revoked: that decides
	default:
		errs = append(errs, takeErr, createErr, indexErr)
	}
	if createdNew {
		if _, err := s.Delete(ctx, new); err != nil {
			errs = append(errs, fmt.Errorf("deleting the new session: %w", err))
		}
	}
	if takeErr != nil && !errors.Is(takeErr, redis.Nil) {
		// The take's outcome is unknown (its node failed or timed out):
		// the old session may still exist while moveIndexScript removed
		// its index entry, which would hide it from every revocation.
		// Fail closed: delete it; if that fails too, put its entry back
		// so that it stays revocable.
		if _, err := s.Delete(ctx, old); err != nil {
			errs = append(errs, fmt.Errorf("deleting the old session after a failed take: %w", err))
			if moved != nil && rec.UserID != "" {
				s.warnUnindexed(ctx, restoreIndexScript.Eval(ctx, s.client, []string{s.userKey(rec.UserID)}, string(old[:]), string(new[:])).Err())
			}
		}
	}
	restoring := takeErr == nil && !claimed
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
