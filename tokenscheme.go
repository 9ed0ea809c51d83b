package session

import "io"

// TokenScheme is how a Manager issues session tokens and turns the token a
// client presents into the key of its store. The default, used unless
// WithTokenScheme says otherwise, issues 43-character base64url tokens of
// 256 random bits and keys the store by their SHA-256 digest, so a store
// never holds a token. Another scheme exists to share sessions with a
// framework whose tokens have another form (Django's 32-character session
// keys, stored as they are: see the interop/django module). Since such a
// store key can be the token itself, a manager with another scheme gives
// no session handles: Session.Handle and UserSessions return
// ErrUnsupported.
type TokenScheme interface {
	// NewToken returns a fresh token and its store key, drawing its
	// randomness from random (crypto/rand unless WithRandom says otherwise).
	NewToken(random io.Reader) (token string, key Digest, err error)
	// Key checks the syntax of a token a client presented and returns its
	// store key; false for anything the scheme would never issue, which
	// is then rejected before any store is consulted.
	Key(token string) (key Digest, ok bool)
}

// WithTokenScheme makes the manager issue and accept tokens of scheme s
// instead of its own 43-character tokens keyed by SHA-256 digests.
func WithTokenScheme(s TokenScheme) Option {
	return func(c *config) { c.tokens = s }
}

// newToken issues a token of the manager's scheme.
func (m *Manager) newToken() (string, Digest, error) {
	if m.tokens == nil {
		return newToken(m.random)
	}
	return m.tokens.NewToken(m.random)
}

// parseToken checks a presented token against the manager's scheme and
// returns its store key.
func (m *Manager) parseToken(token string) (Digest, bool) {
	if m.tokens == nil {
		return parseToken(token)
	}
	return m.tokens.Key(token)
}
