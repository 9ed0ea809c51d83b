package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
)

// shards returns the 256 expiry-shard keys.
func (s *Store) shards() []string {
	out := make([]string, 256)
	for i := range out {
		out[i] = fmt.Sprintf("%s{%02x}:exp", s.prefix, i)
	}
	return out
}

// CountActive sums ZCOUNT over the 256 expiry shards in one pipeline: no
// SCAN, whatever the number of sessions.
func (s *Store) CountActive(ctx context.Context, now time.Time) (int64, error) {
	cmds := make([]*redis.IntCmd, 0, 256)
	min := "(" + strconv.FormatInt(ms(now), 10)
	err := s.pipelined(ctx, func(p redis.Pipeliner) error {
		cmds = cmds[:0] // pipelined may run fn twice
		for _, k := range s.shards() {
			cmds = append(cmds, p.ZCount(ctx, k, min, "+inf"))
		}
		return nil
	})
	if err != nil {
		return 0, wrap("count", err)
	}
	var n int64
	for _, c := range cmds {
		n += c.Val()
	}
	return n, nil
}

// DeleteExpired removes up to limit sessions expired at now, found through
// the expiry shards, and their user-index entries. Sessions Redis already
// expired by TTL only leave their shard and index entries, which are
// removed too.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	removed := 0
	max := strconv.FormatInt(ms(now), 10)
	for _, shard := range s.shards() {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		if removed >= limit {
			break
		}
		members, err := s.client.ZRangeByScore(ctx, shard, &redis.ZRangeBy{Min: "-inf", Max: max, Count: int64(limit - removed)}).Result()
		if err != nil {
			return removed, wrap("delete expired", err)
		}
		if len(members) == 0 {
			continue
		}
		cmds := make([]*redis.Cmd, 0, len(members))
		err = s.pipelined(ctx, func(p redis.Pipeliner) error {
			cmds = cmds[:0] // pipelined may run fn twice
			for _, m := range members {
				var d session.Digest
				copy(d[:], m)
				key, sh := s.keys(d)
				cmds = append(cmds, expireScript.Run(ctx, p, []string{key, sh}, m, max))
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return removed, wrap("delete expired", err)
		}
		var gone []string
		for i, c := range cmds {
			n, err := c.Int()
			if err != nil {
				return removed, wrap("delete expired", err)
			}
			if n == 1 {
				removed++
				gone = append(gone, members[i])
			}
		}
		if err := s.unindex(ctx, gone); err != nil {
			return removed, wrap("delete expired", err)
		}
	}
	return removed, nil
}
