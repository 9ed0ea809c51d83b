package session

import (
	"fmt"
	"time"
)

// WithMaxLifetime sets the longest absolute lifetime Session.SetLifetime
// may give a session (default: the absolute timeout, so that no session
// outlives it unless this option allows it). "Remember me for 30 days"
// needs WithMaxLifetime(30 * 24 * time.Hour) or more; every other session
// keeps the manager's absolute timeout.
func WithMaxLifetime(d time.Duration) Option { return func(c *config) { c.maxLifetime = d } }

// SetLifetime gives this session its own idle timeout and absolute
// lifetime, counted from this request ("remember me for 30 days":
// SetLifetime(30*24*time.Hour, 30*24*time.Hour) with Login). The session
// then ends after idle without activity or absolute in all, whichever
// comes first, and the cookie lasts as long. absolute may exceed the
// manager's absolute timeout up to WithMaxLifetime (which also bounds the
// session counted from its login); idle must not exceed absolute.
// SetLifetime(0, 0) gives the session the manager's timeouts again,
// counted from this request.
//
// A stored session gets a new token when the request commits, as for any
// change of privilege (the new lifetime is written with it); a new one is
// created with it. Session.SetIdleTimeout alone never lets a session
// outlive its absolute deadline. A later Login of the same user keeps the
// lifetime, counted again from that login (as Django's login keeps
// set_expiry: a password asked again does not end "remember me"); a login
// form whose "remember me" box is left unticked calls SetLifetime(0, 0)
// with Login. A Login of another user gives the manager's settings back.
func (s *Session) SetLifetime(idle, absolute time.Duration) error {
	if s == nil {
		return ErrNoSession
	}
	if idle == 0 && absolute == 0 {
		absolute = s.m.absoluteTimeout // idle 0: the manager's
	} else if idle <= 0 || absolute <= 0 || idle > absolute {
		return fmt.Errorf("session: lifetime needs 0 < idle (%v) <= absolute (%v), or both 0 for the manager's timeouts", idle, absolute)
	}
	if absolute > s.m.maxLifetime {
		return fmt.Errorf("session: lifetime %v exceeds the manager's maximum %v (WithMaxLifetime)", absolute, s.m.maxLifetime)
	}
	return s.modify(func() error {
		s.idleOverride, s.expirySet = idle, true
		s.absOverride = absolute
		if s.rec != nil {
			s.renew = true
		}
		return nil
	})
}

// absoluteFor returns the absolute lifetime of a session created or logged
// in by this request.
func (m *Manager) absoluteFor(s *Session) time.Duration {
	if s.absOverride > 0 {
		return s.absOverride
	}
	return m.absoluteTimeout
}

// loginLifetime returns the absolute lifetime a Login or Renew committing
// now gives session s, whose record before it was old: the lifetime this
// request asked for (SetLifetime); else, when the same user logs in again
// on a session that was given a lifetime of its own ("remember me", a
// password asked again before a sensitive action), that lifetime, not the
// manager's shorter absolute timeout; else the absolute timeout.
func (m *Manager) loginLifetime(s *Session, old *Record) time.Duration {
	if s.absOverride > 0 {
		return s.absOverride
	}
	if s.login && old != nil && old.IdleTimeout > 0 && old.UserID != "" && old.UserID == s.userID {
		start := old.Created
		if !old.AuthTime.IsZero() {
			start = old.AuthTime
		}
		// Only a lifetime this manager could have given: a record
		// without an absolute deadline of ours (a Django session's,
		// which has none) is not a remembered one.
		if kept := old.AbsExpiry.Sub(start); kept > m.absoluteTimeout && kept <= m.maxLifetime {
			return kept
		}
	}
	return m.absoluteTimeout
}

// stored returns the session's stored record, loading it first; nil for a
// session not stored yet. It must be called with s.mu held.
func (s *Session) stored() (*Record, error) {
	if err := s.loadShown(); err != nil {
		return nil, err
	}
	return s.rec, nil
}

// storedRecord is stored for the getters: it takes the lock, and gives
// nil for a session not stored yet. The record is never changed in place
// (a commit replaces it), so its fields can be read after the unlock.
func (s *Session) storedRecord() (*Record, error) {
	if s == nil {
		return nil, ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stored()
}

// CreatedAt returns when the session was created (restarted at a Login as
// another user), or the zero time for a session not stored yet.
func (s *Session) CreatedAt() (time.Time, error) {
	rec, err := s.storedRecord()
	if err != nil || rec == nil {
		return time.Time{}, err
	}
	return rec.Created, nil
}

// LastSeen returns the last activity recorded for the session before this
// request (recording is throttled, see WithTouchFraction), or the zero
// time for a session not stored yet.
func (s *Session) LastSeen() (time.Time, error) {
	rec, err := s.storedRecord()
	if err != nil || rec == nil {
		return time.Time{}, err
	}
	return rec.LastSeen, nil
}

// ExpiresAt returns when the session ends if it stays idle (idle, moved
// forward by activity) and at the latest (absolute), as stored before this
// request; zero times for a session not stored yet. "Your session expires
// in 5 minutes" is time.Until(min(idle, absolute)).
func (s *Session) ExpiresAt() (idle, absolute time.Time, err error) {
	rec, err := s.storedRecord()
	if err != nil || rec == nil {
		return time.Time{}, time.Time{}, err
	}
	return rec.IdleExpiry, rec.AbsExpiry, nil
}

// Handle returns the session's opaque handle: the id "your devices" pages
// show (SessionInfo.Handle) and RevokeSession takes. It is derived from
// the token's digest and cannot be turned back into the token. It is empty
// for a session not stored yet and for sessions kept in the cookie.
func (s *Session) Handle() (string, error) {
	if s == nil {
		return "", ErrNoSession
	}
	if s.m.tokens != nil {
		// A scheme's store key may be the token itself (Django's keys):
		// its hexadecimal form would hand the token out.
		return "", fmt.Errorf("%w: handles under a custom token scheme", ErrUnsupported)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.stored()
	if err != nil || rec == nil || s.sealed || !s.hasToken {
		return "", err
	}
	return s.digest.Handle(), nil
}
