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

func wrap(op string, err error) error { return fmt.Errorf("redisstore: %s: %w", op, err) }

// Load reads the session in one HGETALL.
func (s *Store) Load(ctx context.Context, d session.Digest) (*session.Record, error) {
	h, err := s.client.HGetAll(ctx, s.key(d)).Result()
	if err != nil {
		return nil, wrap("load", err)
	}
	if len(h) == 0 {
		return nil, session.ErrNotFound
	}
	rec, err := decode(h)
	if errors.Is(err, errTombstone) {
		return nil, session.ErrNotFound
	}
	if err != nil {
		return nil, wrap("load", err)
	}
	return rec, nil
}

// Create stores the session if absent, in one script that also adds a
// logged-in session to its user's index. On Cluster, where the index lives
// in another slot, the index update goes beside the script in one
// pipeline.
func (s *Store) Create(ctx context.Context, d session.Digest, r *session.Record) error {
	key, shard := s.keys(d)
	args := append([]any{ms(r.ExpiresAt()), member(d, r.UserID)}, fields(r)...)
	var created *redis.Cmd
	if s.cluster && r.UserID != "" {
		err := s.pipelined(ctx, func(p redis.Pipeliner) error {
			created = createScript.Run(ctx, p, []string{key, shard}, args...)
			s.addToIndex(p, ctx, d, r)
			return nil
		})
		if err != nil {
			return wrap("create", err)
		}
	} else if s.waitWrites {
		keys := []string{key, shard}
		if r.UserID != "" {
			keys = append(keys, s.userKey(r.UserID))
		}
		var wait *redis.Cmd
		err := s.pipelined(ctx, func(p redis.Pipeliner) error {
			created = createScript.Run(ctx, p, keys, args...)
			wait = s.waitCmd(p, ctx)
			return nil
		})
		if err != nil {
			return wrap("create", err)
		}
		if n, _ := created.Int(); n == 1 {
			if err := s.waited(wait); err != nil {
				return wrap("create", err)
			}
		}
	} else {
		keys := []string{key, shard}
		if r.UserID != "" {
			keys = append(keys, s.userKey(r.UserID))
		}
		created = createScript.Run(ctx, s.client, keys, args...)
	}
	if n, err := created.Int(); err != nil {
		return wrap("create", err)
	} else if n == 0 {
		return session.ErrExists
	}
	return nil
}

// Update applies c in one script: only the changed fields are written, so
// concurrent changes to different keys merge; a deleted session is never
// recreated.
func (s *Store) Update(ctx context.Context, d session.Digest, c *session.Change) error {
	key, shard := s.keys(d)
	baseVersion, baseSize, viewSize := int64(-1), 0, 0
	if c.Base != nil {
		// The caller's view: the stored record if its version has not
		// moved (the script checks), which spares reading the sizes.
		baseVersion, baseSize = c.Base.Version, c.Base.Size()
		viewSize = baseSize
		if c.Clear {
			viewSize = 0
		}
		for _, k := range c.Delete {
			if v, ok := c.Base.Values[k]; ok && !c.Clear {
				viewSize -= len(k) + len(v)
			}
		}
		for k, v := range c.Set {
			if old, ok := c.Base.Values[k]; ok && !c.Clear {
				viewSize -= len(k) + len(old)
			}
			viewSize += len(k) + len(v)
		}
	}
	args := make([]any, 0, 29+len(c.Delete)+2*len(c.Set))
	// The script's activity test (ARGV[3], ARGV[5]) matches this one.
	activity := msOrZero(c.LastSeen) != 0 || c.SetExpiry
	// Moving the expiry needs the shard member and the absolute expiry;
	// with the record as read (neither changes in a session's life), the
	// script need not read them.
	memberArg, absArg := string(d[:]), ""
	if c.Base != nil && activity {
		memberArg, absArg = member(d, c.Base.UserID), strconv.FormatInt(ms(c.Base.AbsExpiry), 10)
	}
	args = append(args, memberArg, boolStr(c.Clear), msOrZero(c.LastSeen), msOrZero(c.IdleExpiry),
		boolStr(c.SetExpiry), absArg, "", max(c.MaxSize, 0),
		len(c.Delete), len(c.Set), baseVersion, baseSize, viewSize)
	for _, k := range c.Delete {
		args = append(args, "v:"+k)
	}
	for k, v := range c.Set {
		args = append(args, "v:"+k, v)
	}
	if c.SetClient {
		args = append(args, "_ip", c.IP, "_ua", c.UserAgent)
	}
	if c.SetExpiry {
		args = append(args, "_o", c.IdleTimeout.Milliseconds(), "_c", boolStr(c.ExpireOnClose))
	}
	if activity {
		// The script fills in the version, last seen and idle expiry.
		args = append(args, "_v", "", "_l", "", "_i", "")
	}
	if c.Clear || len(c.Set) > 0 || len(c.Delete) > 0 {
		args = append(args, "_s", "") // the script fills in the size
	}
	var res, wait *redis.Cmd
	if s.waitWrites {
		err := s.pipelined(ctx, func(p redis.Pipeliner) error {
			res = updateScript.Run(ctx, p, []string{key, shard}, args...)
			wait = s.waitCmd(p, ctx)
			return nil
		})
		if err != nil {
			return wrap("update", err)
		}
	} else {
		res = updateScript.Run(ctx, s.client, []string{key, shard}, args...)
	}
	n, err := res.Int()
	if err != nil {
		return wrap("update", err)
	}
	switch n {
	case 0:
		return session.ErrNotFound
	case -1:
		return fmt.Errorf("%w: the merged session would exceed %d bytes", session.ErrTooLarge, c.MaxSize)
	}
	if err := s.waited(wait); err != nil {
		return wrap("update", err)
	}
	return nil
}

// Touch moves the expiry forward in one script.
func (s *Store) Touch(ctx context.Context, d session.Digest, lastSeen, idleExpiry time.Time) error {
	key, shard := s.keys(d)
	n, err := touchScript.Run(ctx, s.client, []string{key, shard}, string(d[:]), ms(lastSeen), ms(idleExpiry)).Int()
	if err != nil {
		return wrap("touch", err)
	}
	if n == 0 {
		return session.ErrNotFound
	}
	return nil
}

// Delete removes the session and its expiry entry; with WithWait, it also
// waits for replicas. The user index is pruned lazily.
func (s *Store) Delete(ctx context.Context, d session.Digest) (bool, error) {
	key, shard := s.keys(d)
	var del, wait *redis.Cmd
	err := s.pipelined(ctx, func(p redis.Pipeliner) error {
		del = deleteScript.Run(ctx, p, []string{key, shard}, string(d[:]), "")
		wait = s.waitCmd(p, ctx)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, wrap("delete", err)
	}
	user, err := del.Text()
	existed := err == nil
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, wrap("delete", err)
	}
	if user != "" {
		s.unindexDeleted(ctx, user, d)
	}
	if err := s.waited(wait); err != nil {
		return existed, wrap("delete", err)
	}
	return existed, nil
}

// Renew moves the session from old to new. On single-node deployments this
// is one atomic script. On Cluster, where the two keys live in different
// hash slots, it takes the old session (reads and deletes it) on one
// round trip, then creates the new one and moves the user-index entry in
// one pipeline (see renewAcrossSlots: the old session is gone before its
// index entry moves, so no revocation can miss it). If a half fails, the
// other is undone: a new session whose old one was revoked meanwhile is
// deleted, and an old session whose new one could not be created is put
// back from what was taken.
func (s *Store) Renew(ctx context.Context, old, new session.Digest, rec *session.Record) error {
	if s.cluster {
		return s.renewAcrossSlots(ctx, old, new, rec)
	}
	oldKey, oldShard := s.keys(old)
	newKey, newShard := s.keys(new)
	idx := newKey
	if rec.UserID != "" {
		idx = s.userKey(rec.UserID)
	}
	args := append([]any{string(old[:]), member(new, rec.UserID), ms(rec.ExpiresAt()), rec.UserID}, fields(rec)...)
	var res, wait *redis.Cmd
	err := s.pipelined(ctx, func(p redis.Pipeliner) error {
		res = renewScript.Run(ctx, p, []string{oldKey, oldShard, newKey, newShard, idx}, args...)
		wait = s.waitCmd(p, ctx)
		return nil
	})
	if err != nil {
		return wrap("renew", err)
	}
	switch n, _ := res.Int(); n {
	case 0:
		return session.ErrNotFound
	case -1:
		return session.ErrExists
	}
	if err := s.waited(wait); err != nil {
		return wrap("renew", err)
	}
	return nil
}
