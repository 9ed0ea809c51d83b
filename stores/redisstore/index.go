package redisstore

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
)

// addToIndex queues the user-index update of a new session.
func (s *Store) addToIndex(p redis.Pipeliner, ctx context.Context, d session.Digest, r *session.Record) {
	if r.UserID != "" {
		p.HSet(ctx, s.userKey(r.UserID), string(d[:]), "")
	}
}

// unindexDeleted removes a deleted session from its user's index. The
// session is gone whatever happens here: a failure only leaves a dead
// entry (pruned by the next listing on one node, kept on Cluster; see the
// package documentation), so it is logged rather than returned.
func (s *Store) unindexDeleted(ctx context.Context, userID string, d session.Digest) {
	s.warnUnindexed(ctx, s.client.HDel(ctx, s.userKey(userID), string(d[:])).Err())
}

// warnUnindexed logs the failure, if any, of removing a deleted session
// from its user's index.
func (s *Store) warnUnindexed(ctx context.Context, err error) {
	if err != nil {
		s.logger.WarnContext(ctx, "redisstore: removing a deleted session from its user's index", "error", err)
	}
}

// ListByUser returns the user's sessions alive at now: one HKEYS, then
// one pipeline of HGETALLs. Members whose session is gone are pruned from
// the index, except on Cluster, where a new session's entry may be seen
// before the session itself.
func (s *Store) ListByUser(ctx context.Context, userID string, now time.Time) ([]session.Entry, error) {
	idx := s.userKey(userID)
	members, err := s.client.HKeys(ctx, idx).Result()
	if err != nil {
		return nil, wrap("list by user", err)
	}
	if len(members) == 0 {
		return nil, nil
	}
	digests := make([]session.Digest, 0, len(members))
	for _, m := range members {
		var d session.Digest
		if len(m) == len(d) {
			copy(d[:], m)
			digests = append(digests, d)
		}
	}
	cmds := make([]*redis.MapStringStringCmd, len(digests))
	err = s.pipelined(ctx, func(p redis.Pipeliner) error {
		for i, d := range digests {
			key := s.key(d)
			cmds[i] = p.HGetAll(ctx, key)
		}
		return nil
	})
	if err != nil {
		return nil, wrap("list by user", err)
	}
	var out []session.Entry
	var dead []string
	for i, cmd := range cmds {
		h := cmd.Val()
		if len(h) == 0 {
			dead = append(dead, string(digests[i][:]))
			continue
		}
		rec, err := decode(h)
		if err != nil || rec.UserID != userID {
			continue // corrupt (unusable; the manager deletes it when presented) or another user's
		}
		if rec.Alive(now) {
			out = append(out, session.Entry{Digest: digests[i], Record: rec})
		}
	}
	// On one node a session and its index entry are written by one script,
	// so a member without a session is dead. On Cluster the index entry of
	// a new session is written beside it on another node and may be seen
	// first: pruning it would hide a live session from force-logout. There
	// the cleaner (DeleteExpired) and DeleteByUser prune.
	if len(dead) > 0 && !s.cluster {
		if err := s.client.HDel(ctx, idx, dead...).Err(); err != nil {
			// The listing is right; its entries are pruned next time.
			s.logger.WarnContext(ctx, "redisstore: pruning a user's index", "error", err)
		}
	}
	return out, nil
}

// byUser groups shard members (digest, then user id) by user id, skipping
// anonymous sessions: user id -> digests.
func byUser(members []string) map[string][]string {
	var d session.Digest
	out := map[string][]string{}
	for _, m := range members {
		if len(m) > len(d) {
			out[m[len(d):]] = append(out[m[len(d):]], m[:len(d)])
		}
	}
	return out
}

// unindex removes expired shard members from their users' indexes, in one
// pipeline.
func (s *Store) unindex(ctx context.Context, members []string) error {
	users := byUser(members)
	if len(users) == 0 {
		return nil
	}
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for user, ds := range users {
			p.HDel(ctx, s.userKey(user), ds...)
		}
		return nil
	})
	return err
}

// RebuildUserIndex adds every session listed in the expiry shards to its
// user's index and returns how many entries it added. The indexes never
// expire and cannot be evicted under the documented eviction policies; run
// this after one was lost anyway (an allkeys-* policy, a manual DEL, a
// partial restore), before relying on force-logout again. It reads every
// shard in pages of batch members (1,000 when batch <= 0), so it costs
// time proportional to the number of sessions; it is safe to run while the
// application serves requests.
func (s *Store) RebuildUserIndex(ctx context.Context, batch int) (int, error) {
	if batch <= 0 {
		batch = 1000
	}
	added := 0
	for _, shard := range s.shards() {
		var cursor uint64
		for {
			if err := ctx.Err(); err != nil {
				return added, err
			}
			kv, next, err := s.client.ZScan(ctx, shard, cursor, "", int64(batch)).Result()
			if err != nil {
				return added, wrap("rebuild user index", err)
			}
			members := make([]string, 0, len(kv)/2)
			for i := 0; i < len(kv); i += 2 { // member, score
				members = append(members, kv[i])
			}
			users := byUser(members)
			cmds := make([]*redis.IntCmd, 0, len(users))
			_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
				for user, ds := range users {
					cmds = append(cmds, p.HSet(ctx, s.userKey(user), indexEntries(ds)...))
				}
				return nil
			})
			if err != nil {
				return added, wrap("rebuild user index", err)
			}
			for _, c := range cmds {
				added += int(c.Val())
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
	}
	return added, nil
}

// indexEntries returns the field/value pairs that add the digests ds to a
// user's index: each digest (32 raw bytes) with an empty value.
func indexEntries(ds []string) []any {
	out := make([]any, 0, 2*len(ds))
	for _, d := range ds {
		out = append(out, d, "")
	}
	return out
}
