// Package redisstore keeps sessions in Redis through go-redis v9's
// redis.UniversalClient, so one store serves a single node, a
// Sentinel-managed failover client and a Cluster client.
//
// # Key layout
//
// With the default prefix "session:" and a token digest d (hex):
//
//	session:{d[0:2]}:d    hash: one field "v:<key>" per session value, "_m"
//	                      with the numbers (created, last seen, idle timeout,
//	                      idle expiry, absolute expiry, expire-on-close, auth
//	                      time; ms), "_v" the version, and "_u", "_ip", "_ua"
//	                      when not empty; PEXPIREAT = the session's expiry
//	                      (application clock, ms)
//	session:{d[0:2]}:exp  sorted set shard: digest (32 raw bytes) followed
//	                      by the user id, scored by expiry; 256 shards, each
//	                      in the hash slot of the sessions it indexes
//	session:u:<user id>   set of the user's digests (32 raw bytes), without
//	                      a TTL; entries leave with their session (logout,
//	                      login, revocation, and DeleteExpired, the cleaner)
//
// Every script touches one hash slot only (a session and its expiry shard
// share the hash tag {d[0:2]}), so nothing is CROSSSLOT on Cluster. The user
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
// keys live in different slots, it is one pipeline that takes the old
// session and creates the new one, each half undone if the other fails.
//
// # Eviction
//
// Redis must not evict session keys at will: use maxmemory-policy noeviction
// (writes fail when memory is full, and the manager answers with its error
// handler) or a volatile-* policy (only keys with a TTL, which every session
// has and no index has, are evicted, oldest expiry first with volatile-ttl).
// An allkeys-* policy may evict the expiry shards and user indexes of live
// sessions, after which force-logout misses sessions until
// RebuildUserIndex runs: New checks the policy on every master and refuses
// an allkeys-* one (ErrUnsafeEviction; WithUnsafeEviction overrides it for
// tools). Under a flood of anonymous sessions, a
// volatile-lru, -lfu or -random policy evicts logged-in sessions too: keep
// anonymous sessions in the cookie (session.WithAnonymousInCookie), or use
// volatile-ttl with a shorter anonymous idle timeout
// (session.WithAnonymousIdleTimeout), so that anonymous sessions go first;
// New logs a warning on the other volatile-* policies.
package redisstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
)

// DefaultPrefix starts every key the store writes.
const DefaultPrefix = "session:"

// Store is a Redis session store. It implements session.Store and every
// optional capability. It is safe for concurrent use.
type Store struct {
	client  redis.UniversalClient
	prefix  string
	cluster bool
	wait    int
	waitFor time.Duration
	logger  *slog.Logger
	// allowEviction: WithUnsafeEviction.
	allowEviction bool
}

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

// WithLogger sets the logger for configuration warnings (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.logger = l } }

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

// ErrUnsafeEviction reports a Redis node whose maxmemory-policy is
// allkeys-*: it may evict the user indexes and expiry shards of live
// sessions, after which a force-logout misses sessions and counts are
// wrong. New refuses such a node unless WithUnsafeEviction is given.
var ErrUnsafeEviction = errors.New("redisstore: maxmemory-policy allkeys-* may evict the indexes of live sessions (force-logout would miss sessions); use noeviction or volatile-ttl")

// WithUnsafeEviction lets New open a store on a node whose
// maxmemory-policy is allkeys-*, which it refuses by default
// (ErrUnsafeEviction). It is meant for tools that report the risk
// themselves (sessionctl warns and asks for --force before a
// force-logout), or for a deliberate choice followed by
// RebuildUserIndex after evictions.
func WithUnsafeEviction() Option { return func(s *Store) { s.allowEviction = true } }

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

// Client returns the Redis client.
func (s *Store) Client() redis.UniversalClient { return s.client }

// key returns the key of the session's hash: prefix, hash tag (the
// digest's first byte in hex), digest in hex.
func (s *Store) key(d session.Digest) string {
	b := make([]byte, 0, 128)
	b = append(b, s.prefix...)
	b = append(b, '{')
	b = hex.AppendEncode(b, d[:1])
	b = append(b, "}:"...)
	b = hex.AppendEncode(b, d[:])
	return string(b)
}

// keys returns the session's key and the expiry shard of its hash slot.
func (s *Store) keys(d session.Digest) (key, shard string) {
	key = s.key(d)
	return key, key[:len(s.prefix)+len("{00}:")] + "exp"
}

func (s *Store) userKey(userID string) string { return s.prefix + "u:" + userID }

// member is a session's entry in its expiry shard: the digest, then the
// user id.
func member(d session.Digest, userID string) string { return string(d[:]) + userID }

func ms(t time.Time) int64 { return t.UnixMilli() }

// msOrZero is ms, with 0 for the zero time ("unchanged" in a Change).
func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func boolStr(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// fields returns the hash fields of a record as alternating names and
// values: "_m" with the numbers, the non-empty strings, the values.
func fields(r *session.Record) []any {
	out := make([]any, 0, 8+2*len(r.Values))
	var auth int64
	if !r.AuthTime.IsZero() {
		auth = ms(r.AuthTime)
	}
	onClose := 0
	if r.ExpireOnClose {
		onClose = 1
	}
	m := strconv.AppendInt(nil, ms(r.Created), 10)
	for _, v := range []int64{ms(r.LastSeen), r.IdleTimeout.Milliseconds(), ms(r.IdleExpiry), ms(r.AbsExpiry), int64(onClose), auth} {
		m = append(m, ',')
		m = strconv.AppendInt(m, v, 10)
	}
	out = append(out, "_m", m, "_v", r.Version, "_s", int64(r.Size()))
	for _, f := range [...]struct{ name, v string }{{"_u", r.UserID}, {"_ip", r.IP}, {"_ua", r.UserAgent}} {
		if f.v != "" {
			out = append(out, f.name, f.v)
		}
	}
	for k, v := range r.Values {
		out = append(out, "v:"+k, v)
	}
	return out
}

// errTombstone is decode's error for a revocation's tombstone (see
// killScript): no session.
var errTombstone = fmt.Errorf("%w: a revoked session's tombstone", session.ErrNotFound)

// decode builds a record from HGETALL's result, in one pass over it.
func decode(h map[string]string) (*session.Record, error) {
	r := &session.Record{}
	var meta, version string
	var hasMeta, hasVersion bool
	type value struct{ key, v string }
	values := make([]value, 0, 8) // on the stack for small sessions
	size := 0
	for f, v := range h {
		switch {
		case strings.HasPrefix(f, "v:"):
			values = append(values, value{f[2:], v})
			size += len(v)
		case f == "_m":
			meta, hasMeta = v, true
		case f == "_v":
			version, hasVersion = v, true
		case f == "_u":
			r.UserID = v
		case f == "_ip":
			r.IP = v
		case f == "_ua":
			r.UserAgent = v
		case f == "_t":
			return nil, errTombstone
		}
	}
	if !hasMeta || !hasVersion {
		return nil, fmt.Errorf("%w: metadata or version missing", session.ErrCorrupt)
	}
	var m [7]int64
	for i := range m {
		field := meta
		if j := strings.IndexByte(meta, ','); j >= 0 {
			field, meta = meta[:j], meta[j+1:]
		} else {
			meta = ""
		}
		v, ok := parseInt(field)
		if !ok {
			return nil, fmt.Errorf("%w: metadata field %d is %q", session.ErrCorrupt, i, field)
		}
		m[i] = v
	}
	if meta != "" {
		return nil, fmt.Errorf("%w: trailing metadata", session.ErrCorrupt)
	}
	v, ok := parseInt(version)
	if !ok {
		return nil, fmt.Errorf("%w: version is %q", session.ErrCorrupt, version)
	}
	r.Version = v
	r.Created, r.LastSeen, r.IdleTimeout = fromMS(m[0]), fromMS(m[1]), time.Duration(m[2])*time.Millisecond
	r.IdleExpiry, r.AbsExpiry, r.ExpireOnClose = fromMS(m[3]), fromMS(m[4]), m[5] == 1
	if m[6] != 0 {
		r.AuthTime = fromMS(m[6])
	}
	if len(values) == 0 {
		return r, nil
	}
	// The values are copied into one buffer, each slice capped at its own
	// end so that an append cannot reach its neighbour.
	r.Values = make(map[string][]byte, len(values))
	buf := make([]byte, 0, size)
	for _, kv := range values {
		start := len(buf)
		buf = append(buf, kv.v...)
		r.Values[kv.key] = buf[start:len(buf):len(buf)]
	}
	return r, nil
}

// parseInt parses a decimal int64 as fields writes it: an optional minus
// sign and at most 19 digits, nothing else.
func parseInt(s string) (int64, bool) {
	i := 0
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		i = 1
	}
	if i == len(s) || len(s)-i > 19 {
		return 0, false
	}
	var n uint64 // 19 digits stay below 1e19 < 2^64
	for ; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case neg && n <= 1<<63:
		return -int64(n), true // int64(1<<63) wraps to the minimum, as its negation does
	case !neg && n < 1<<63:
		return int64(n), true
	}
	return 0, false
}

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

// addToIndex queues the user-index update of a new session.
func (s *Store) addToIndex(p redis.Pipeliner, ctx context.Context, d session.Digest, r *session.Record) {
	if r.UserID != "" {
		p.SAdd(ctx, s.userKey(r.UserID), string(d[:]))
	}
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
	args := make([]any, 0, 17+len(c.Delete)+2*len(c.Set))
	args = append(args, string(d[:]), boolStr(c.Clear), msOrZero(c.LastSeen), msOrZero(c.IdleExpiry),
		boolStr(c.SetExpiry), c.IdleTimeout.Milliseconds(), boolStr(c.ExpireOnClose), max(c.MaxSize, 0),
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
	if c.Clear || len(c.Set) > 0 || len(c.Delete) > 0 {
		args = append(args, "_s", "") // the script fills in the size
	}
	n, err := updateScript.Run(ctx, s.client, []string{key, shard}, args...).Int()
	if err != nil {
		return wrap("update", err)
	}
	switch n {
	case 0:
		return session.ErrNotFound
	case -1:
		return fmt.Errorf("%w: the merged session would exceed %d bytes", session.ErrTooLarge, c.MaxSize)
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

// ErrNotReplicated reports a deletion or renewal that fewer replicas
// acknowledged than WithWait asks for within its timeout. The master has
// applied it, but a failover before the replicas catch up could undo it
// (bring a logged-out session back), so the manager fails the request
// instead of reporting a logout that may not hold.
var ErrNotReplicated = errors.New("redisstore: too few replicas acknowledged the change")

// waitCmd queues WAIT when configured (New refuses WithWait on Cluster).
func (s *Store) waitCmd(p redis.Pipeliner, ctx context.Context) *redis.Cmd {
	if s.wait <= 0 {
		return nil
	}
	return p.Do(ctx, "WAIT", s.wait, s.waitFor.Milliseconds())
}

// waited checks the answer of the WAIT that waitCmd queued, if any.
func (s *Store) waited(w *redis.Cmd) error {
	if w == nil {
		return nil
	}
	n, err := w.Int()
	if err != nil {
		return fmt.Errorf("waiting for %d replicas: %w", s.wait, err)
	}
	if n < s.wait {
		return fmt.Errorf("%w: %d of %d replicas within %v", ErrNotReplicated, n, s.wait, s.waitFor)
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

// unindexDeleted removes a deleted session from its user's index. The
// session is gone whatever happens here: a failure only leaves a dead
// entry (pruned by the next listing on one node, kept on Cluster; see the
// package documentation), so it is logged rather than returned.
func (s *Store) unindexDeleted(ctx context.Context, userID string, d session.Digest) {
	s.warnUnindexed(ctx, s.client.SRem(ctx, s.userKey(userID), string(d[:])).Err())
}

// warnUnindexed logs the failure, if any, of removing a deleted session
// from its user's index.
func (s *Store) warnUnindexed(ctx context.Context, err error) {
	if err != nil {
		s.logger.WarnContext(ctx, "redisstore: removing a deleted session from its user's index", "error", err)
	}
}

// Renew moves the session from old to new. On single-node deployments this
// is one atomic script. On Cluster, where the two keys live in different
// hash slots, it is one pipeline (one round trip, both nodes at once) that
// takes the old session (reads and deletes it) and creates the new one
// beside it; nobody knows the new token yet, so nothing can see the new
// session before the old one is gone. If either half fails, the other is
// undone: a new session whose old one was already gone is deleted, and an
// old session whose new one could not be created is put back from what
// was taken.
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

// ListByUser returns the user's sessions alive at now: one SMEMBERS, then
// one pipeline of HGETALLs. Members whose session is gone are pruned from
// the index, except on Cluster, where a new session's entry may be seen
// before the session itself.
func (s *Store) ListByUser(ctx context.Context, userID string, now time.Time) ([]session.Entry, error) {
	idx := s.userKey(userID)
	members, err := s.client.SMembers(ctx, idx).Result()
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
	var dead []any
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
		if err := s.client.SRem(ctx, idx, dead...).Err(); err != nil {
			// The listing is right; its entries are pruned next time.
			s.logger.WarnContext(ctx, "redisstore: pruning a user's index", "error", err)
		}
	}
	return out, nil
}

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

// byUser groups shard members (digest, then user id) by user id, skipping
// anonymous sessions: user id -> digests.
func byUser(members []string) map[string][]any {
	var d session.Digest
	out := map[string][]any{}
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
			p.SRem(ctx, s.userKey(user), ds...)
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
					cmds = append(cmds, p.SAdd(ctx, s.userKey(user), ds...))
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

var _ session.FullStore = (*Store)(nil)
