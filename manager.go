package session

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Manager loads and saves sessions for HTTP requests. Build one with New and
// wrap handlers with Manager.Handler. A Manager is safe for concurrent use.
type Manager struct {
	config
	store   Store
	toucher Toucher
	renewer Renewer
	client  ClientStore   // set by NewClientSide: sessions live in the cookie
	revoker ClientRevoker // the client store's revocation hook, if any
	hashers sync.Pool     // of HMAC-SHA-256 keyed with logKey, for hash
	anonCap *anonBucket   // WithAnonymousLimit, or nil

	loginLocks    [64]chan struct{} // WithMaxSessionsPerUser: a user's logins in this manager, one at a time (see lockLogins)
	loginLocksSet sync.Once

	plainHTTPWarned atomic.Bool // warnPlainHTTP logged its line for a host browsers do not trust
	webKitWarned    atomic.Bool // warnPlainHTTP logged its line for WebKit on localhost
}

// New returns a Manager saving sessions in store. Options are validated here:
// a combination that browsers would reject or that weakens the cookie (a
// __Host- name with a Domain or a Path other than "/", SameSite=None or
// Partitioned without Secure, malformed names, domains or paths, non-positive
// timeouts) is an error wrapping ErrConfig, and so is a nil store. A store
// that carries another (an Unwrapper, such as what storeurl opens) is
// replaced by the store it carries.
func New(store Store, opts ...Option) (*Manager, error) {
	for range 8 { // a carrier of a carrier, but never one of itself
		u, ok := store.(Unwrapper)
		if !ok {
			break
		}
		store = u.Unwrap()
	}
	if _, ok := store.(Unwrapper); ok {
		return nil, fmt.Errorf("%w: the store's Unwrap goes through more than 8 carriers, or in a circle", ErrConfig)
	}
	if store == nil {
		return nil, fmt.Errorf("%w: store is nil", ErrConfig)
	}
	c := defaultConfig()
	for _, o := range opts {
		o(&c)
	}
	c.defaultName()
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	if c.logKey == nil {
		c.logKey = randomKey(32)
	}
	if c.errorHandler == nil {
		c.errorHandler = defaultErrorHandler
	}
	if c.random == nil {
		c.random = rand.Reader
	}
	m := &Manager{config: c, store: store}
	m.hashers.New = func() any { return hmac.New(sha256.New, c.logKey) }
	if c.anonLimit > 0 {
		m.anonCap = newAnonBucket(c.anonLimit, c.anonPeriod)
	}
	m.toucher, _ = store.(Toucher)
	m.renewer, _ = store.(Renewer)
	if _, ok := store.(UserIndex); c.maxPerUser > 0 && !ok {
		return nil, fmt.Errorf("%w: WithMaxSessionsPerUser needs a store implementing session.UserIndex; %T does not", ErrConfig, store)
	}
	if c.insecure {
		c.logger.Warn("session: cookies are sent without the Secure attribute (WithInsecureCookie); use this only for local development over plain HTTP",
			"cookie", c.cookieName)
	}
	return m, nil
}

// Store returns the manager's store: the one New was given, or the one it
// carries (see Unwrapper).
func (m *Manager) Store() Store { return m.store }

// CookieName returns the name of the session cookie.
func (m *Manager) CookieName() string { return m.cookieName }

// now returns the application clock in UTC, truncated to the millisecond
// precision every store keeps.
func (m *Manager) now() time.Time { return m.clock().UTC().Truncate(time.Millisecond) }

// hash is logHash with the manager's key, reusing keyed HMAC states.
func (m *Manager) hash(d Digest) string {
	mac := m.hashers.Get().(hash.Hash)
	mac.Reset()
	mac.Write(d[:])
	var sum [sha256.Size]byte
	mac.Sum(sum[:0])
	m.hashers.Put(mac)
	return hex.EncodeToString(sum[:8])
}

// idleFor returns the idle timeout of a session of userID ("" when
// anonymous) with the given override.
func (m *Manager) idleFor(override time.Duration, userID string) time.Duration {
	switch {
	case override > 0:
		return override
	case userID == "" && m.anonIdle > 0:
		return m.anonIdle
	}
	return m.idleTimeout
}

// deletionTimeout bounds a deletion that outlives the cancellation of its
// request (see detached).
const deletionTimeout = 10 * time.Second

// detached returns the context for the store calls of a deletion the user
// asked for (logout, revoking a device): it keeps ctx's values and
// deadline but not its cancellation, so a client that disconnects right
// after asking to log out cannot leave the session alive. Without a
// deadline, deletionTimeout bounds it.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	d := context.WithoutCancel(ctx)
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(d, deadline)
	}
	return context.WithTimeout(d, deletionTimeout)
}

// touchDue reports whether a request at now should record activity on rec:
// once the configured share of the idle window has passed since it was last
// recorded. Between touches neither reads nor writes move the expiry.
func (m *Manager) touchDue(rec *Record, now time.Time) bool {
	idle := m.idleFor(rec.IdleTimeout, rec.UserID)
	return now.Sub(rec.LastSeen) >= time.Duration(float64(idle)*m.touchFraction)
}

// capLifetime bounds an absolute deadline by the manager's maximum
// lifetime counted from the session's login (or creation), the bound
// alive enforces, so that the cookie never outlasts the session.
func (m *Manager) capLifetime(rec *Record, abs time.Time) time.Time {
	start := rec.Created
	if !rec.AuthTime.IsZero() {
		start = rec.AuthTime
	}
	return minTime(abs, start.Add(m.maxLifetime))
}

// alive enforces both deadlines whatever the store returned: the stored
// ones, and the ones implied by the current configuration (the idle
// timeout, and the maximum lifetime: the absolute timeout unless
// WithMaxLifetime raises it), so shortening them takes effect on existing
// sessions.
func (m *Manager) alive(rec *Record, now time.Time) bool {
	if !rec.Alive(now) {
		return false
	}
	if !now.Before(rec.LastSeen.Add(m.idleFor(rec.IdleTimeout, rec.UserID))) {
		return false
	}
	// The stored absolute deadline is the session's own (SetLifetime);
	// none outlives the manager's maximum, counted from the login.
	start := rec.Created
	if !rec.AuthTime.IsZero() {
		start = rec.AuthTime
	}
	return now.Before(start.Add(m.maxLifetime))
}

func (m *Manager) storeErr(ctx context.Context, op string, d Digest, err error) error {
	se := &StoreError{Op: op, Err: err}
	m.emit(ctx, Event{Kind: EventStoreError, token: ref(d), Op: op, Err: err})
	return se
}

// sessionFor returns the request's session if it belongs to m.
func (m *Manager) sessionFor(ctx context.Context) (*Session, error) {
	s := m.FromContext(ctx)
	if s == nil {
		return nil, ErrNoSession
	}
	return s, nil
}

// Renew gives the request's session a new token while keeping its data
// (Django's cycle_key). The new record is written and the old one deleted in
// one step when the response is committed, so the old token stops working
// before the client sees the response. Call it on every privilege change.
func (m *Manager) Renew(ctx context.Context) error {
	s, err := m.sessionFor(ctx)
	if err != nil {
		return err
	}
	return s.modifyLifecycle(func() error {
		s.renew = true
		return nil
	})
}

// Login renews the session's token, binds it to userID, records the
// authentication time and restarts the absolute deadline (with the
// lifetime the session was given by SetLifetime when the same user logs in
// again, so that a password asked again does not end "remember me"; a
// login form whose box is left unticked calls SetLifetime(0, 0)).
//
// Data of an anonymous session (a cart, preferences) is kept, and so is the
// data of a session already logged in as userID. Logging in as a different
// user than the session's (or, for an anonymous session, than the one its
// store says the data belongs to: Record.ClaimedUser, a Django login Go
// does not honour) drops every value set before the call and the
// previous user's expiry settings (Django's rule: one user's data never
// reaches another); values set after Login in the same request are kept.
//
// A login always leaves the client logged in: if the session was ended or
// renewed by a concurrent request (a double-submitted login form, a
// revocation) before this response is committed, Login stores a fresh
// session for userID instead of answering with a cookie deletion. Such a
// fresh session is a new authentication, not a continuation of the ended
// one: a revocation that ran before it does not cover it. On a session
// sealed in the cookie (NewClientSide), which a revocation cannot delete,
// only outdate, every login starts a new session (a new creation time),
// never a continuation of the one it read; with a revocation hook, a
// session revoked while the request ran is reported, and the new cookie is
// checked against the hook at commit: a revocation of the user it finds
// (recorded by this request before the Login, a RevokeUser in a password
// reset, or by another request before the commit) moves its
// authentication time past it, as a server-side login that finds its
// session revoked stores a new one, so that the cookie sent is not one
// already refused. A revocation recorded after the commit covers it as
// usual.
func (m *Manager) Login(ctx context.Context, userID string) error {
	if userID == "" || len(userID) > 255 || !utf8.ValidString(userID) {
		return ErrInvalidUserID
	}
	s, err := m.sessionFor(ctx)
	if err != nil {
		return err
	}
	return s.modifyLifecycle(func() error {
		if owner := s.dataOwner(); owner != "" && owner != userID {
			s.switchUser()
		}
		s.renew = true
		s.login = true
		s.userID = userID
		s.authTime = m.now()
		if !s.created.IsZero() && userID != s.othersRevokedUser {
			s.created = time.Time{} // kept for another user's login
		}
		return nil
	})
}

// dataOwner returns the user whose data the session holds: its current
// user, or for an anonymous session the user its store says the data
// belongs to (Record.ClaimedUser) unless the request cleared that data. It
// must be called with s.mu held.
func (s *Session) dataOwner() string {
	if cur := s.currentUser(); cur != "" || s.login || s.cleared || s.rec == nil {
		return cur
	}
	return s.rec.ClaimedUser
}

// switchUser drops what a session holds for its previous user when Login
// binds another: its values and its expiry settings, unless this request
// set them. It must be called with s.mu held.
func (s *Session) switchUser() {
	s.values = map[string][]byte{}
	s.ownVals = true
	s.size = 0
	clear(s.changed)
	s.cleared = true
	s.newLineage = true
	if !s.expirySet {
		s.idleOverride, s.closeCookie = 0, s.m.expireOnClose
		s.expirySet = true
	}
}

// Destroy deletes the session's record at once and expires the cookie with
// the attributes it was set with (Django's flush). Values set afterwards in
// the same request start a new session with a new token. If the store cannot
// delete the record, Destroy returns the error and the request is answered by
// the error handler, so a failed logout is never reported as a success. The
// deletion ignores ctx's cancellation (a client that disconnects right after
// asking to log out still ends its session) but not its deadline; without
// one it is bounded by 10 seconds. A session the handler has not read is
// read first (one more store call), so that a renewal that moved it
// meanwhile can be followed (see LineageDeleter); one that cannot be read
// (the read failed, or the store refuses to decode the record) is deleted
// by its token alone.
func (m *Manager) Destroy(ctx context.Context) error {
	s, err := m.sessionFor(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return ErrCommitted
	}
	s.accessed = true
	if s.sealed {
		return m.destroyClient(ctx, s)
	}
	if s.hasToken && !s.loaded {
		// The record's user and creation time are what a deletion that
		// finds it already moved by a concurrent renewal follows (see
		// endLineage): a logout that never read its session loads it.
		// A session that cannot be read (a store failure, or a record
		// the store refuses to decode, such as a Python pickle: see
		// interop/django) is still deleted by its digest below: a logout
		// must not depend on reading what it ends. (The read's error has
		// been reported by the read, as a store-error event.)
		if err := s.load(); err != nil {
			s.rec = nil
		}
	}
	unread := s.loadErr
	if unread != nil && !s.hasToken {
		// The read found a record it could not decode and failed to
		// delete it (see loadStored), possibly only because the client
		// went away: the deletion below tries again, detached, and a
		// record found gone there is no renewal to follow (corrupt).
		s.hasToken, s.clearCookie, unread = true, true, nil
	}
	userID := ""
	if s.rec != nil {
		userID = s.rec.UserID
	}
	existed := false
	if s.hasToken {
		dctx, cancel := detached(ctx)
		defer cancel()
		start := m.startTimer()
		existed, err = m.store.Delete(dctx, s.digest)
		m.timed(ctx, "delete", start, err)
		if err == nil && !existed && unread != nil {
			// Neither read nor found: a concurrent renewal may have moved
			// it, and without its record the renewal cannot be followed,
			// so the logout is not shown done.
			s.failErr = unread
			return s.failErr
		}
		if err == nil && !existed {
			// Loaded but gone: possibly renewed by a concurrent request
			// under a digest this one does not know.
			err = m.endLineage(dctx, s.rec)
		}
		if err != nil {
			s.failErr = m.storeErr(ctx, "delete", s.digest, err)
			return s.failErr
		}
		if existed {
			m.emit(ctx, Event{Kind: EventDestroyed, token: ref(s.digest), UserID: userID, RemoteAddr: s.remoteAddr})
		}
	}
	s.clearCookie = s.clearCookie || existed || s.rec != nil
	s.reset()
	return nil
}

// reset makes s a fresh anonymous session that was already loaded.
func (s *Session) reset() {
	m := s.m
	s.loaded, s.loadErr = true, nil
	s.hasToken = false
	s.rec = nil
	s.values = map[string][]byte{}
	s.ownVals = true
	s.size = 0
	s.changed = nil
	s.cleared = false
	s.renew, s.login, s.newLineage, s.userID, s.authTime = false, false, false, "", time.Time{}
	s.created, s.saved = time.Time{}, false
	s.expirySet, s.idleOverride, s.absOverride, s.closeCookie = false, 0, 0, m.expireOnClose
}

// commit saves the session before the response header is written. It
// returns an error only when the request must be answered by the error
// handler instead.
func (m *Manager) commit(s *Session, h http.Header, status int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return nil
	}
	s.committed = true
	if s.failErr != nil {
		return s.failErr
	}
	if !s.accessed {
		return nil
	}
	m.warnPlainHTTP(s.req)
	if m.headerToken {
		addVary(h, m.tokenHeader)
	} else {
		addVary(h, "Cookie")
	}
	if s.loadErr != nil {
		if s.errShown {
			// The handler was given the error and answered anyway (for
			// example a page rendered without the session through GetOr):
			// its response stands, and nothing is saved over the store
			// error.
			return nil
		}
		return s.loadErr
	}
	// Django's rule: nothing is persisted for a failed response. Deletions
	// already happened; their cookie is still cleared.
	if status >= 500 {
		if s.clearCookie {
			m.writeDeletion(h)
		}
		return nil
	}
	// The common case, a request that only read a session whose refresh is
	// not due, writes nothing and needs no clock: the decision uses the time
	// the session was loaded, the request's activity time.
	if s.rec != nil && !s.dirty() && !s.reseal && !m.touchDue(s.rec, s.loadedAt) {
		return nil
	}
	if s.rec == nil && !s.login && len(s.values) == 0 && !s.sealed && m.anon == nil && m.client == nil {
		// No session to write (a request without one, or whose token
		// was dead): what commitWrite would do, without a phase.
		if s.clearCookie {
			m.writeDeletion(h)
		}
		return nil
	}
	base := s.ctx
	if s.req == nil {
		// A session from Lookup is saved when its call or connection
		// ends, often because its client ended it (a gRPC stream the
		// client cancelled): that must not fail the save.
		var cancel context.CancelFunc
		base, cancel = detached(s.ctx)
		defer cancel()
	}
	ctx, ends := m.startPhase(base, "commit")
	if ends == nil {
		return m.commitWrite(ctx, s, h)
	}
	return m.commitPhase(ctx, s, h, ends)
}

// commitPhase is commitWrite inside a commit phase, which it ends however
// commitWrite returns.
func (m *Manager) commitPhase(ctx context.Context, s *Session, h http.Header, ends []func(error)) (err error) {
	defer func() { endPhase(ends, err) }()
	return m.commitWrite(ctx, s, h)
}

// commitWrite is commit's part for a session that writes: ctx is the
// commit phase's context (see PhaseObserver). It must be called with s.mu
// held.
func (m *Manager) commitWrite(ctx context.Context, s *Session, h http.Header) error {
	if s.login && m.maxPerUser > 0 {
		// The login's new session and the eviction of the user's
		// sessions beyond the limit, one login at a time; its time is
		// read once it has its turn, so that the least recently active
		// are the earlier logins.
		unlock, err := m.lockLogins(ctx, s.userID)
		if err != nil {
			return err
		}
		defer unlock()
	}
	now := m.now()
	if m.anon != nil && !s.login && (s.sealed || s.rec == nil) {
		// WithAnonymousInCookie: an anonymous session stays in the cookie.
		return m.commitClient(ctx, s, h, now)
	}
	if m.anon != nil && s.sealed {
		// Login moves the anonymous session server-side: a new record
		// with its values, and the cookie carries its token.
		s.rec, s.sealed, s.hasToken = nil, false, false
	}
	if s.sealed {
		return m.commitClient(ctx, s, h, now)
	}
	switch {
	case s.rec != nil && s.renew:
		return m.commitRenew(ctx, s, h, now)
	case s.rec != nil && s.dirty():
		c := s.change(now)
		if ip, ua := m.clientOf(s); ip != s.rec.IP || ua != s.rec.UserAgent {
			c.SetClient, c.IP, c.UserAgent = true, ip, ua
		}
		start := m.startTimer()
		err := m.store.Update(ctx, s.digest, c)
		m.timed(ctx, "update", start, err)
		if errors.Is(err, ErrTooLarge) {
			// Concurrent requests' changes merged beyond the limit; this
			// one's were not applied.
			return fmt.Errorf("session: saving the session: %w", err)
		}
		if err != nil {
			return m.gone(ctx, s, h, "update", err)
		}
		if !c.IdleExpiry.IsZero() {
			m.writeCookie(h, s.token, now, c.IdleExpiry, s.rec.AbsExpiry, s.closeCookie)
		}
	case s.rec != nil:
		if !m.touchDue(s.rec, now) {
			return nil
		}
		idle := m.idleFor(s.rec.IdleTimeout, s.rec.UserID)
		exp := minTime(now.Add(idle), s.rec.AbsExpiry)
		var err error
		start := m.startTimer()
		ip, ua := m.clientOf(s)
		switch {
		case ip != s.rec.IP || ua != s.rec.UserAgent:
			// The client moved or changed browser: record it with the
			// refresh (still no data written).
			err = m.store.Update(ctx, s.digest, &Change{LastSeen: now, IdleExpiry: exp, SetClient: true, IP: ip, UserAgent: ua})
		case m.toucher != nil:
			err = m.toucher.Touch(ctx, s.digest, now, exp)
		default:
			err = m.store.Update(ctx, s.digest, &Change{LastSeen: now, IdleExpiry: exp})
		}
		m.timed(ctx, "touch", start, err)
		if err != nil {
			return m.gone(ctx, s, h, "touch", err)
		}
		m.writeCookie(h, s.token, now, exp, s.rec.AbsExpiry, s.rec.ExpireOnClose)
	case len(s.values) > 0 || s.login:
		return m.commitCreate(ctx, s, h, now)
	case s.clearCookie:
		m.writeDeletion(h)
	}
	return nil
}

// gone handles a failed write to an existing record: a record deleted
// meanwhile (logout, revocation, renewal elsewhere) clears the cookie and the
// response goes on; any other error fails the request.
func (m *Manager) gone(ctx context.Context, s *Session, h http.Header, op string, err error) error {
	if !errors.Is(err, ErrNotFound) {
		return m.storeErr(ctx, op, s.digest, err)
	}
	m.emit(ctx, Event{Kind: EventRevoked, Reason: "deleted during the request", token: ref(s.digest), UserID: s.rec.UserID, RemoteAddr: s.remoteAddr})
	m.writeDeletion(h)
	return nil
}

func (m *Manager) commitCreate(ctx context.Context, s *Session, h http.Header, now time.Time) error {
	rec := &Record{
		Values:        s.values,
		UserID:        s.userID,
		AuthTime:      s.authTime,
		Created:       now,
		LastSeen:      now,
		IdleTimeout:   s.idleOverride,
		ExpireOnClose: s.closeCookie,
		AbsExpiry:     now.Add(m.absoluteFor(s)),
		Version:       1,
	}
	rec.IP, rec.UserAgent = m.clientOf(s)
	rec.IdleExpiry = minTime(now.Add(m.idleFor(s.idleOverride, rec.UserID)), rec.AbsExpiry)
	if m.anonCap != nil && rec.UserID == "" {
		ok, wait := m.anonCap.take(now)
		if !ok {
			return &AnonymousLimitError{RetryAfter: wait}
		}
	}
	// A collision of 256-bit random tokens does not happen; the retry only
	// guarantees that a record is never overwritten if one did.
	for attempt := 0; ; attempt++ {
		token, d, err := m.newToken()
		if err != nil {
			if m.anonCap != nil && rec.UserID == "" {
				m.anonCap.giveBack()
			}
			return err
		}
		start := m.startTimer()
		err = m.store.Create(ctx, d, rec)
		m.timed(ctx, "create", start, err)
		if errors.Is(err, ErrExists) && attempt < 2 {
			continue
		}
		if err != nil {
			if m.anonCap != nil && rec.UserID == "" {
				m.anonCap.giveBack() // nothing was stored
			}
			return m.storeErr(ctx, "create", d, err)
		}
		s.digest, s.token, s.saved = d, token, true
		m.emit(ctx, Event{Kind: EventCreated, token: ref(d), UserID: rec.UserID, RemoteAddr: s.remoteAddr})
		if s.login {
			m.emit(ctx, Event{Kind: EventRenewed, newToken: ref(d), UserID: rec.UserID, Reason: "login", RemoteAddr: s.remoteAddr})
		}
		m.writeCookie(h, token, now, rec.IdleExpiry, rec.AbsExpiry, rec.ExpireOnClose)
		if s.login {
			m.enforceLimit(ctx, rec.UserID, d)
		}
		return nil
	}
}

func (m *Manager) commitRenew(ctx context.Context, s *Session, h http.Header, now time.Time) error {
	rec := s.rec.Clone()
	rec.Values = s.values
	rec.LastSeen = now
	rec.Version++
	if s.expirySet {
		rec.IdleTimeout = s.idleOverride
		rec.ExpireOnClose = s.closeCookie
	}
	reason := "renew"
	if s.login {
		reason = "login"
		rec.UserID = s.userID
		rec.AuthTime = s.authTime
	}
	if s.newLineage {
		rec.Created = now // another user's session: a new session, not a continuation
	}
	if s.login || s.absOverride > 0 {
		rec.AbsExpiry = m.capLifetime(rec, now.Add(m.loginLifetime(s, s.rec)))
	}
	rec.IdleExpiry = minTime(now.Add(m.idleFor(rec.IdleTimeout, rec.UserID)), rec.AbsExpiry)
	rec.IP, rec.UserAgent = m.clientOf(s)
	token, d, err := m.newToken()
	if err != nil {
		return err
	}
	if m.renewer != nil {
		start := m.startTimer()
		err = m.renewer.Renew(ctx, s.digest, d, rec)
		m.timed(ctx, "renew", start, err)
	} else {
		var existed bool
		start := m.startTimer()
		existed, err = m.store.Delete(ctx, s.digest)
		m.timed(ctx, "delete", start, err)
		if err != nil {
			return m.storeErr(ctx, "delete", s.digest, err)
		}
		if !existed {
			err = ErrNotFound
		} else {
			start := m.startTimer()
			err := m.store.Create(ctx, d, rec)
			m.timed(ctx, "create", start, err)
			if err != nil {
				return m.storeErr(ctx, "create", d, err)
			}
		}
	}
	if errors.Is(err, ErrNotFound) && s.login {
		// The session ended or moved under a concurrent request. The
		// user has authenticated in this one: log them in on a fresh
		// session rather than answering with a cookie deletion that may
		// reach the browser last and log it out.
		m.emit(ctx, Event{Kind: EventRevoked, Reason: "deleted during the request", token: ref(s.digest), UserID: s.rec.UserID, RemoteAddr: s.remoteAddr})
		s.rec, s.hasToken = nil, false
		return m.commitCreate(ctx, s, h, now)
	}
	if err != nil {
		return m.gone(ctx, s, h, "renew", err)
	}
	m.emit(ctx, Event{Kind: EventRenewed, token: ref(s.digest), newToken: ref(d), UserID: rec.UserID, Reason: reason, RemoteAddr: s.remoteAddr})
	s.digest, s.token, s.saved = d, token, true
	m.writeCookie(h, token, now, rec.IdleExpiry, rec.AbsExpiry, rec.ExpireOnClose)
	if s.login {
		m.enforceLimit(ctx, rec.UserID, d)
	}
	return nil
}

// lockLogins serializes, within this manager, the logins of user under
// WithMaxSessionsPerUser: each one stores its new session and evicts the
// least recently active beyond the limit before the next begins. Run
// concurrently, each login would list the others and evict some of them,
// and logins of one user from several devices at once could evict each
// other down to none (seen: 0 of 20 concurrent logins left logged in,
// though each answered as done). Serialized, every login sees the
// sessions of those before it, so the limit holds and the last login
// stays. Users share 64 locks by a hash of their id; a login waits for
// its turn until ctx is done. It returns the unlock function.
func (m *Manager) lockLogins(ctx context.Context, user string) (func(), error) {
	m.loginLocksSet.Do(func() {
		for i := range m.loginLocks {
			m.loginLocks[i] = make(chan struct{}, 1)
		}
	})
	h := fnv.New32a()
	h.Write([]byte(user))
	turn := m.loginLocks[h.Sum32()%uint32(len(m.loginLocks))]
	select {
	case turn <- struct{}{}:
		return func() { <-turn }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("session: login waiting for the same user's other logins: %w", ctx.Err())
	}
}
