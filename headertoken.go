package session

import (
	"fmt"
	"net/http"
	"strings"
)

// SessionTokenHeader is the response header through which a header-token
// manager (WithHeaderToken) hands the client its token: the new token when
// one is issued (a new session, Login, Renew), and an empty value when the
// session ended (logout, revocation, expiry: the client must drop its
// token).
const SessionTokenHeader = "Session-Token"

// WithHeaderToken makes the manager read the session token from a request
// header instead of a cookie, for APIs and mobile apps: from
// "Authorization: Bearer TOKEN" when header is "" or "Authorization",
// otherwise from the named header's whole value. The manager sends no
// Set-Cookie: a new token goes out in the Session-Token response header
// (and Session.IssuedToken gives it to a handler that writes it in its
// JSON), an ended session as an empty Session-Token. Everything else is as
// with cookies: strict tokens, digests in the store, deadlines, renewal,
// revocation. A header-token manager ignores cookies and a cookie manager
// ignores the header, so neither accepts the other's transport by
// accident.
//
// A header token needs no CSRF protection: browsers attach cookies to
// cross-site requests on their own, but never an Authorization header a
// script of another site cannot read. What it needs instead: the client
// must store the token where other code cannot read it (the platform's
// keychain; not localStorage of a page that could run injected scripts),
// send it only over TLS, and sessions should be short-lived (the idle and
// absolute timeouts), renewed on privilege changes like any session. It
// cannot be combined with WithAnonymousInCookie or NewClientSide.
func WithHeaderToken(header string) Option {
	return func(c *config) {
		c.headerToken = true
		c.tokenHeader = http.CanonicalHeaderKey(header)
		if header == "" {
			c.tokenHeader = "Authorization"
		}
	}
}

// TokenHeader returns the request header a header-token manager reads its
// token from (WithHeaderToken), or "" for a cookie manager.
func (m *Manager) TokenHeader() string {
	if !m.headerToken {
		return ""
	}
	return m.tokenHeader
}

// readHeaderToken finds the session token in the request's token header.
// Several values, or one that is not a well-formed token, make the
// request anonymous (an invalid-token event), as duplicate or malformed
// cookies do.
func (m *Manager) readHeaderToken(r *http.Request, s *Session) {
	values := r.Header.Values(m.tokenHeader)
	switch len(values) {
	case 0:
		return
	case 1:
	default:
		s.tokenIssue = "duplicate"
		return
	}
	v := strings.TrimSpace(values[0])
	if m.tokenHeader == "Authorization" {
		scheme, rest, ok := strings.Cut(v, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return // another scheme (Basic, ...): not ours
		}
		v = strings.TrimSpace(rest)
	}
	d, ok := m.parseToken(v)
	if !ok {
		s.tokenIssue = "malformed"
		return
	}
	s.digest, s.token, s.presented, s.hasToken = d, v, v, true
}

// writeHeaderToken hands the client its token (empty: drop it).
func writeHeaderToken(h http.Header, token string) {
	h.Set(SessionTokenHeader, token)
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
}

// IssuedToken returns the token this request's commit issued to a
// header-token manager's client (WithHeaderToken), so that a handler can
// put it in its response body: call it after the response header was
// written (w.WriteHeader, or the first Write), which commits the session.
// It returns "" when no token was issued, before the commit, and always
// for cookie managers, whose tokens never reach scripts.
func (s *Session) IssuedToken() string {
	if s == nil || !s.m.headerToken {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.committed || s.token == s.presented {
		return ""
	}
	return s.token
}

// validateHeaderToken checks the options WithHeaderToken cannot be
// combined with.
func (c *config) validateHeaderToken() error {
	if !c.headerToken {
		return nil
	}
	if c.anon != nil {
		return fmt.Errorf("%w: WithHeaderToken cannot be combined with WithAnonymousInCookie", ErrConfig)
	}
	if c.tokenHeader == "" || !validCookieName(c.tokenHeader) {
		return fmt.Errorf("%w: invalid token header name %q", ErrConfig, c.tokenHeader)
	}
	return nil
}
