package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// SessionInfo describes one of a user's sessions for "your devices" pages
// and admin tools. It never contains the token.
type SessionInfo struct {
	// Handle identifies the session for RevokeSession. It is derived from
	// the token's digest and cannot be turned back into the token.
	Handle    string
	UserID    string
	Created   time.Time
	LastSeen  time.Time // last recorded activity (refreshes are throttled)
	AuthTime  time.Time
	ExpiresAt time.Time
	IP        string
	UserAgent string
	// Current is true for the session of the request the call was made in.
	Current bool
}

// ErrNotLoggedIn reports a call that needs a logged-in session from an
// anonymous one.
var ErrNotLoggedIn = errors.New("session: the request's session is not logged in")

func (m *Manager) userIndex() (UserIndex, error) {
	ui, ok := m.store.(UserIndex)
	if !ok {
		return nil, m.unsupported("UserIndex")
	}
	return ui, nil
}

// currentDigest returns the digest of the request's stored session, if any.
func currentDigest(ctx context.Context, m *Manager) (Digest, bool) {
	s := m.FromContext(ctx)
	if s == nil {
		return Digest{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.storedDigest()
}

// storedDigest returns the digest the session is stored under, if any:
// the one it was loaded from or, once the response was committed, the one
// the commit stored it under (a login creates or renews it). It must be
// called with s.mu held.
func (s *Session) storedDigest() (Digest, bool) {
	if s.load() != nil {
		return Digest{}, false
	}
	if s.saved || s.hasToken && s.rec != nil {
		return s.digest, true
	}
	return Digest{}, false
}

// deleteOthers deletes the user's sessions but the request's own, with
// s.mu held throughout, so that a commit of this request (which may renew
// the session under a new digest) cannot run between the choice of the
// digest kept and the deletion.
func (s *Session) deleteOthers(ctx context.Context, ui UserIndex, user string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, _ := s.storedDigest()
	return ui.DeleteByUser(ctx, user, cur)
}

// UserSessions lists the live sessions of a user, most recently active
// first. When ctx is a request's context, the request's own session is
// marked Current. It needs a store implementing UserIndex; it never scans
// all sessions.
func (m *Manager) UserSessions(ctx context.Context, userID string) ([]SessionInfo, error) {
	if m.tokens != nil {
		// A scheme's store key may be the token itself (Django's keys):
		// handles would hand tokens out.
		return nil, fmt.Errorf("%w: session lists under a custom token scheme", ErrUnsupported)
	}
	ui, err := m.userIndex()
	if err != nil {
		return nil, err
	}
	now := m.now()
	start := m.startTimer()
	entries, err := ui.ListByUser(ctx, userID, now)
	m.timed(ctx, "list by user", start, err)
	if err != nil {
		return nil, &StoreError{Op: "list by user", Err: err}
	}
	cur, hasCur := currentDigest(ctx, m)
	out := make([]SessionInfo, 0, len(entries))
	for _, e := range entries {
		r := e.Record
		if r.UserID != userID || !m.alive(r, now) {
			continue
		}
		out = append(out, SessionInfo{
			Handle: e.Digest.Handle(), UserID: r.UserID, Created: r.Created, LastSeen: r.LastSeen,
			AuthTime: r.AuthTime, ExpiresAt: r.ExpiresAt(), IP: r.IP, UserAgent: r.UserAgent,
			Current: hasCur && e.Digest == cur,
		})
	}
	slices.SortFunc(out, func(a, b SessionInfo) int { return b.LastSeen.Compare(a.LastSeen) })
	return out, nil
}

// MySessions lists the sessions of the request's logged-in user (see
// UserSessions). It returns ErrNotLoggedIn for an anonymous session.
func (m *Manager) MySessions(ctx context.Context) ([]SessionInfo, error) {
	user, err := m.currentUser(ctx, false)
	if err != nil {
		return nil, err
	}
	return m.UserSessions(ctx, user)
}

// currentUser returns the request session's user. For a revocation
// (lifecycle true), a load error fails the request whatever the handler
// does with it (see Session.loadLifecycle); for a read it is the handler's.
func (m *Manager) currentUser(ctx context.Context, lifecycle bool) (string, error) {
	s, err := m.sessionFor(ctx)
	if err != nil {
		return "", err
	}
	var user string
	if lifecycle {
		user, err = s.lifecycleUser()
	} else {
		user, err = s.UserID()
	}
	if err != nil {
		return "", err
	}
	if user == "" {
		return "", ErrNotLoggedIn
	}
	return user, nil
}

// ParseHandle returns the digest a handle stands for.
func ParseHandle(handle string) (Digest, error) { return ParseDigest(handle) }

// RevokeSession ends one session of the request's logged-in user, chosen by
// its handle (a "log out this device" button). A handle of another user's
// session, or of no session, gives ErrNotFound: users cannot end, or learn
// about, sessions that are not theirs. Revoking the request's own session
// is Destroy. Like Destroy, it completes even if the client disconnects
// meanwhile (bounded by ctx's deadline, or 10 seconds).
func (m *Manager) RevokeSession(ctx context.Context, handle string) error {
	ctx, cancel := detached(ctx)
	defer cancel()
	user, err := m.currentUser(ctx, true)
	if err != nil {
		return err
	}
	d, err := ParseHandle(handle)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	if cur, ok := currentDigest(ctx, m); ok && cur == d {
		return m.Destroy(ctx)
	}
	start := m.startTimer()
	rec, err := m.store.Load(ctx, d)
	m.timed(ctx, "load", start, err)
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return m.failRequest(ctx, &StoreError{Op: "load", Err: err})
	}
	if rec.UserID != user {
		return ErrNotFound
	}
	if _, err = m.deleteRevoked(ctx, d, rec, nil, "revoked by its user"); err != nil {
		return m.failRequest(ctx, err)
	}
	return nil
}

// failRequest makes a revocation's store failure fail the request's
// session at commit, as a failed Login or Destroy does, whatever the
// handler does with the error it returns: a logout that did not happen
// must never look done. It returns err.
func (m *Manager) failRequest(ctx context.Context, err error) error {
	if s := m.FromContext(ctx); s != nil {
		s.mu.Lock()
		if s.failErr == nil {
			s.failErr = err
		}
		s.mu.Unlock()
	}
	return err
}

// AdminRevokeSession ends any session by handle, for administrators and
// tools (sessionctl revoke --session). It reports whether a session existed.
// The session is read first, so that a renewal that moves it to a new
// token while the call runs is followed (see LineageDeleter), as Destroy
// and RevokeSession follow one: a handle that names a session when the
// call reads it names no live continuation of it once the call returns. A
// session that cannot be read (a record the store cannot decode, such as
// a Python pickle, or a failed read) is deleted by its handle alone; the
// call then fails if it finds nothing to delete, unless the record was
// corrupt (a renewal may have moved an unread session).
func (m *Manager) AdminRevokeSession(ctx context.Context, handle string) (bool, error) {
	d, err := ParseHandle(handle)
	if err != nil {
		return false, err
	}
	start := m.startTimer()
	rec, err := m.store.Load(ctx, d)
	m.timed(ctx, "load", start, err)
	switch {
	case errors.Is(err, ErrNotFound):
		return false, nil
	case err == nil && rec == nil:
		err = errors.New("store returned no record and no error")
		fallthrough
	case err != nil:
		return m.deleteRevoked(ctx, d, nil, err, "revoked by an administrator")
	}
	return m.deleteRevoked(ctx, d, rec, nil, "revoked by an administrator")
}

// deleteRevoked deletes a revoked session, rec as it was loaded, or, when
// its read failed with readErr, by its digest alone; like Destroy, the
// deletion is not canceled when the client disconnects (see detached). It
// reports whether it ended a session. A read session found gone was moved
// by a concurrent renewal, which endLineage follows. An unread one found
// gone fails with the read's error (without its record the renewal cannot
// be followed), unless the record was corrupt.
func (m *Manager) deleteRevoked(ctx context.Context, d Digest, rec *Record, readErr error, reason string) (bool, error) {
	dctx, cancel := detached(ctx)
	defer cancel()
	start := m.startTimer()
	existed, err := m.store.Delete(dctx, d)
	m.timed(ctx, "delete", start, err)
	switch {
	case err != nil:
		return false, &StoreError{Op: "delete", Err: err}
	case !existed && errors.Is(readErr, ErrCorrupt):
		return false, nil
	case !existed && readErr != nil:
		return false, &StoreError{Op: "load", Err: readErr}
	case !existed:
		if err := m.endLineage(dctx, rec); err != nil {
			return false, &StoreError{Op: "delete", Err: err}
		}
	}
	user := ""
	if rec != nil {
		user = rec.UserID
	}
	m.emit(ctx, Event{Kind: EventRevoked, token: ref(d), UserID: user, Reason: reason})
	return true, nil
}

// endLineage completes a deletion that found the session gone although it
// was loaded (rec): a concurrent renewal may have moved it to a new digest,
// which the deletion must not leave alive. It deletes the session's
// lineage (its user's sessions created at the same time, see
// LineageDeleter). Anonymous sessions have no index to follow, and a store
// without LineageDeleter cannot follow the renewal: both are documented
// limits of the revocation guarantee. A store whose type has the method
// but answers ErrUnsupported (a wrapper over stores of which one lacks it,
// as tieredstore can be) is a store without it.
func (m *Manager) endLineage(ctx context.Context, rec *Record) error {
	if rec == nil || rec.UserID == "" {
		return nil
	}
	ld, ok := m.store.(LineageDeleter)
	if !ok {
		return nil
	}
	start := m.startTimer()
	_, err := ld.DeleteLineage(ctx, rec.UserID, rec.Created)
	if errors.Is(err, ErrUnsupported) {
		err = nil
	}
	m.timed(ctx, "delete lineage", start, err)
	return err
}

// RevokeOtherSessions ends every session of the request's logged-in user
// except the request's own ("log out everywhere else", and what to call
// after a password change). It returns how many it ended. It completes even
// if the client disconnects meanwhile (bounded by ctx's deadline, or 10
// seconds).
//
// On a client-side manager (NewClientSide) it needs a revocation hook
// implementing ClientOthersRevoker (cookiestore's does) and must be called
// before the response is written (ErrCommitted otherwise); the cookies it
// ends cannot be counted, so it returns 0. A login in the same request is
// kept: before the call, the session it starts is the request's own; after
// it, a new session authenticated after the call.
func (m *Manager) RevokeOtherSessions(ctx context.Context) (int, error) {
	ctx, cancel := detached(ctx)
	defer cancel()
	if m.client != nil {
		return 0, m.revokeClientOthers(ctx)
	}
	user, err := m.currentUser(ctx, true)
	if err != nil {
		return 0, err
	}
	ui, err := m.userIndex()
	if err != nil {
		return 0, err
	}
	s, err := m.sessionFor(ctx)
	if err != nil {
		return 0, err
	}
	// One store call that deletes every other session of the user
	// atomically: listing them first and deleting each would miss a
	// session renewed in between (it moves to a digest the list lacks).
	start := m.startTimer()
	n, err := s.deleteOthers(ctx, ui, user)
	m.timed(ctx, "delete by user", start, err)
	if err != nil {
		return 0, m.failRequest(ctx, &StoreError{Op: "delete by user", Err: err})
	}
	m.emit(ctx, Event{Kind: EventRevoked, UserID: user, Reason: fmt.Sprintf("%d other sessions revoked by their user", n)})
	return n, nil
}

// enforceLimit revokes the least recently active sessions of a user beyond
// WithMaxSessionsPerUser, never the one just created. Failures are reported
// as store-error events: the login itself has succeeded.
func (m *Manager) enforceLimit(ctx context.Context, user string, keep Digest) {
	if m.maxPerUser <= 0 {
		return
	}
	ui, err := m.userIndex()
	if err != nil {
		return
	}
	now := m.now()
	start := m.startTimer()
	entries, err := ui.ListByUser(ctx, user, now)
	m.timed(ctx, "list by user", start, err)
	if err != nil {
		m.emit(ctx, Event{Kind: EventStoreError, Op: "list by user (session limit)", UserID: user, Err: err})
		return
	}
	live := entries[:0]
	for _, e := range entries {
		if e.Digest != keep && m.alive(e.Record, now) {
			live = append(live, e)
		}
	}
	excess := len(live) + 1 - m.maxPerUser
	if excess <= 0 {
		return
	}
	slices.SortFunc(live, func(a, b Entry) int { return a.Record.LastSeen.Compare(b.Record.LastSeen) })
	for _, e := range live[:excess] {
		if _, err := m.deleteRevoked(ctx, e.Digest, e.Record, nil, "session limit reached"); err != nil {
			m.emit(ctx, Event{Kind: EventStoreError, Op: "delete (session limit)", UserID: user, Err: err})
			return
		}
	}
}
