// Package flasksession reads and ends the server-side sessions that
// Flask-Session 0.3.2 (SESSION_TYPE = "redis") keeps in Redis, so that a Go
// service beside a Flask app can log its users out and, once the app
// stores JSON, read their sessions.
//
// Flask-Session 0.3.2 writes each session as pickle.dumps(dict) under
// SESSION_KEY_PREFIX + sid (default "session:"), sid a UUID4, the cookie
// holding the sid, signed by itsdangerous (salt "flask-session", SHA-1, HMAC
// key derivation) when SESSION_USE_SIGNER = True. Unpickling runs code the
// data chooses, so this package never decodes a pickle: Load refuses it
// with a *PickleError that names the change to make on the Python side, a
// session interface whose serializer writes JSON:
//
//	class JSONSerializer:
//	    def dumps(self, d): return json.dumps(d)
//	    def loads(self, b): return json.loads(b)
//
//	class JSONRedisSessionInterface(RedisSessionInterface):
//	    serializer = JSONSerializer()
//
//	app.session_interface = JSONRedisSessionInterface(redis, "session:", use_signer=True)
//
// Ending a session works whatever its format: Delete removes the key, and
// Flask-Session then sees no session under that cookie.
//
// Two behaviours of Flask-Session to know (both tested): without the
// signer it adopts any sid a client sends as a new session's id (session
// fixation), so use SESSION_USE_SIGNER = True; and a request that arrives
// after a logout with the old cookie writes {"_permanent": true} back under
// the same sid, so that a key exists does not mean a user is logged in:
// check the user's key in the data, as Load's callers do.
package flasksession

import (
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/itsdangerous"
	"github.com/sessionkit/session/internal/pyjson"
)

// Config describes the Flask app's Flask-Session settings.
type Config struct {
	// Client is the app's SESSION_REDIS (required).
	Client redis.UniversalClient
	// KeyPrefix is SESSION_KEY_PREFIX (default "session:").
	KeyPrefix string
	// Secret is the app's SECRET_KEY, required when UseSigner is set.
	Secret string
	// UseSigner is SESSION_USE_SIGNER: the cookie is the sid signed with
	// itsdangerous. Without it the cookie is the bare sid, which anyone
	// can choose (see the package documentation).
	UseSigner bool
	// MaxPayload bounds a session read from Redis (default 64 KiB).
	MaxPayload int
}

// ErrInvalidCookie: the cookie is not one Flask-Session issued: a bad
// signature, or not a UUID.
var ErrInvalidCookie = errors.New("flasksession: invalid session cookie")

// PickleError is Load's error for a session Flask-Session stored as a
// Python pickle, which is never decoded.
type PickleError struct{}

func (*PickleError) Error() string {
	return "flasksession: the session is a Python pickle (Flask-Session's RedisSessionInterface), which is never decoded; " +
		"give the app a RedisSessionInterface subclass whose serializer writes JSON (package flasksession's documentation)"
}

// Store reads and deletes Flask-Session's sessions in Redis.
type Store struct {
	cfg    Config
	signer *itsdangerous.Signer
}

// New returns the store of cfg.
func New(cfg Config) (*Store, error) {
	if cfg.Client == nil {
		return nil, errors.New("flasksession: Config.Client is required")
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = "session:"
	}
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = 64 << 10
	}
	s := &Store{cfg: cfg}
	if cfg.UseSigner {
		if cfg.Secret == "" {
			return nil, errors.New("flasksession: Config.Secret is required with UseSigner")
		}
		s.signer = itsdangerous.New([]string{cfg.Secret}, "flask-session", itsdangerous.HMAC, sha1.New)
	}
	return s, nil
}

// SessionID returns the sid of a session cookie's value, verifying its
// signature when the app signs them; ErrInvalidCookie otherwise.
func (s *Store) SessionID(cookie string) (string, error) {
	sid := cookie
	if s.signer != nil {
		var err error
		if sid, err = s.signer.Unsign(cookie); err != nil {
			return "", ErrInvalidCookie
		}
	}
	if !isUUID(sid) {
		return "", ErrInvalidCookie
	}
	return sid, nil
}

// isUUID reports whether sid is a UUID as Python's str(uuid.uuid4())
// spells it: 8-4-4-4-12 lowercase hex digits.
func isUUID(sid string) bool {
	if len(sid) != 36 {
		return false
	}
	for i := 0; i < len(sid); i++ {
		c := sid[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// Load returns the session of the cookie as its keys' JSON values:
// session.ErrNotFound when Redis has none, *PickleError when it is a pickle
// (Flask-Session's own format), an error wrapping session.ErrCorrupt when
// it is neither a JSON object nor a pickle.
func (s *Store) Load(ctx context.Context, cookie string) (map[string]json.RawMessage, error) {
	sid, err := s.SessionID(cookie)
	if err != nil {
		return nil, err
	}
	data, err := s.cfg.Client.Get(ctx, s.cfg.KeyPrefix+sid).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, session.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("flasksession: load: %w", err)
	}
	if len(data) > 0 && data[0] == 0x80 { // pickle protocol 2 and later start with PROTO
		return nil, &PickleError{}
	}
	if len(data) > s.cfg.MaxPayload {
		return nil, fmt.Errorf("flasksession: load: %w: %d bytes", session.ErrTooLarge, len(data))
	}
	values, err := pyjson.DecodeObject(data)
	if err != nil {
		return nil, fmt.Errorf("flasksession: load: %w: %w", session.ErrCorrupt, err)
	}
	out := make(map[string]json.RawMessage, len(values))
	for k, v := range values {
		out[k] = v
	}
	return out, nil
}

// Delete ends the cookie's session (a logout): the key goes, and the
// Flask app sees no session under that cookie. It reports whether there
// was one.
func (s *Store) Delete(ctx context.Context, cookie string) (bool, error) {
	sid, err := s.SessionID(cookie)
	if err != nil {
		return false, err
	}
	n, err := s.cfg.Client.Del(ctx, s.cfg.KeyPrefix+sid).Result()
	if err != nil {
		return false, fmt.Errorf("flasksession: delete: %w", err)
	}
	return n == 1, nil
}
