package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// ErrUnsafeEviction reports a Redis node whose maxmemory-policy may evict
// what a live session needs without a word: allkeys-* may evict the user
// indexes and expiry shards of live sessions (after which a force-logout
// misses sessions and counts are wrong); volatile-lru, volatile-lfu and
// volatile-random evict logged-in users' sessions as readily as anonymous
// ones (a flood of anonymous sessions logs everyone out). New refuses such
// a node unless WithUnsafeEviction is given. noeviction (writes fail
// loudly when memory is full) and volatile-ttl (the sessions closest to
// their expiry go first: the anonymous ones, with
// session.WithAnonymousIdleTimeout) are accepted.
var ErrUnsafeEviction = errors.New("redisstore: this maxmemory-policy may evict sessions or their indexes silently; use noeviction, or volatile-ttl with session.WithAnonymousIdleTimeout (or session.WithAnonymousInCookie)")

// unsafePolicy reports whether a maxmemory-policy is one New refuses.
func unsafePolicy(policy string) bool {
	switch policy {
	case "volatile-lru", "volatile-lfu", "volatile-random":
		return true
	}
	return strings.HasPrefix(policy, "allkeys-")
}

// checkEviction refuses a node whose policy may evict indexes or evict
// logged-in users' sessions in favour of anonymous ones (unless
// WithUnsafeEviction, then it warns). A policy that cannot be read (CONFIG
// disabled, as on some managed services) is accepted with a warning that
// names the policies to set: refusing would shut such services out, and
// the policy may well be safe.
func (s *Store) checkEviction(ctx context.Context) error {
	policies, err := s.evictionPolicies(ctx)
	if err != nil {
		s.logger.WarnContext(ctx, "redisstore: cannot read maxmemory-policy (CONFIG disabled?): make sure it is noeviction or volatile-ttl, or logged-in sessions and user indexes may be evicted silently", "error", err)
		return nil
	}
	for node, policy := range policies {
		if !unsafePolicy(policy) {
			continue
		}
		if !s.allowEviction {
			return fmt.Errorf("%w (node %s has %s)", ErrUnsafeEviction, node, policy)
		}
		s.logger.WarnContext(ctx, "redisstore: unsafe maxmemory-policy: Redis may evict logged-in users' sessions or the indexes of live sessions; use noeviction or volatile-ttl",
			"policy", policy, "node", node)
	}
	return nil
}

// UnsafeEviction returns the masters (address to policy) whose
// maxmemory-policy is allkeys-*: they may evict the user indexes and
// expiry shards of live sessions, after which counts over-report and a
// force-logout misses sessions until RebuildUserIndex runs. (The
// volatile-* policies, volatile-ttl included, evict sessions, never
// indexes: revocations stay right, but a session evicted before its
// expiry stays in its expiry shard, so CountActive counts it until that
// expiry passes.) It returns an error when a master's policy cannot be
// read (CONFIG disabled).
func (s *Store) UnsafeEviction(ctx context.Context) (map[string]string, error) {
	policies, err := s.evictionPolicies(ctx)
	for node, policy := range policies {
		if !strings.HasPrefix(policy, "allkeys-") {
			delete(policies, node)
		}
	}
	return policies, err
}

// EvictingNodes returns the masters (address to maxmemory-policy) that
// may evict keys: a maxmemory limit set and a policy other than
// noeviction. volatile-ttl, which New accepts, is among them: a session it
// evicts before its expiry stays in its expiry shard, so CountActive
// counts it until that expiry passes (an over-report, never an
// under-report), and the sessions nearest their end go first, logged-in
// ones and a Cluster revocation's tombstones included (see the README's
// eviction section). It returns an error when a master's configuration
// cannot be read (CONFIG disabled).
func (s *Store) EvictingNodes(ctx context.Context) (map[string]string, error) {
	nodes, err := s.evictionConfig(ctx)
	out := map[string]string{}
	for node, c := range nodes {
		if c.maxmemory != "0" && c.policy != "noeviction" {
			out[node] = c.policy
		}
	}
	return out, err
}

// evictionPolicies returns every master's maxmemory-policy by address.
func (s *Store) evictionPolicies(ctx context.Context) (map[string]string, error) {
	nodes, err := s.evictionConfig(ctx)
	out := map[string]string{}
	for node, c := range nodes {
		out[node] = c.policy
	}
	return out, err
}

// memoryConfig is a master's memory limit (bytes, decimal; "0": none) and
// eviction policy.
type memoryConfig struct{ maxmemory, policy string }

// evictionConfig returns every master's memory configuration by address.
func (s *Store) evictionConfig(ctx context.Context) (map[string]memoryConfig, error) {
	out := map[string]memoryConfig{}
	var mu sync.Mutex
	check := func(ctx context.Context, c *redis.Client) error {
		res, err := c.ConfigGet(ctx, "maxmemory*").Result()
		if err != nil {
			return fmt.Errorf("redisstore: reading maxmemory-policy of %s: %w", c.Options().Addr, err)
		}
		mu.Lock()
		out[c.Options().Addr] = memoryConfig{maxmemory: res["maxmemory"], policy: res["maxmemory-policy"]}
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
