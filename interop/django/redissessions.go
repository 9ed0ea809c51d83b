package django

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisSessionsConfig describes a Django project whose sessions live in
// Redis through django-redis-sessions (SESSION_ENGINE =
// "redis_sessions.session"), which stores the session data Django's db
// backend keeps in its rows: signed JSON, never a pickle unless the
// project's SESSION_SERIALIZER says so.
type RedisSessionsConfig struct {
	// Client reaches the Redis of SESSION_REDIS (required).
	Client redis.UniversalClient
	// Prefix is SESSION_REDIS["prefix"]: a session's key is the prefix,
	// ":" and the session key, or the session key alone when it is empty
	// (the default).
	Prefix string
	// Secret, Fallbacks, StoreClass, AcceptSHA1, Compress and MaxPayload
	// sign and verify the session data, as in Config.
	Secret     string
	Fallbacks  []string
	StoreClass string
	AcceptSHA1 bool
	Compress   bool
	MaxPayload int
	// DB, Vendor, UserTable and Backends check logins against the user
	// table, as in CacheConfig.
	DB        *sql.DB
	Vendor    Vendor
	UserTable string
	Backends  []string
	// CookieAge, AbsoluteTimeout and TimeZone are as in CacheConfig: the
	// key's TTL is the session's expiry age, as django-redis-sessions
	// writes it (SETEX).
	CookieAge       time.Duration
	AbsoluteTimeout time.Duration
	TimeZone        *time.Location
}

// NewRedisSessionsStore returns a CacheStore over the sessions of
// django-redis-sessions: the same conditional writes, renewal and login
// checks as on Django's cache backend, with the value in Django's signed
// format (SPEC 3.9). A session key that names no Redis key is no session
// (django-redis-sessions itself keeps such a key and saves under it; the
// manager issues a new one).
func NewRedisSessionsStore(cfg RedisSessionsConfig) (*CacheStore, error) {
	if cfg.Client == nil {
		return nil, errors.New("django: RedisSessionsConfig.Client is required")
	}
	if cfg.Secret == "" {
		return nil, errors.New("django: RedisSessionsConfig.Secret (SECRET_KEY) is required")
	}
	if cfg.StoreClass == "" {
		cfg.StoreClass = "SessionStore"
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
	prefix := ""
	if cfg.Prefix != "" {
		prefix = cfg.Prefix + ":"
	}
	v := signedValue{storeClass: cfg.StoreClass, compress: cfg.Compress, signer: Signer{
		Secret: cfg.Secret, Fallbacks: cfg.Fallbacks, Salt: SessionSalt(cfg.StoreClass),
		AcceptSHA1: cfg.AcceptSHA1, MaxPayload: cfg.MaxPayload,
	}}
	return &CacheStore{client: cfg.Client, name: "django redis_sessions", prefix: prefix, codec: v,
		age: cfg.CookieAge, abs: cfg.AbsoluteTimeout, loc: cfg.TimeZone, users: u}, nil
}

// signedValue is django-redis-sessions' value: the session data as
// Django's SessionBase.encode writes it, the db backend's session_data.
type signedValue struct {
	signer     Signer
	storeClass string
	compress   bool
}

func (v signedValue) decode(raw []byte) (*dict, error) {
	payload, err := unsignSession(&v.signer, v.storeClass, string(raw), time.Now())
	if err != nil {
		// Not deleted: a wrong SECRET_KEY must not destroy every session
		// it meets (as in the db store).
		return nil, fmt.Errorf("django redis_sessions: session data: %w", err)
	}
	return decodeSession(payload)
}

// owns reports whether raw is session data signed (or, in the pre-3.1
// format, digested) under one of the secrets, whatever it holds, SHA-1
// signatures included: a session Go cannot read (a pickle, a legacy
// format) can still be logged out, another application's value under a
// bare session key is never deleted.
func (v signedValue) owns(raw []byte) bool {
	data := string(raw)
	if isPre31(data) {
		_, err := v.signer.decodePre31(data, legacySessionSalt(v.storeClass))
		return err == nil
	}
	either := v.signer // SHA-256 or SHA-1
	either.AcceptSHA1 = true
	_, err := either.Unsign(data, 0, time.Now())
	return err == nil || errors.Is(err, ErrTooLarge)
}

func (v signedValue) encode(d *dict) ([]byte, error) {
	return []byte(v.signer.Sign(encodeSession(d), v.compress, time.Now())), nil
}
