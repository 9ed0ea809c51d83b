package redisstore

import (
	"log/slog"
	"time"
)

// Option configures a Store.
type Option func(*Store)

// WithPrefix sets the key prefix (default "session:"). It must not contain
// braces, which would put every key in one Cluster hash slot.
func WithPrefix(p string) Option { return func(s *Store) { s.prefix = p } }

// WithWait makes Delete, DeleteByUser and Renew wait (Redis WAIT) until the
// deletion reached at least replicas replicas or timeout passed, so that a
// failover right after a logout cannot promote a replica that still holds
// the session. WAIT goes in the deletion's pipeline: no extra round trip,
// but each deletion waits for the replicas' acknowledgement, up to
// timeout. When fewer replicas acknowledge within timeout, the call
// returns an error wrapping ErrNotReplicated: the logout fails loudly
// instead of being silently undoable. New refuses it on Cluster, where WAIT
// cannot follow the keyed commands to their node. From a URL (package
// storeurl): ?wait=N&wait_timeout=DURATION.
func WithWait(replicas int, timeout time.Duration) Option {
	return func(s *Store) { s.wait, s.waitFor = replicas, timeout }
}

// WithWaitOnWrites extends WithWait to Create and Update: each waits, in
// its own pipeline, for the replicas WithWait asks for. Give it to a store
// whose writes are revocations: the store of cookie sessions' revocation
// markers (cookiestore.NewRevocations), where a marker a failover loses
// would make a logged-out cookie valid again. On a store of server-side
// sessions it only makes logins and writes wait (a lost login or write
// logs out or loses a value, never undoes a logout). New refuses it
// without WithWait.
func WithWaitOnWrites() Option { return func(s *Store) { s.waitWrites = true } }

// WithLogger sets the logger for configuration warnings (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.logger = l } }

// WithUnsafeEviction lets New open a store on a node whose
// maxmemory-policy is allkeys-*, volatile-lru, volatile-lfu or
// volatile-random, which it refuses by default (ErrUnsafeEviction); New
// logs a warning instead. It is meant for tools that report the risk
// themselves (sessionctl warns and asks for --force before a force-logout
// under allkeys-*), or for a deliberate choice: volatile-lru with
// anonymous sessions kept in the cookie (session.WithAnonymousInCookie),
// or allkeys-* followed by RebuildUserIndex after evictions.
func WithUnsafeEviction() Option { return func(s *Store) { s.allowEviction = true } }
