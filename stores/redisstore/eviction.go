package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// ErrUnsafeEviction reports a Redis node whose maxmemory-policy is
// allkeys-*: it may evict the user indexes and expiry shards of live
// sessions, after which a force-logout misses sessions and counts are
// wrong. New refuses such a node unless WithUnsafeEviction is given.
var ErrUnsafeEviction = errors.New("redisstore: maxmemory-policy allkeys-* may evict the indexes of live sessions (force-logout would miss sessions); use noeviction or volatile-ttl")

// checkEviction refuses a node whose policy may evict indexes, and warns
// about one that may evict logged-in users' sessions in favour of
// anonymous ones. A policy that cannot be read (CONFIG disabled, as on
// some managed services) is logged at debug level and accepted.
func (s *Store) checkEviction(ctx context.Context) error {
	policies, err := s.evictionPolicies(ctx)
	if err != nil {
		s.logger.DebugContext(ctx, "redisstore: cannot read maxmemory-policy (CONFIG disabled?)", "error", err)
		return nil
	}
	for node, policy := range policies {
		switch policy {
		case "volatile-lru", "volatile-lfu", "volatile-random":
			s.logger.WarnContext(ctx, "redisstore: under memory pressure this maxmemory-policy evicts logged-in users' sessions as readily as anonymous ones; use noeviction, or volatile-ttl with session.WithAnonymousIdleTimeout, or session.WithAnonymousInCookie",
				"policy", policy, "node", node)
		}
		if !strings.HasPrefix(policy, "allkeys-") {
			continue
		}
		if !s.allowEviction {
			return fmt.Errorf("%w (node %s has %s)", ErrUnsafeEviction, node, policy)
		}
		s.logger.WarnContext(ctx, "redisstore: unsafe maxmemory-policy: Redis may evict session indexes of live sessions; use noeviction or a volatile-* policy",
			"policy", policy, "node", node)
	}
	return nil
}

// UnsafeEviction returns the masters (address to policy) whose
// maxmemory-policy is allkeys-*: they may evict the user indexes and
// expiry shards of live sessions, after which counts over-report and a
// force-logout misses sessions until RebuildUserIndex runs. It returns an
// error when a master's policy cannot be read (CONFIG disabled).
func (s *Store) UnsafeEviction(ctx context.Context) (map[string]string, error) {
	policies, err := s.evictionPolicies(ctx)
	for node, policy := range policies {
		if !strings.HasPrefix(policy, "allkeys-") {
			delete(policies, node)
		}
	}
	return policies, err
}

// evictionPolicies returns every master's maxmemory-policy by address.
func (s *Store) evictionPolicies(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	var mu sync.Mutex
	check := func(ctx context.Context, c *redis.Client) error {
		res, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
		if err != nil {
			return fmt.Errorf("redisstore: reading maxmemory-policy of %s: %w", c.Options().Addr, err)
		}
		mu.Lock()
		out[c.Options().Addr] = res["maxmemory-policy"]
		mu.Unlock()
		return nil
	}
	var err error
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, check)
	case *redis.Client:
		err = check(ctx, c)
	default:
		err = fmt.Errorf("redisstore: cannot check the eviction policy through a %T", s.client)
	}
	return out, err
}
