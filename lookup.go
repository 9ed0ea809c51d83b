package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrInvalidToken reports a token that names no live session: malformed,
// never issued, expired, logged out or revoked. Lookup returns it; a store
// failure is a *StoreError instead, never this.
var ErrInvalidToken = errors.New("session: invalid or unknown session token")

// ErrAlreadySaved reports a Save or Abandon of a session from Lookup that
// was already saved or abandoned: the token it would return may no longer
// be the session's. Look the session up again for later changes.
var ErrAlreadySaved = errors.New("session: the session was already saved or abandoned")

// Lookup loads the session a token names outside an HTTP request, with
// every check the middleware makes (the strict token format, both
// deadlines, revocation): for a WebSocket connection that re-checks its
// session, a gRPC call, a background job. A token that names no live
// session gives ErrInvalidToken; a store failure gives its *StoreError,
// never ErrInvalidToken.
//
// The session is used like the request's (Get, Set, UserID, Login, Renew,
// Destroy through the manager with a context from Session.Context) and
// saved once with Manager.Save, under the same conditional writes and
// per-key merge as a request's. Lookup alone writes nothing, except the
// deletion of a session it finds past a deadline (as a request does).
func (m *Manager) Lookup(ctx context.Context, token string) (*Session, error) {
	if m.client != nil {
		return nil, fmt.Errorf("%w: Lookup needs a server-side store; client-side sessions live in their cookies", ErrUnsupported)
	}
	s := &Session{m: m, closeCookie: m.expireOnClose}
	s.ctx = &requestContext{Context: ctx, s: s} // FromContext finds it, as in a request
	d, ok := m.parseToken(token)
	if !ok {
		// Reported as the middleware reports a malformed cookie or
		// header: token guessing over gRPC or WebSocket shows too.
		m.emit(s.ctx, Event{Kind: EventInvalidToken, Reason: "malformed"})
		return nil, ErrInvalidToken
	}
	s.digest, s.token, s.presented, s.hasToken = d, token, token, true
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return nil, err
	}
	if !s.hasToken || s.rec == nil {
		return nil, ErrInvalidToken
	}
	return s, nil
}

// Context returns the context of a session from Lookup, which carries the
// session for the manager's calls (Login, Renew, Destroy, FromContext).
func (s *Session) Context() context.Context {
	if s == nil {
		return context.Background()
	}
	return s.ctx
}

// Save commits a session from Lookup: its changes, a due refresh of its
// expiry, a Login or Renew (a new token), a Destroy. It returns the token
// the session has afterwards (the new one after a renewal, "" after
// Destroy or when the session was ended meanwhile by a logout elsewhere).
// Under WithAnonymousInCookie an anonymous session is sealed in what Save
// returns, a cookie value rather than a token, which Lookup does not take:
// give such clients a session only once they log in.
// A session is saved once (a second Save or Abandon returns
// ErrAlreadySaved); look it up again for later changes.
//
// The save does not end with the context the session was looked up with:
// a gRPC stream or WebSocket connection whose client ended it is saved
// when it ends, so the save runs on that context's values without its
// cancellation, bounded by its deadline or by 10 seconds, as Destroy is.
func (m *Manager) Save(s *Session) (string, error) {
	return m.saveAs(s, http.StatusOK)
}

// Abandon ends a session from Lookup whose work failed, as the middleware
// treats a response with a 5xx status (Django's rule): nothing is saved,
// neither its changes nor a Login or Renew. A Destroy of this session (or
// a RevokeSession of its own handle, which destroys it) has already
// happened in the store; then Abandon returns "", otherwise the token the
// session was looked up with (which a revocation made by other means,
// such as RevokeUser, may have ended meanwhile). A session is ended once,
// by Save or Abandon; a second call returns ErrAlreadySaved.
func (m *Manager) Abandon(s *Session) (string, error) {
	return m.saveAs(s, http.StatusInternalServerError)
}

// saveAs commits s as the middleware does for a response with status.
func (m *Manager) saveAs(s *Session, status int) (string, error) {
	if s == nil || s.m != m || s.req != nil {
		return "", ErrNoSession
	}
	s.mu.Lock()
	called := s.saveCalled || s.committed
	s.saveCalled = true
	s.mu.Unlock()
	if called {
		return "", ErrAlreadySaved
	}
	h := http.Header{}
	if err := m.commit(s, h, status); err != nil {
		return "", err
	}
	// What the commit would have told a client: a new token, a deletion,
	// or nothing (the token stands).
	if m.headerToken {
		if v := h.Values(SessionTokenHeader); len(v) > 0 {
			return v[0], nil
		}
	} else {
		for _, line := range h.Values("Set-Cookie") {
			if rest, ok := strings.CutPrefix(line, m.cookieName+"="); ok {
				value, _, _ := strings.Cut(rest, ";")
				return value, nil
			}
		}
	}
	return s.presented, nil
}
