package session

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"
	"unicode/utf8"
)

// Session is the session of one request, used like a dictionary. It is
// loaded from the store the first time a handler touches it and saved just
// before the response header is written. A Session is safe for concurrent use
// by the goroutines serving one request; it must not outlive the request.
//
// Methods on a nil *Session return ErrNoSession.
type Session struct {
	mu         sync.Mutex
	m          *Manager
	ctx        context.Context
	req        *http.Request
	remoteAddr string

	// What the client presented.
	token      string // the client's token (or the new one after commit); never logged
	presented  string // the token the request presented (header tokens: see IssuedToken)
	digest     Digest // digest of token, valid when hasToken
	tokenIssue string // "malformed" or "duplicate" when the cookie was rejected

	loadedAt time.Time // when the stored record was loaded (the request's activity time)
	loadErr  error
	failErr  error   // a lifecycle store call failed: the request must fail
	rec      *Record // the stored record as loaded; nil when there is none

	values  map[string][]byte // the current view: loaded values plus changes
	size    int               // valuesSize(values), or -1 until a change needs it
	changed map[string]bool   // key -> true when set, false when deleted

	userID       string
	authTime     time.Time
	idleOverride time.Duration
	absOverride  time.Duration // SetLifetime: the absolute lifetime of this session
	// created is the creation time a client-side commit gives a new
	// session (a login's), when RevokeOtherSessions chose it beforehand.
	created time.Time
	// othersRevokedUser is the user of a client-side RevokeOtherSessions
	// in this request, whose chosen creation time (created) another
	// user's Login must not take.
	othersRevokedUser string

	// Flags, together so that the struct has no padding between them.
	hasToken    bool // the client presented a well-formed token
	accessed    bool
	loaded      bool
	ownVals     bool // values is a private copy (rec.Values stays as loaded)
	cleared     bool
	renew       bool // a new token is due at commit
	login       bool
	newLineage  bool // Login switched users: the renewed session starts afresh
	expirySet   bool
	closeCookie bool // expire at browser close
	clearCookie bool // the client's cookie must be deleted (destroyed, expired)
	reseal      bool // client-side: the cookie was sealed with an old key
	sealed      bool // the session lives in the cookie (client-side, or anonymous with WithAnonymousInCookie)
	committed   bool
	saved       bool // the commit stored the session under digest (created or renewed)
	saveCalled  bool // Save or Abandon was called (a session from Lookup)
	errShown    bool // the load error was returned to the handler (see loadShown)
}

// contextKey finds a session in a request context: the innermost one of
// any manager (m nil), or the one of manager m.
type contextKey struct{ m *Manager }

// FromContext returns the session that Manager.Handler attached to the
// request context, or nil. When several managers serve one request (two
// cookies, nested handlers), it returns the innermost one's: use
// Manager.FromContext to choose.
func FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(contextKey{}).(*Session)
	return s
}

// FromContext returns the session that m's Handler attached to the request
// context, or nil. Several managers can serve one request, each with its
// own cookie and store (for example a long-lived preferences session
// beside the login session); each finds its own session here, and its
// Login, Renew and Destroy act on that one.
func (m *Manager) FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(contextKey{m}).(*Session)
	return s
}

// load fetches the record on first use. It must be called with s.mu held.
func (s *Session) load() error {
	s.accessed = true
	if s.loaded {
		return s.loadErr
	}
	s.loaded = true
	defer func() {
		if s.values == nil { // no record, or one without values
			s.values, s.ownVals = map[string][]byte{}, true
		}
	}()
	m := s.m
	if s.tokenIssue != "" {
		// A cookie of ours that is no token: delete it, so that the
		// client does not send it (and get logged) again. Not two
		// tokens (a duplicate): a deletion with our attributes would
		// remove the client's own cookie and leave one planted with
		// other attributes (a sibling subdomain's, a longer path's) to
		// choose the session on the next request.
		s.clearCookie = s.tokenIssue == "malformed" && s.deadCookieDeletable()
		m.emit(s.ctx, Event{Kind: EventInvalidToken, Reason: s.tokenIssue, RemoteAddr: s.remoteAddr})
		return nil
	}
	if !s.hasToken {
		return nil
	}
	if s.sealed {
		return s.loadClient()
	}
	ctx, ends := m.startPhase(s.ctx, "load")
	if ends == nil {
		return s.loadStored(ctx)
	}
	return s.loadPhase(ctx, ends)
}

// loadPhase is loadStored inside a load phase, which it ends however
// loadStored returns.
func (s *Session) loadPhase(ctx context.Context, ends []func(error)) (err error) {
	defer func() { endPhase(ends, err) }()
	return s.loadStored(ctx)
}

// loadStored is load's part for a token the store may hold: ctx is the
// load phase's context (see PhaseObserver).
func (s *Session) loadStored(ctx context.Context) error {
	m := s.m
	start := m.startTimer()
	rec, err := m.store.Load(ctx, s.digest)
	m.timed(ctx, "load", start, err)
	switch {
	case err == nil:
	case errors.Is(err, ErrNotFound):
		// Revoked, expired and removed, or never issued: delete the
		// cookie once (Django does), instead of paying a store read and a
		// log line on every request until its Max-Age runs out.
		s.hasToken = false
		s.clearCookie = s.deadCookieDeletable()
		m.emit(ctx, Event{Kind: EventInvalidToken, Reason: "unknown", token: ref(s.digest), RemoteAddr: s.remoteAddr, repeats: !s.clearCookie})
		return nil
	case errors.Is(err, ErrCorrupt):
		s.hasToken = false
		m.emit(ctx, Event{Kind: EventInvalidToken, Reason: "corrupt", token: ref(s.digest), RemoteAddr: s.remoteAddr, Err: err, Op: "load"})
		start := m.startTimer()
		_, err := m.store.Delete(ctx, s.digest)
		m.timed(ctx, "delete", start, err)
		if err != nil {
			s.loadErr = m.storeErr(ctx, "delete", s.digest, err)
			return s.loadErr
		}
		s.clearCookie = s.deadCookieDeletable()
		return nil
	default:
		s.loadErr = m.storeErr(ctx, "load", s.digest, err)
		return s.loadErr
	}
	if rec == nil {
		s.loadErr = m.storeErr(ctx, "load", s.digest, errors.New("store returned no record and no error"))
		return s.loadErr
	}
	now := m.now()
	if !m.alive(rec, now) {
		s.hasToken = false
		s.clearCookie = s.deadCookieDeletable()
		m.emit(ctx, Event{Kind: EventExpired, token: ref(s.digest), UserID: rec.UserID, RemoteAddr: s.remoteAddr})
		start := m.startTimer()
		_, err := m.store.Delete(ctx, s.digest)
		m.timed(ctx, "delete", start, err)
		if err != nil {
			// The session is rejected either way; a failed lazy delete
			// leaves work for the cleaner but must not be silent.
			m.storeErr(ctx, "delete", s.digest, err)
		}
		return nil
	}
	s.adopt(rec, false, now)
	return nil
}

// deadCookieDeletable reports whether the response may delete a dead
// cookie: for page navigations and non-browser clients, not for a
// browser's background requests (fetch, XHR, images: Sec-Fetch-Mode other
// than navigate), whose responses can arrive after a concurrent login's
// and would delete its new cookie.
func (s *Session) deadCookieDeletable() bool {
	if s.req == nil {
		return true
	}
	mode := s.req.Header.Get("Sec-Fetch-Mode")
	return mode == "" || mode == "navigate"
}

// loadShown is load for the methods a handler calls: a load error it
// returns is the handler's to handle (it may render without the session),
// so the commit does not replace the handler's response; it still saves
// nothing. It must be called with s.mu held.
func (s *Session) loadShown() error {
	err := s.load()
	if err != nil {
		s.errShown = true
	}
	return err
}

// loadLifecycle is load for the manager's lifecycle calls (Login, Renew,
// Destroy, the revocations): a failure of theirs must never look done, so
// a load error fails the request at commit, whatever the handler does
// next. It must be called with s.mu held.
func (s *Session) loadLifecycle() error {
	err := s.load()
	if err != nil && s.failErr == nil {
		s.failErr = err
	}
	return err
}

// modifyLifecycle is modify for the lifecycle calls (see loadLifecycle).
func (s *Session) modifyLifecycle(f func() error) error {
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return ErrCommitted
	}
	if err := s.loadLifecycle(); err != nil {
		return err
	}
	return f()
}

// lifecycleUser returns the session's user for the revocation calls,
// loading it as loadLifecycle does.
func (s *Session) lifecycleUser() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadLifecycle(); err != nil {
		return "", err
	}
	return s.currentUser(), nil
}

// currentUser returns the user of the loaded session, or the one this
// request's Login binds. It must be called with s.mu held.
func (s *Session) currentUser() string {
	if s.login {
		return s.userID
	}
	if s.rec != nil {
		return s.rec.UserID
	}
	return ""
}

// adopt makes rec the session's loaded record, loaded at now (the
// request's activity time, which decides whether a refresh is due). With
// owned false its values map stays untouched (the first change works on a
// copy), because a server-side commit sends rec as the Base of its Change;
// a client-side session has no such use for it and changes the map in
// place.
func (s *Session) adopt(rec *Record, owned bool, now time.Time) {
	s.rec, s.loadedAt = rec, now
	if rec.Values != nil {
		s.values, s.ownVals = rec.Values, owned
	}
	s.size = -1 // a read-only request never needs it
	s.idleOverride = rec.IdleTimeout
	s.closeCookie = rec.ExpireOnClose
}

// writable checks that a change can still be saved. It must be called with
// s.mu held.
func (s *Session) writable() error {
	if s.committed {
		return ErrCommitted
	}
	return s.loadShown()
}

// modify runs f with the session locked, once it is known that the session
// may still change (loaded, response header not yet written).
func (s *Session) modify(f func() error) error {
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	return f()
}

// mutable makes values a private copy before its first change, so s.rec
// keeps the record exactly as loaded (the Base of the commit's Change).
func (s *Session) mutable() {
	if !s.ownVals {
		s.values = maps.Clone(s.values)
		if s.values == nil {
			s.values = map[string][]byte{}
		}
		s.ownVals = true
	}
}

func (s *Session) markChanged(key string, set bool) {
	if s.changed == nil {
		s.changed = make(map[string]bool, 4)
	}
	s.changed[key] = set
}

// Get returns the value stored under key decoded into T, and whether the key
// was present. A value keeps its Go type across requests when read with the
// type it was stored with: Get[int] returns the int that Set stored. Reading
// with an incompatible type returns a decoding error.
//
// When the store cannot be read, Get (like every Session method) returns
// the error, wrapped in a *StoreError; never an empty session. An error a
// handler was given is the handler's to handle: if it answers anyway, its
// response is sent and nothing is saved. Errors the handler never saw (a
// failed save at commit, a load failure behind a call that does not return
// it) replace its response with the error handler's, and so does a failed
// Login, Renew, Destroy, RevokeSession or RevokeOtherSessions, even when
// the handler was given the error: a login or logout that did not happen
// must never look done.
func Get[T any](s *Session, key string) (T, bool, error) {
	var v T
	if s == nil {
		return v, false, ErrNoSession
	}
	s.mu.Lock()
	err := s.loadShown()
	raw, ok := s.values[key]
	s.mu.Unlock()
	if err != nil || !ok {
		return v, false, err
	}
	if _, isJSON := s.m.codec.(JSONCodec); isJSON && unmarshalPlain(raw, &v) {
		return v, true, nil
	}
	// A codec behind an interface keeps what it is given as far as the
	// compiler knows: decode into a variable of its own, so that v above
	// stays on the stack on the common path.
	p := new(T)
	if err := s.m.codec.Unmarshal(raw, p); err != nil {
		return *p, true, fmt.Errorf("session: decoding key %q as %T: %w", key, *p, err)
	}
	return *p, true, nil
}

// GetOr returns the value under key decoded into T, or def when the key is
// absent or the session cannot be read. Using it is tolerating a store
// outage: the page renders with def, its response is sent, and nothing is
// saved (see Get).
func GetOr[T any](s *Session, key string, def T) T {
	v, ok, err := Get[T](s, key)
	if err != nil || !ok {
		return def
	}
	return v
}

// Set stores value under key. The value is encoded at once, so later changes
// to value are not saved and encoding errors surface here. It returns
// ErrTooLarge when the session would exceed the maximum size, and
// ErrCommitted after the response header was written.
func (s *Session) Set(key string, value any) error {
	if s == nil {
		return ErrNoSession
	}
	if key == "" || !utf8.ValidString(key) {
		return ErrInvalidKey
	}
	enc, err := s.m.codec.Marshal(value)
	if err != nil {
		return fmt.Errorf("session: encoding key %q: %w", key, err)
	}
	return s.modify(func() error { return s.setEncoded(key, enc) })
}

// setEncoded stores an encoded value under key, within the size limit. It
// must be called with s.mu held, on a writable session.
func (s *Session) setEncoded(key string, enc []byte) error {
	if s.size < 0 {
		s.size = valuesSize(s.values)
	}
	size := s.size + len(enc)
	if old, ok := s.values[key]; ok {
		size -= len(old)
	} else {
		size += len(key)
	}
	if size > s.m.maxSize {
		return fmt.Errorf("%w: setting key %q would make it %d bytes, the limit is %d", ErrTooLarge, key, size, s.m.maxSize)
	}
	s.mutable()
	s.values[key] = enc
	s.size = size
	s.markChanged(key, true)
	return nil
}

// Delete removes key. Deleting an absent key is not an error.
func (s *Session) Delete(key string) error {
	return s.modify(func() error {
		s.take(key)
		return nil
	})
}

// take removes key and returns its encoded value, if it was present. It
// must be called with s.mu held, on a writable session.
func (s *Session) take(key string) ([]byte, bool) {
	old, ok := s.values[key]
	if ok {
		if s.size >= 0 {
			s.size -= len(key) + len(old)
		}
		s.mutable()
		delete(s.values, key)
		s.markChanged(key, false)
	}
	return old, ok
}

// Clear removes every key; the session itself, its token and its user stay.
func (s *Session) Clear() error {
	return s.modify(func() error {
		s.values = map[string][]byte{}
		s.ownVals = true
		clear(s.changed)
		s.size = 0
		s.cleared = true
		return nil
	})
}

// Has reports whether key is present.
func (s *Session) Has(key string) (bool, error) {
	if s == nil {
		return false, ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadShown(); err != nil {
		return false, err
	}
	_, ok := s.values[key]
	return ok, nil
}

// Keys returns the keys in sorted order.
func (s *Session) Keys() ([]string, error) {
	if s == nil {
		return nil, ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadShown(); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(s.values))
	for k := range s.values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}

// UserID returns the id bound by Login, or "" for an anonymous session.
func (s *Session) UserID() (string, error) {
	if s == nil {
		return "", ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadShown(); err != nil {
		return "", err
	}
	return s.currentUser(), nil
}

// AuthTime returns when the user logged in, or the zero time.
func (s *Session) AuthTime() (time.Time, error) {
	if s == nil {
		return time.Time{}, ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadShown(); err != nil {
		return time.Time{}, err
	}
	if s.login {
		return s.authTime, nil
	}
	if s.rec != nil {
		return s.rec.AuthTime, nil
	}
	return time.Time{}, nil
}

// SetIdleTimeout overrides the manager's idle timeout for this session
// (Django's set_expiry with seconds). Zero restores the manager's default.
// The absolute deadline still applies (the session ends at it, whatever its
// idle timeout), and cookies never live longer than 400 days: for
// "remember me", which must outlive the absolute deadline, use
// SetLifetime.
func (s *Session) SetIdleTimeout(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("session: negative idle timeout %v", d)
	}
	return s.modify(func() error {
		s.idleOverride = d
		s.expirySet = true
		return nil
	})
}

// SetExpireOnClose chooses whether this session's cookie is a browser-session
// cookie (no Max-Age) or persistent. Server-side deadlines apply either way.
func (s *Session) SetExpireOnClose(on bool) error {
	return s.modify(func() error {
		s.closeCookie = on
		s.expirySet = true
		return nil
	})
}

// dirty reports whether the request changed anything that must be written.
func (s *Session) dirty() bool {
	return len(s.changed) > 0 || s.cleared || s.expirySet || s.renew
}

// change builds the Change of a commit.
func (s *Session) change(now time.Time) *Change {
	c := &Change{Base: s.rec, Clear: s.cleared, MaxSize: s.m.maxSize}
	for k, set := range s.changed {
		if set {
			if c.Set == nil {
				c.Set = make(map[string][]byte, len(s.changed))
			}
			c.Set[k] = s.values[k]
		} else {
			c.Delete = append(c.Delete, k)
		}
	}
	// Activity is recorded at the same granularity as for read-only
	// requests: only when the throttled touch is due (or the expiry policy
	// changed). Otherwise LastSeen and IdleExpiry stay zero, which stores
	// read as "unchanged", so a write costs no metadata rewrite.
	if s.expirySet || s.m.touchDue(s.rec, now) {
		c.LastSeen = now
		c.IdleExpiry = minTime(now.Add(s.m.idleFor(s.idleOverride, s.rec.UserID)), s.rec.AbsExpiry)
	}
	if s.expirySet {
		c.SetExpiry = true
		c.IdleTimeout = s.idleOverride
		c.ExpireOnClose = s.closeCookie
	}
	return c
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
