package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// The request path of a client-side manager (NewClientSide): the cookie
// value is the sealed session, not a token.

// readClientCookie takes the session cookie's value for Open. Values longer
// than a browser keeps, or outside the base64url alphabet, are rejected
// before any decryption; several distinct values make the request
// anonymous.
func (m *Manager) readClientCookie(r *http.Request, s *Session) {
	seen := false
	for v := range namedCookies(r.Header, m.cookieName) {
		seen = true
		if !plausibleSealed(v) {
			continue
		}
		if s.hasToken && v != s.token {
			s.hasToken, s.token, s.tokenIssue = false, "", "duplicate"
			return
		}
		s.hasToken, s.token = true, v
	}
	if seen && !s.hasToken && s.tokenIssue == "" {
		s.tokenIssue = "malformed"
	}
}

// plausibleSealed is the check before a cookie reaches the ClientStore's
// Open: not empty, not over the size browsers keep, and only RFC 6265
// cookie-octets (sealed formats differ: this package's is base64url,
// Python frameworks' add ".", "+", "/", "=", ":"); each Open then checks
// its own format strictly.
func plausibleSealed(v string) bool {
	if v == "" || len(v) > MaxCookieSize {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !cookieOctet(v[i]) {
			return false
		}
	}
	return true
}

// cookieOctet reports a byte RFC 6265 allows in a cookie value: visible
// ASCII except the double quote, comma, semicolon and backslash.
func cookieOctet(c byte) bool {
	return c > 0x20 && c < 0x7f && c != '"' && c != ',' && c != ';' && c != '\\'
}

// sealer is the ClientStore of the manager's sealed sessions: every
// session of a client-side manager, the anonymous ones with
// WithAnonymousInCookie.
func (m *Manager) sealer() ClientStore {
	if m.client != nil {
		return m.client
	}
	return m.anon
}

// loadClient opens the cookie. It must be called with s.mu held, after the
// token checks of load.
func (s *Session) loadClient() error {
	m := s.m
	now := m.now()
	id, rec, reseal, err := m.sealer().Open(s.ctx, m.cookieName, s.token, now)
	if err == nil && m.client == nil && rec.UserID != "" {
		// An anonymous cookie (WithAnonymousInCookie) never carries a
		// user: logged-in sessions are server-side.
		err = ErrInvalidCookie
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrRevoked):
		s.hasToken, s.clearCookie = false, s.deadCookieDeletable()
		m.emit(s.ctx, Event{Kind: EventRevoked, Reason: "client-side session revoked", RemoteAddr: s.remoteAddr})
		return nil
	case errors.Is(err, ErrInvalidCookie):
		// Tampered with, or sealed with a key retired since: dead, so it
		// is deleted once, as a dead token is.
		s.hasToken = false
		s.clearCookie = s.deadCookieDeletable()
		m.emit(s.ctx, Event{Kind: EventInvalidToken, Reason: "tampered", RemoteAddr: s.remoteAddr})
		return nil
	default:
		s.loadErr = m.storeErr(s.ctx, "open", Digest{}, err)
		return s.loadErr
	}
	if !m.alive(rec, now) {
		s.hasToken, s.clearCookie = false, s.deadCookieDeletable()
		m.emit(s.ctx, Event{Kind: EventExpired, token: ref(id), UserID: rec.UserID, RemoteAddr: s.remoteAddr})
		return nil
	}
	s.digest, s.reseal = id, reseal
	s.adopt(rec, true, now)
	return nil
}

// commitClient seals the session into the cookie when anything changed, a
// refresh is due, the login renewed it or the cookie used an old key.
func (m *Manager) commitClient(ctx context.Context, s *Session, h http.Header, now time.Time) error {
	var rec *Record
	id := s.digest
	reason := ""
	if s.rec != nil && s.login && !s.newLineage && m.revoker != nil {
		if err := m.continuable(ctx, s, now); err != nil {
			return err
		}
	}
	if s.rec != nil && s.login {
		// A login is a new authentication: a new session (creation time),
		// never a continuation of the one it read. A cookie cannot be
		// deleted, only outdated: a revocation of the user that starts
		// after the hook accepted this session above, and whose "not
		// before" time precedes this login's authentication, would not
		// cover the continuation, which would keep the revoked lineage
		// alive (sessiontest.RevocationRace found it 2 times in 300
		// rounds).
		s.newLineage = true
	}
	var created time.Time // of a new session: read the clock only then
	switch {
	case !s.created.IsZero():
		created = s.created // chosen by RevokeOtherSessions, which kept it
	case s.rec == nil || s.newLineage:
		created = m.lineageTime(now)
	}
	switch {
	case s.rec == nil && (len(s.values) > 0 || s.login):
		rec = &Record{Created: created, AbsExpiry: now.Add(m.absoluteFor(s)), Version: 1}
		reason = "create"
	case s.rec != nil && (s.dirty() || s.reseal || m.touchDue(s.rec, now)):
		c := *s.rec // its values are replaced by the session's below
		rec = &c
		rec.Version++
		if s.renew {
			reason = "renew"
		}
	case s.clearCookie:
		m.writeDeletion(h)
		return nil
	default:
		return nil
	}
	rec.Values = s.values
	rec.LastSeen = now
	if s.expirySet || reason == "create" {
		rec.IdleTimeout, rec.ExpireOnClose = s.idleOverride, s.closeCookie
	}
	if s.login {
		rec.UserID, rec.AuthTime = s.userID, s.authTime
	}
	if s.newLineage {
		rec.Created = created // a new session, not a continuation
	}
	if s.login || s.absOverride > 0 {
		rec.AbsExpiry = m.capLifetime(rec, now.Add(m.loginLifetime(s, s.rec)))
	}
	rec.IdleExpiry = minTime(now.Add(m.idleFor(rec.IdleTimeout, rec.UserID)), rec.AbsExpiry)
	rec.IP, rec.UserAgent = m.clientOf(s)
	if reason != "" {
		// A new identity: a fresh id.
		_, d, err := newToken(m.random)
		if err != nil {
			return err
		}
		id = d
	}
	value, err := m.sealer().Seal(ctx, m.cookieName, id, rec)
	if err != nil {
		return fmt.Errorf("session: sealing the cookie: %w", err)
	}
	if n := len(m.cookieName) + len(value); n > MaxCookieSize {
		// Nothing done yet: the client keeps its cookie.
		return fmt.Errorf("%w: %d bytes (name and value), browsers keep at most %d; store less in the session or use a server-side store", ErrCookieTooLarge, n, MaxCookieSize)
	}
	if s.login && m.revoker != nil {
		if value, err = m.authenticatedAfterRevocations(ctx, s, id, rec, value, now); err != nil {
			return err
		}
	}
	if reason == "renew" && m.revoker != nil {
		// With a revocation hook, the old cookie's copies stop working
		// (no fixation through a copied pre-login cookie), once the new
		// cookie is known to fit.
		if err := m.revoker.RevokeSession(ctx, s.digest, s.rec.AbsExpiry); err != nil {
			return m.storeErr(ctx, "revoke", s.digest, err)
		}
	}
	s.digest = id
	m.writeCookie(h, value, now, rec.IdleExpiry, rec.AbsExpiry, rec.ExpireOnClose)
	switch reason {
	case "create":
		m.emit(ctx, Event{Kind: EventCreated, token: ref(id), UserID: rec.UserID, RemoteAddr: s.remoteAddr})
	case "renew":
		m.emit(ctx, Event{Kind: EventRenewed, newToken: ref(id), UserID: rec.UserID, RemoteAddr: s.remoteAddr})
	}
	return nil
}

// lineageTime returns the creation time of a new client-side session in
// the millisecond ms (the manager's times are whole milliseconds): ms and
// the clock's nanoseconds within its millisecond. The creation time names
// the session's lineage in the revocation hook's markers (a session and
// its renewals keep it; see ClientLineageRevoker and
// ClientOthersRevoker): another session of the user created in the same
// millisecond is another lineage, which a logout or "log out other
// devices" tells apart.
func (m *Manager) lineageTime(ms time.Time) time.Time {
	return ms.Add(time.Duration(m.clock().Nanosecond() % int(time.Millisecond)))
}

// authenticatedAfterRevocations checks the cookie value sealed for a
// login (rec, id) against the revocation hook: a revocation of the user
// recorded before this commit at or after the Login's authentication time
// (by this request before the Login, or by another one meanwhile) would
// refuse it from the next request on, logging the client out right after a
// login that succeeded. The login completes after that revocation, so it
// is a new authentication (as a server-side login that finds its session
// revoked stores a new one): its authentication and creation times move
// past it, one millisecond at a time (three at most: a revocation dated
// further ahead, by a server whose clock is ahead, fails the login with an
// error), and the cookie is sealed again. It returns the value to send.
// It must be called with s.mu held.
func (m *Manager) authenticatedAfterRevocations(ctx context.Context, s *Session, id Digest, rec *Record, value string, now time.Time) (string, error) {
	for range 3 {
		_, _, _, err := m.sealer().Open(ctx, m.cookieName, value, now)
		switch {
		case err == nil:
			return value, nil
		case !errors.Is(err, ErrRevoked):
			return "", m.storeErr(ctx, "open", Digest{}, err)
		}
		// Past the revocation's time, and a creation time of its own: a
		// logout of another session of the user created in the same
		// millisecond revokes that millisecond's lineage.
		at := rec.AuthTime
		for _, t := range []time.Time{m.now(), rec.Created} {
			if t.After(at) {
				at = t
			}
		}
		at = at.Truncate(time.Millisecond).Add(time.Millisecond)
		rec.AuthTime, rec.Created, s.authTime = at, m.lineageTime(at), at
		if value, err = m.sealer().Seal(ctx, m.cookieName, id, rec); err != nil {
			return "", fmt.Errorf("session: sealing the cookie: %w", err)
		}
		if n := len(m.cookieName) + len(value); n > MaxCookieSize {
			return "", fmt.Errorf("%w: %d bytes (name and value), browsers keep at most %d; store less in the session or use a server-side store", ErrCookieTooLarge, n, MaxCookieSize)
		}
	}
	return "", fmt.Errorf("session: the new session stays refused by the revocation hook (a revocation recorded by a server whose clock is ahead?)")
}

// continuable re-opens, at a login's commit, the session the login read,
// so that one the revocation hook revoked while the request ran is
// reported (EventRevoked) and, like one whose deadline passed meanwhile,
// never continued: the login stores a new session, as a server store's
// login does when it cannot renew a revoked session. (Every login on a
// client-side session starts a new one since; see commitClient.) It must
// be called with s.mu held.
func (m *Manager) continuable(ctx context.Context, s *Session, now time.Time) error {
	_, _, _, err := m.sealer().Open(ctx, m.cookieName, s.token, now)
	switch {
	case err == nil:
	case errors.Is(err, ErrRevoked):
		m.emit(ctx, Event{Kind: EventRevoked, Reason: "revoked during the request", token: ref(s.digest), UserID: s.rec.UserID, RemoteAddr: s.remoteAddr})
		s.newLineage = true
	case errors.Is(err, ErrInvalidCookie): // its deadline passed during the request
		s.newLineage = true
	default:
		return m.storeErr(ctx, "open", Digest{}, err)
	}
	return nil
}

// destroyClient ends a client-side session: the cookie is cleared and, with
// a revocation hook, copies of it stop working.
func (m *Manager) destroyClient(ctx context.Context, s *Session) error {
	if err := s.loadLifecycle(); err != nil {
		return err
	}
	if s.rec != nil {
		if m.revoker != nil {
			dctx, cancel := detached(ctx) // as Destroy: a disconnect must not cancel a logout
			defer cancel()
			var err error
			if lr, ok := m.revoker.(ClientLineageRevoker); ok && s.rec.UserID != "" {
				// The lineage, not only this cookie: a renewal racing the
				// logout seals a new id with the same user and creation.
				err = lr.RevokeLineage(dctx, s.rec.UserID, s.rec.Created)
			} else {
				err = m.revoker.RevokeSession(dctx, s.digest, s.rec.AbsExpiry)
			}
			if err != nil {
				s.failErr = m.storeErr(ctx, "revoke", s.digest, err)
				return s.failErr
			}
		}
		m.emit(ctx, Event{Kind: EventDestroyed, token: ref(s.digest), UserID: s.rec.UserID, RemoteAddr: s.remoteAddr})
		s.clearCookie = true
	}
	s.reset()
	return nil
}

// revokeClientUser rejects every client-side session of the user from now
// on, through the revocation hook: authenticated up to when the call
// started, then, when recording that took time, up to when it was
// recorded. A login on another request that read the user's session
// before the first record was stored and authenticated after its time
// (as its commit found no revocation, it continued the session) is
// covered by the second: its authentication time, on this clock, is
// before the first record was stored. A login on another server is
// covered within the clocks' skew.
func (m *Manager) revokeClientUser(ctx context.Context, userID string) error {
	if m.revoker == nil {
		return fmt.Errorf("%w: the client-side store has no revocation hook (ClientRevoker): copied cookies stay valid until their deadline", ErrUnsupported)
	}
	at := m.now()
	if err := m.revoker.RevokeUser(ctx, userID, at); err != nil {
		return &StoreError{Op: "revoke user", Err: err}
	}
	if end := m.now(); end.After(at) {
		if err := m.revoker.RevokeUser(ctx, userID, end); err != nil {
			return &StoreError{Op: "revoke user", Err: err}
		}
	}
	m.emit(ctx, Event{Kind: EventRevoked, UserID: userID, Reason: "all client-side sessions of the user"})
	return nil
}

// revokeClientOthers ends the client-side sessions of the request's user
// but the request's own, through the revocation hook, as revokeClientUser
// ends them all. The session kept is named by its creation time (its
// renewals keep it): when the commit would give the session a new one (a
// login before the call, or a session not stored yet), that time is
// chosen now. A login of the user after the call starts a new session,
// authenticated after it (see commitClient).
func (m *Manager) revokeClientOthers(ctx context.Context) error {
	s, err := m.sessionFor(ctx)
	if err != nil {
		return err
	}
	or, ok := m.revoker.(ClientOthersRevoker)
	if !ok {
		return fmt.Errorf("%w: the client-side store's revocation hook cannot keep one session while revoking the others (ClientOthersRevoker)", ErrUnsupported)
	}
	user, err := s.revokeClientOthers(ctx, or)
	if err != nil {
		return err
	}
	m.emit(ctx, Event{Kind: EventRevoked, UserID: user, Reason: "the user's other client-side sessions"})
	return nil
}

// revokeClientOthers is Manager.revokeClientOthers with the session
// locked; it returns the user.
func (s *Session) revokeClientOthers(ctx context.Context, or ClientOthersRevoker) (string, error) {
	m := s.m
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		// The cookie sent may carry a creation time not known here.
		return "", ErrCommitted
	}
	if err := s.loadLifecycle(); err != nil {
		return "", err
	}
	user := s.currentUser()
	if user == "" {
		return "", ErrNotLoggedIn
	}
	keep := s.created
	switch {
	case !keep.IsZero():
	case s.rec == nil || s.login || s.newLineage:
		keep = m.lineageTime(m.now())
		s.created = keep
	default:
		keep = s.rec.Created
	}
	at := m.now()
	if err := or.RevokeUserExcept(ctx, user, at, keep); errors.Is(err, ErrUnsupported) {
		return "", err // a store without a hook: nothing was done
	} else if err != nil {
		return "", s.failWith(&StoreError{Op: "revoke other sessions", Err: err})
	}
	if end := m.now(); end.After(at) {
		// As in revokeClientUser: a login racing the first record.
		if err := or.RevokeUserExcept(ctx, user, end, keep); err != nil {
			return "", s.failWith(&StoreError{Op: "revoke other sessions", Err: err})
		}
	}
	s.othersRevokedUser = user
	return user, nil
}

// failWith records err as the request's failure, as Manager.failRequest
// does, with s.mu held.
func (s *Session) failWith(err error) error {
	if s.failErr == nil {
		s.failErr = err
	}
	return err
}
