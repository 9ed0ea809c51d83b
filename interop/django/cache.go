package django

import (
	"bytes"
	"compress/zlib"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
)

// CacheConfig describes a Django project whose sessions live in its cache
// (SESSION_ENGINE = "django.contrib.sessions.backends.cache") on Redis
// through django-redis, with django-redis' JSONSerializer.
type CacheConfig struct {
	// Client reaches the Redis of CACHES["default"]["LOCATION"] (required).
	Client redis.UniversalClient
	// KeyPrefix and Version are the cache's KEY_PREFIX and VERSION
	// (default "" and 1); a custom KEY_FUNCTION is not supported.
	KeyPrefix string
	Version   int
	// Msgpack matches OPTIONS["SERIALIZER"] =
	// "django_redis.serializers.msgpack.MSGPackSerializer" (default: the
	// JSONSerializer).
	Msgpack bool
	// Zlib matches OPTIONS["COMPRESSOR"] =
	// "django_redis.compressors.zlib.ZlibCompressor": values over 15 bytes
	// are written compressed; reads accept both forms either way.
	Zlib bool
	// MaxPayload bounds a decompressed value (default DefaultMaxPayload).
	MaxPayload int
	// Secret, DB, Vendor, UserTable and Backends check logins against the
	// user table, as in Config (without DB a session holding a login is
	// anonymous for Go, and Go logins fail).
	Secret string
	// Fallbacks are the project's SECRET_KEY_FALLBACKS (Django 4.1 and
	// later): a login whose _auth_user_hash was made under one of them is
	// honoured (Go logins are hashed under Secret), where without them it
	// would be flushed as after a password change. AcceptSHA1 also honours
	// the SHA-1 hashes Django 3.1/3.2 write with DEFAULT_HASHING_ALGORITHM =
	// "sha1" (4.0 and later flush them). As in Config.
	Fallbacks  []string
	AcceptSHA1 bool
	DB         *sql.DB
	Vendor     Vendor
	UserTable  string
	Backends   []string
	// CookieAge is SESSION_COOKIE_AGE (default two weeks): the idle
	// timeout of a session without its own set_expiry (see KeyExpiry), as
	// in Django; a write of such a session sets the TTL to it, and its last
	// activity reads as its expiry minus it.
	CookieAge time.Duration
	// AbsoluteTimeout is the manager's session.WithAbsoluteTimeout
	// (default CookieAge, the README's settings). Django keeps no login
	// time: a session's start reads as its last save, except that when
	// AbsoluteTimeout is at least CookieAge, a session whose set_expiry
	// outlasts it reads as started late enough that the manager never ends
	// it before Django does (see KeyExpiry). A shorter one ends every
	// session that long after its last save.
	AbsoluteTimeout time.Duration
	// TimeZone is the project's TIME_ZONE, as in Config: under USE_TZ =
	// False, django-redis' JSONSerializer stores a set_expiry datetime
	// (or timedelta) as a naive local time, which is read in it; without
	// it such a session ends when its TTL says (see KeyExpiry).
	TimeZone *time.Location
}

// CacheStore is a session.Store over Django's sessions kept in Redis, one
// key per session whose TTL is the session's expiry: Django's cache
// backend through django-redis (NewCacheStore), the key
// "<KEY_PREFIX>:<VERSION>:django.contrib.sessions.cache<session key>"
// holding the session dictionary as django-redis' JSONSerializer writes it
// (its default PickleSerializer is refused with a *PickleError naming the
// setting), or django-redis-sessions (NewRedisSessionsStore), the key
// holding Django's signed session data.
//
// Writes are conditional on the value being what was read (a Lua script
// compares and sets), so concurrent Go writes to different keys all
// survive; Django's own save overwrites the whole value. It implements
// session.Toucher and session.Renewer (renewal moves two keys in one
// script, so on Redis Cluster both must be on one node: use standalone
// Redis or Sentinel, as django-redis does).
type CacheStore struct {
	client redis.UniversalClient
	name   string // in errors: "django cache", "django redis_sessions"
	prefix string
	codec  valueCodec
	age    time.Duration // CookieAge
	abs    time.Duration // AbsoluteTimeout
	loc    *time.Location
	users  users
}

// valueCodec reads and writes the value of a session's key.
type valueCodec interface {
	decode(raw []byte) (*dict, error)
	encode(d *dict) ([]byte, error)
}

// cacheValue is the value django-redis writes: the dictionary as its
// JSONSerializer (or MSGPackSerializer) writes it, compressed by its
// ZlibCompressor when asked.
type cacheValue struct {
	msgpack, zlib bool
	max           int
}

// cacheKeyPrefix is what Django's cache backend puts before a session key.
const cacheKeyPrefix = "django.contrib.sessions.cache"

// NewCacheStore returns the store of cfg.
func NewCacheStore(cfg CacheConfig) (*CacheStore, error) {
	if cfg.Client == nil {
		return nil, errors.New("django: CacheConfig.Client is required")
	}
	if cfg.Secret == "" {
		return nil, errors.New("django: CacheConfig.Secret (SECRET_KEY) is required")
	}
	if cfg.Version == 0 {
		cfg.Version = 1
	}
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = DefaultMaxPayload
	}
	if cfg.CookieAge <= 0 {
		cfg.CookieAge = 14 * 24 * time.Hour
	}
	if cfg.AbsoluteTimeout <= 0 {
		cfg.AbsoluteTimeout = cfg.CookieAge
	}
	u, err := newUsers(cfg.DB, cfg.Vendor, cfg.UserTable, append([]string{cfg.Secret}, cfg.Fallbacks...), cfg.AcceptSHA1, cfg.Backends)
	if err != nil {
		return nil, err
	}
	return &CacheStore{client: cfg.Client, name: "django cache", prefix: cfg.KeyPrefix + ":" + strconv.Itoa(cfg.Version) + ":" + cacheKeyPrefix,
		codec: cacheValue{msgpack: cfg.Msgpack, zlib: cfg.Zlib, max: cfg.MaxPayload},
		age:   cfg.CookieAge, abs: cfg.AbsoluteTimeout, loc: cfg.TimeZone, users: u}, nil
}

func (c *CacheStore) key(d session.Digest) string { return c.prefix + string(d[:]) }

// decode reads a django-redis value: inflated when it is zlib data, then
// JSON (a pickle is refused).
func (c cacheValue) decode(raw []byte) (*dict, error) {
	data := raw
	if r, err := zlib.NewReader(bytes.NewReader(raw)); err == nil {
		out, err := io.ReadAll(io.LimitReader(r, int64(c.max)+1))
		r.Close()
		if err == nil {
			if len(out) > c.max {
				return nil, ErrTooLarge
			}
			data = out
		}
	}
	// A pickle starts with 0x80 and its protocol; an empty msgpack map is
	// the single byte 0x80.
	if len(data) > 0 && data[0] == 0x80 && (!c.msgpack || len(data) > 1) {
		return nil, &PickleError{Source: "django cache", Hint: `set CACHES["default"]["OPTIONS"]["SERIALIZER"] = "django_redis.serializers.json.JSONSerializer"` +
			` (or its MSGPackSerializer, with CacheConfig.Msgpack)`}
	}
	if c.msgpack {
		return decodeMsgpack(data)
	}
	return decodeObject(data)
}

// encode writes d as django-redis' JSONSerializer does (Python's default
// separators, ASCII) or its MSGPackSerializer, compressed as its
// ZlibCompressor does when asked.
func (c cacheValue) encode(d *dict) ([]byte, error) {
	var out []byte
	if c.msgpack {
		var err error
		if out, err = encodeMsgpack(d); err != nil {
			return nil, err
		}
	} else {
		out = encodeSpaced(d)
	}
	if c.zlib && len(out) > 15 {
		var b bytes.Buffer
		w, _ := zlib.NewWriterLevel(&b, 6)
		w.Write(out)
		w.Close()
		return b.Bytes(), nil
	}
	return out, nil
}

// Load reads the session and its TTL in one round trip and checks its
// login as Django does (a password changed since deletes the session); a
// login it does not honour is the record's claim (see users.claim).
func (c *CacheStore) Load(ctx context.Context, d session.Digest) (*session.Record, error) {
	rec, was, err := c.load(ctx, d)
	if err != nil {
		return nil, err
	}
	if rec.UserID == "" {
		if rec.ClaimedUser, err = c.users.claim(ctx, was.dict); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

func (c *CacheStore) load(ctx context.Context, d session.Digest) (*session.Record, *loaded, error) {
	was, err := c.peek(ctx, d)
	if err != nil {
		return nil, nil, err
	}
	user, flush, err := c.users.verify(ctx, was.dict)
	if err != nil {
		return nil, nil, err
	}
	if flush {
		if err := c.client.Del(ctx, c.key(d)).Err(); err != nil {
			return nil, nil, fmt.Errorf("%s: deleting a session whose password changed: %w", c.name, err)
		}
		return nil, nil, session.ErrNotFound
	}
	rec := recordOf(was.dict, user, was.expires, was.at, c.age, c.abs, c.loc, version(string(was.raw)))
	return rec, was, nil
}

// peek reads the value and its TTL in one round trip, without checking
// its login.
func (c *CacheStore) peek(ctx context.Context, d session.Digest) (*loaded, error) {
	k := c.key(d)
	pipe := c.client.Pipeline()
	get := pipe.Get(ctx, k)
	ttl := pipe.PTTL(ctx, k)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%s: load: %w", c.name, err)
	}
	raw, err := get.Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, session.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("%s: load: %w", c.name, err)
	}
	dict, err := c.codec.decode(raw)
	if err != nil {
		return nil, err
	}
	was := &loaded{raw: raw, dict: dict, at: time.Now(), expires: noDeadline}
	if t := ttl.Val(); t > 0 {
		was.expires = was.at.Add(t)
	}
	return was, nil
}

// loaded is the value a record was read from, at when, and when its TTL
// ends (noDeadline for none).
type loaded struct {
	raw         []byte
	dict        *dict
	at, expires time.Time
}

// value encodes rec with lt's expiry over the dictionary it was read
// from (nil for a new one); fresh writes new login keys (a login).
func (c *CacheStore) value(ctx context.Context, base *dict, rec *session.Record, fresh bool, lt lifetime) ([]byte, error) {
	out, err := rebuild(ctx, &c.users, base, rec, fresh, &lt)
	if err != nil {
		return nil, err
	}
	return c.codec.encode(out)
}

func ttlUntil(t time.Time) time.Duration {
	d := time.Until(t)
	if d < time.Millisecond {
		return time.Millisecond
	}
	return d
}

// Create sets the value if the key is free (Django's cache.add).
func (c *CacheStore) Create(ctx context.Context, d session.Digest, rec *session.Record) error {
	lt := lifetimeFor(nil, time.Time{}, rec, c.age, c.loc)
	v, err := c.value(ctx, nil, rec, true, lt)
	if err != nil {
		return err
	}
	ok, err := c.client.SetNX(ctx, c.key(d), v, ttlUntil(lt.expires)).Result()
	if err != nil {
		return fmt.Errorf("%s: create: %w", c.name, err)
	}
	if !ok {
		return session.ErrExists
	}
	return nil
}

// casScript sets KEYS[1] to ARGV[2] with a TTL of ARGV[3] ms if it still
// holds ARGV[1]; it returns 1, or 0 when the value changed or is gone.
var casScript = redis.NewScript(`if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`)

// Update applies c: read, apply, compare-and-set, retried when the value
// changed meanwhile.
func (c *CacheStore) Update(ctx context.Context, d session.Digest, ch *session.Change) error {
	for range maxAttempts {
		rec, was, err := c.load(ctx, d)
		if err != nil {
			return err
		}
		before := rec.Size()
		ch.Apply(rec)
		if err := ch.TooLarge(before, rec); err != nil {
			return err
		}
		redate(rec, ch, time.Now()) // Django dates the session from every save
		lt := lifetimeFor(was.dict, was.expires, rec, c.age, c.loc)
		v, err := c.value(ctx, was.dict, rec, false, lt)
		if err != nil {
			return err
		}
		n, err := casScript.Run(ctx, c.client, []string{c.key(d)}, was.raw, v, ttlUntil(lt.expires).Milliseconds()).Int()
		if err != nil {
			return fmt.Errorf("%s: update: %w", c.name, err)
		}
		if n == 1 {
			return nil
		}
	}
	return fmt.Errorf("%s: update: the value kept changing over %d attempts", c.name, maxAttempts)
}

// touchScript moves KEYS[1]'s TTL forward only to ARGV[2] (Unix ms;
// PEXPIREAT ... GT, Redis 7) if it still holds ARGV[1]; it returns 1, or 0
// when the value changed or is gone.
var touchScript = redis.NewScript(`if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIREAT', KEYS[1], ARGV[2], 'GT')
return 1`)

// Touch moves the TTL forward (never back) to idleExpiry, but never past
// what the value's own expiry, as read now, gives a save at lastSeen (the
// request's view may predate a Django set_expiry that shortened the
// session, and an expiry the store does not understand is never
// extended), conditional on the value being what was read.
func (c *CacheStore) Touch(ctx context.Context, d session.Digest, lastSeen, idleExpiry time.Time) error {
	for range maxAttempts {
		was, err := c.peek(ctx, d)
		if err != nil {
			return err
		}
		e := parseExpiry(was.dict.vals[KeyExpiry], c.age, c.loc)
		target := minTime(idleExpiry, e.expires(lastSeen, was.expires)).Truncate(time.Millisecond)
		if !was.expires.Before(target) {
			return nil // already as late, or no TTL
		}
		n, err := touchScript.Run(ctx, c.client, []string{c.key(d)}, was.raw, target.UnixMilli()).Int()
		if err != nil {
			return fmt.Errorf("%s: touch: %w", c.name, err)
		}
		if n == 1 {
			return nil
		}
	}
	return fmt.Errorf("%s: touch: the value kept changing over %d attempts", c.name, maxAttempts)
}

// Delete removes the key, as Django's flush does.
func (c *CacheStore) Delete(ctx context.Context, d session.Digest) (bool, error) {
	if o, ok := c.codec.(owner); ok {
		return c.deleteOwned(ctx, d, o)
	}
	n, err := c.client.Del(ctx, c.key(d)).Result()
	if err != nil {
		return false, fmt.Errorf("%s: delete: %w", c.name, err)
	}
	return n > 0, nil
}

// owner is a valueCodec that tells a session's value from another one
// (a key space shared with other data: django-redis-sessions without a
// prefix keeps sessions under their bare session keys).
type owner interface {
	owns(raw []byte) bool
}

// delIfScript deletes KEYS[1] if it holds ARGV[1]: 1, or 0.
var delIfScript = redis.NewScript(`if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`)

// deleteOwned deletes the key only if it holds a session, whose value o
// recognizes (a logout may name a key that Go could not read), and only
// the value read: a cookie naming another key of the database deletes
// nothing.
func (c *CacheStore) deleteOwned(ctx context.Context, d session.Digest, o owner) (bool, error) {
	for range maxAttempts {
		raw, err := c.client.Get(ctx, c.key(d)).Bytes()
		if errors.Is(err, redis.Nil) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("%s: delete: %w", c.name, err)
		}
		if !o.owns(raw) {
			return false, nil
		}
		n, err := delIfScript.Run(ctx, c.client, []string{c.key(d)}, raw).Int()
		if err != nil {
			return false, fmt.Errorf("%s: delete: %w", c.name, err)
		}
		if n == 1 {
			return true, nil
		}
	}
	return false, fmt.Errorf("%s: delete: the value kept changing over %d attempts", c.name, maxAttempts)
}

// renewScript moves KEYS[1] (holding ARGV[1]) to KEYS[2] with value ARGV[2]
// and a TTL of ARGV[3] ms: -1 when KEYS[2] exists, 0 when KEYS[1] changed
// or is gone, 1 when moved.
var renewScript = redis.NewScript(`if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[1])
return 1`)

// Renew moves the session to a new key atomically (Django's cycle_key).
// If the value changed since the request loaded rec, its own expiry is
// kept when it ends earlier than rec's (see renewedLifetime).
func (c *CacheStore) Renew(ctx context.Context, old, new session.Digest, rec *session.Record) error {
	for range maxAttempts {
		_, was, err := c.load(ctx, old)
		if err != nil {
			return err
		}
		lt := renewedLifetime(was.dict, version(string(was.raw)), was.expires, was.at, rec, c.age, c.loc)
		v, err := c.value(ctx, was.dict, rec, true, lt)
		if err != nil {
			return err
		}
		n, err := renewScript.Run(ctx, c.client, []string{c.key(old), c.key(new)}, was.raw, v, ttlUntil(lt.expires).Milliseconds()).Int()
		if err != nil {
			return fmt.Errorf("%s: renew: %w", c.name, err)
		}
		switch n {
		case 1:
			return nil
		case -1:
			return session.ErrExists
		}
	}
	return fmt.Errorf("%s: renew: the value kept changing over %d attempts", c.name, maxAttempts)
}

var (
	_ session.Store   = (*CacheStore)(nil)
	_ session.Toucher = (*CacheStore)(nil)
	_ session.Renewer = (*CacheStore)(nil)
)
