package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

var allScripts = []*redis.Script{createScript, updateScript, touchScript, deleteScript, renewScript, expireScript,
	claimUserScript, claimMembersScript, killScript, moveIndexScript, restoreIndexScript, markLineageScript}

// loadScripts puts the scripts in every node's script cache, so pipelines
// can use EVALSHA.
func (s *Store) loadScripts(ctx context.Context) error {
	load := func(ctx context.Context, c redis.Scripter) error {
		for _, sc := range allScripts {
			if err := sc.Load(ctx, c).Err(); err != nil {
				return fmt.Errorf("redisstore: loading scripts: %w", err)
			}
		}
		return nil
	}
	if c, ok := s.client.(*redis.ClusterClient); ok {
		return c.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error { return load(ctx, n) })
	}
	return load(ctx, s.client)
}

// pipelined runs fn in a pipeline. A node that lost its script cache
// (restart, failover to a replica that never saw the scripts) answers
// NOSCRIPT: the scripts are loaded again and the pipeline retried once, so
// fn may run twice and must start afresh each time.
func (s *Store) pipelined(ctx context.Context, fn func(redis.Pipeliner) error) error {
	cmds, err := s.client.Pipelined(ctx, fn)
	if err != nil && noScript(cmds) {
		if lerr := s.loadScripts(ctx); lerr != nil {
			return errors.Join(err, lerr)
		}
		_, err = s.client.Pipelined(ctx, fn)
	}
	return err
}

// noScript reports whether any command failed with NOSCRIPT. The
// pipeline's own error is only the first command's, which on Cluster may
// be another node's redis.Nil.
func noScript(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		if redis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			return true
		}
	}
	return false
}
