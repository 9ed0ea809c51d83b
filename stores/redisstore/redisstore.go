// Package redisstore keeps sessions in Redis through go-redis v9's
// redis.UniversalClient, so one store serves a single node, a
// Sentinel-managed failover client and a Cluster client.
//
// # Key layout
//
// With the default prefix "session:", a token digest d (32 raw bytes) and
// h the hex of its first byte:
//
//	session:{h}:d            hash: one field "v:<key>" per session value;
//	                         metadata: "_m" created (",auth" relative to it
//	                         when logged in), "_l" last seen, "_i" idle
//	                         expiry, "_a" absolute expiry (ms), "_v" the
//	                         version, "_s" the values' size, and "_u",
//	                         "_ip", "_ua", "_o" (idle timeout), "_c"
//	                         (expire on close) when set; PEXPIREAT = the
//	                         session's expiry (application clock, ms)
//	session:{h}:exp          sorted set shard: digest (32 raw bytes)
//	                         followed by the user id, scored by expiry; 256
//	                         shards, each in the hash slot of the sessions
//	                         it indexes
//	session:user:<user id>   hash: a field per session of the user, its
//	                         digest (32 raw bytes), empty value; without a
//	                         TTL; entries leave with their session (logout,
//	                         login, revocation, and DeleteExpired, the
//	                         cleaner)
//
// Every field stays within Redis's listpack limit (64 bytes), so a session
// is one compact listpack unless a value is longer; the README gives the
// bytes per session and TestMemoryLayout pins them.
//
// Every script touches one hash slot only (a session and its expiry shard
// share the hash tag {h}), so nothing is CROSSSLOT on Cluster. The user
// index lives in another slot and is written in the same pipeline.
//
// On one node a session and its user-index entry are written by one
// script, so an entry without a session is dead, and listing and
// revocation prune such entries. On Cluster the entry is written on
// another node beside the session and can be seen a moment before it: an
// entry without a session may be a login in flight, and listing leaves it.
// A revocation claims (empties) the user's index in one step and then
// deletes the sessions, leaving a short-lived tombstone under a claimed
// digest whose session is not there yet, so that its creation fails; a
// renewal that finds its old entry claimed does not happen (see revoke.go). An entry left behind by a failure (a removal whose node was
// unreachable at that moment, or a creation that failed after its entry
// was written) stays, costing a lookup when the user's sessions are
// listed, until a revocation or the cleaner removes it.
//
// Only session hashes carry a TTL: the expiry shards and user indexes never
// expire, so a volatile-* eviction policy can evict sessions (their users
// are logged out) but never the index that force-logout relies on. If an
// index is lost anyway (an allkeys-* policy, a manual DEL, a partial
// restore), RebuildUserIndex recreates every index from the expiry shards.
//
// # Cost
//
// A read-only request is one HGETALL; a write one script that applies only
// the changed fields (so concurrent writes to different keys merge inside
// Redis) and refuses to run on a deleted session; a new session one script
// (with its user-index update in the same pipeline on Cluster). A login
// from an anonymous session is one atomic script on single-node
// deployments (standalone, Sentinel); on Cluster, where the old and new
// keys live in different slots, it takes the old session, then creates the
// new one (two round trips), each half undone if the other fails.
//
// # Eviction
//
// Redis must not evict session keys at will: use maxmemory-policy noeviction
// (writes fail when memory is full, and the manager answers with its error
// handler) or a volatile-* policy (only keys with a TTL, which every session
// has and no index has, are evicted, oldest expiry first with volatile-ttl).
// An allkeys-* policy may evict the expiry shards and user indexes of live
// sessions, after which force-logout misses sessions until
// RebuildUserIndex runs; under a flood of anonymous sessions, a
// volatile-lru, -lfu or -random policy evicts logged-in sessions as
// readily as anonymous ones (a mass logout). New checks the policy on every
// master and refuses both kinds (ErrUnsafeEviction; WithUnsafeEviction
// overrides it for tools and deliberate choices). Keep anonymous sessions
// in the cookie (session.WithAnonymousInCookie), or use volatile-ttl with a
// shorter anonymous idle timeout (session.WithAnonymousIdleTimeout), so
// that anonymous sessions go first.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
)

// DefaultPrefix starts every key the store writes.
const DefaultPrefix = "session:"

// Store is a Redis session store. It implements session.Store and every
// optional capability. It is safe for concurrent use.
type Store struct {
	client     redis.UniversalClient
	prefix     string
	cluster    bool
	wait       int
	waitFor    time.Duration
	waitWrites bool // WithWaitOnWrites: Create and Update wait too
	logger     *slog.Logger
	// allowEviction: WithUnsafeEviction.
	allowEviction bool
}

// New returns a store on client, which may be a *redis.Client (one node, or
// Sentinel through redis.NewFailoverClient) or a *redis.ClusterClient. It
// pings the server and checks its maxmemory-policy (see the package
// documentation). It refuses a client that reads from replicas (a cluster
// client with ReadOnly, RouteByLatency or RouteRandomly; a client connected
// to a replica): a replica lags its master, so it could still serve a
// session that was logged out or revoked, or miss one that was just
// created.
func New(ctx context.Context, client redis.UniversalClient, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: client is nil")
	}
	s := &Store{client: client, prefix: DefaultPrefix, logger: slog.Default()}
	for _, o := range opts {
		o(s)
	}
	if s.waitWrites && s.wait <= 0 {
		return nil, errors.New("redisstore: WithWaitOnWrites needs WithWait (how many replicas, how long)")
	}
	if s.wait < 0 || (s.wait > 0 && s.waitFor <= 0) {
		return nil, fmt.Errorf("redisstore: WithWait(%d, %v) needs a positive number of replicas and a positive timeout", s.wait, s.waitFor)
	}
	if strings.ContainsAny(s.prefix, "{}") {
		return nil, fmt.Errorf("redisstore: prefix %q must not contain braces", s.prefix)
	}
	if c, ok := client.(*redis.ClusterClient); ok {
		s.cluster = true
		if s.wait > 0 {
			return nil, errors.New("redisstore: WithWait is not possible on Cluster: WAIT cannot follow a deletion to its node's replicas")
		}
		if o := c.Options(); o.ReadOnly || o.RouteByLatency || o.RouteRandomly {
			return nil, errors.New("redisstore: the cluster client reads from replicas (ReadOnly, RouteByLatency or RouteRandomly); " +
				errReplicaReads)
		}
	}
	if err := client.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redisstore: connecting: %w", err)
	}
	if err := s.checkMaster(ctx); err != nil {
		return nil, err
	}
	if err := s.checkEviction(ctx); err != nil {
		return nil, err
	}
	if err := s.loadScripts(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// errReplicaReads says why the store refuses clients that read from
// replicas.
const errReplicaReads = "a replica can still hold a session that was just deleted (logout, revocation) " +
	"or not yet hold one just created (login): give the store a client that reads from the master"

// checkMaster refuses a single-node client (standalone, or Sentinel with
// ReplicaOnly) connected to a replica. Where ROLE is not allowed (ACL), the
// check is skipped: writes to a replica fail with READONLY anyway.
func (s *Store) checkMaster(ctx context.Context) error {
	if s.cluster {
		return nil
	}
	role, err := s.client.Do(ctx, "ROLE").Slice()
	if err != nil || len(role) == 0 {
		s.logger.DebugContext(ctx, "redisstore: cannot read the node's role (ROLE not allowed?)", "error", err)
		return nil
	}
	if r, _ := role[0].(string); r == "slave" || r == "replica" {
		return errors.New("redisstore: the client is connected to a replica; " + errReplicaReads)
	}
	return nil
}

// Client returns the Redis client.
func (s *Store) Client() redis.UniversalClient { return s.client }

var _ session.FullStore = (*Store)(nil)
