package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
)

// TombstoneTTL is how long a revocation's tombstone keeps a revoked digest
// from being created (see killScript). It bounds how late the creation half
// of a Cluster renewal pipeline, already sent when the revocation ran, may
// reach its node and still be stopped.
const TombstoneTTL = 5 * time.Minute

// DeleteByUser deletes every session in the user's index but keep, without
// a window in which a concurrent renewal could move a session out of its
// reach: claimUserScript empties the index (but keep) in one step on its
// node, then one pipeline kills the claimed sessions on theirs (see
// killScript), with WAIT when configured. A renewal moves its index entry
// atomically with its check that the old entry is still there, so a
// renewal that ran before the claim left its new digest in the index for
// the claim to take, and one that runs after it does not happen. Two round
// trips whatever the number of sessions, and Redis is never blocked for
// more than the claim of the index. Entries whose session could not be
// killed (a node unreachable) are put back in the index, so that the
// sessions stay listed and the next revocation ends them, and the call
// fails.
func (s *Store) DeleteByUser(ctx context.Context, userID string, keep session.Digest) (int, error) {
	idx := s.userKey(userID)
	keepMember := ""
	if keep != (session.Digest{}) {
		keepMember = string(keep[:])
	}
	members, err := claimUserScript.Run(ctx, s.client, []string{idx}, keepMember).StringSlice()
	if err != nil {
		return 0, wrap("delete by user", err)
	}
	n, err := s.kill(ctx, idx, userID, members)
	if err != nil {
		return n, wrap("delete by user", err)
	}
	return n, nil
}

// kill deletes the claimed sessions of a user (see killScript) in one
// pipeline, with WAIT when configured, and returns how many it deleted.
// Entries whose session could not be killed are put back in the index.
func (s *Store) kill(ctx context.Context, idx, userID string, members []string) (int, error) {
	if len(members) == 0 {
		return 0, nil
	}
	var cmds []*redis.Cmd
	var claimed []string // the member of each of cmds
	var wait *redis.Cmd
	ttl := TombstoneTTL.Milliseconds()
	// The pipeline's own error is the first of its commands' errors (or a
	// NOSCRIPT retried by pipelined, which runs fn again: killing is
	// idempotent); each command's is read below.
	_ = s.pipelined(ctx, func(p redis.Pipeliner) error {
		cmds, claimed = cmds[:0], claimed[:0]
		for _, m := range members {
			var d session.Digest
			if len(m) != len(d) {
				continue // malformed: no session to delete
			}
			copy(d[:], m)
			key, shard := s.keys(d)
			cmds = append(cmds, killScript.Run(ctx, p, []string{key, shard}, m, userID, ttl))
			claimed = append(claimed, m)
		}
		wait = s.waitCmd(p, ctx)
		return nil
	})
	n := 0
	var failed []string
	var errs []error
	for i, c := range cmds {
		k, err := c.Int()
		if err != nil {
			failed = append(failed, claimed[i])
			errs = append(errs, err)
			continue
		}
		n += k
	}
	if len(failed) > 0 {
		if err := s.client.HSet(ctx, idx, indexEntries(failed)...).Err(); err != nil {
			errs = append(errs, fmt.Errorf("putting the entries of the sessions not revoked back in the index: %w", err))
		}
		return n, fmt.Errorf("%d sessions deleted, %d could not be: %w", n, len(failed), errors.Join(errs...))
	}
	return n, s.waited(wait)
}

// maxLineageRounds bounds how many times DeleteLineage looks again for
// the successor of a session that a renewal moved while it was claiming;
// each look waits a little longer than the one before (round × 500 µs, so
// 31 rounds wait 0.25 s in all) for the renewals and creations in flight,
// of this lineage or of the user's others, to settle. Eight rounds without
// a wait were exhausted under a steady stream of renewals and logins of
// one user (TestRevocationRaceCluster with logins racing, under the whole
// suite's load).
const maxLineageRounds = 32

// DeleteLineage deletes the user's sessions created at created, with the
// gate of DeleteByUser: it marks the lineage in the user's index (from then
// on no renewal of it happens) and reads the index, reads the metadata of
// the sessions it lists, claims the entries of the lineage (and of digests
// without a session: on Cluster a creation may be in flight, and a
// tombstone stops it; a fresh login stopped this way retries with another
// token), and kills them. An entry that a renewal moved just before the
// mark has a successor in the index: it looks again, at most
// maxLineageRounds times. Five round trips when no renewal interferes.
func (s *Store) DeleteLineage(ctx context.Context, userID string, created time.Time) (int, error) {
	idx := s.userKey(userID)
	c := strconv.FormatInt(ms(created), 10)
	seen := map[string]bool{}
	total := 0
	members, err := markLineageScript.Run(ctx, s.client, []string{idx}, c).StringSlice()
	if err != nil {
		return 0, wrap("delete lineage", err)
	}
	defer func() {
		if err := s.client.HDel(context.WithoutCancel(ctx), idx, "L:"+c).Err(); err != nil {
			// Left behind, it only keeps stopping renewals of sessions of
			// this user created in that millisecond: the revoked lineage.
			// Revocations keep markers; nothing else removes it.
			s.logger.WarnContext(ctx, "redisstore: removing a lineage marker", "error", err)
		}
	}()
	for round := range maxLineageRounds {
		if round > 0 {
			select {
			case <-time.After(time.Duration(round) * 500 * time.Microsecond):
			case <-ctx.Done():
				return total, wrap("delete lineage", ctx.Err())
			}
			if members, err = s.client.HKeys(ctx, idx).Result(); err != nil {
				return total, wrap("delete lineage", err)
			}
		}
		var fresh []string
		for _, m := range members {
			if len(m) == len(session.Digest{}) && !seen[m] {
				fresh = append(fresh, m)
				seen[m] = true
			}
		}
		if len(fresh) == 0 {
			return total, nil
		}
		metas := make([]*redis.SliceCmd, len(fresh))
		err = s.pipelined(ctx, func(p redis.Pipeliner) error {
			for i, m := range fresh {
				metas[i] = p.HMGet(ctx, s.key(session.Digest([]byte(m))), "_m", "_u")
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return total, wrap("delete lineage", err)
		}
		var pick []any
		for i, meta := range metas {
			v, err := meta.Result()
			if err != nil {
				return total, wrap("delete lineage", err)
			}
			createdMS, _ := v[0].(string)
			user, _ := v[1].(string)
			if createdMS == "" || (user == userID && (createdMS == c || strings.HasPrefix(createdMS, c+","))) {
				pick = append(pick, fresh[i])
			}
		}
		if len(pick) == 0 {
			return total, nil
		}
		claimed, err := claimMembersScript.Run(ctx, s.client, []string{idx}, pick...).StringSlice()
		if err != nil {
			return total, wrap("delete lineage", err)
		}
		n, err := s.kill(ctx, idx, userID, claimed)
		total += n
		if err != nil {
			return total, wrap("delete lineage", err)
		}
		if len(claimed) == len(pick) {
			return total, nil
		}
	}
	return total, wrap("delete lineage", fmt.Errorf("renewals kept moving the session after %d rounds", maxLineageRounds))
}
