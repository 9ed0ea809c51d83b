package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Defaults of the options, chosen to be safe without configuration.
const (
	// DefaultCookieName carries the __Host- prefix: browsers accept it only
	// with Secure, Path=/ and no Domain, so a sibling subdomain or a
	// plain-HTTP page cannot plant or overwrite it.
	DefaultCookieName = "__Host-sid"
	// SecureCookieName is the default name when a Domain or a Path other
	// than "/" is set (which __Host- forbids): the __Secure- prefix still
	// makes browsers refuse it without Secure.
	SecureCookieName = "__Secure-sid"
	// InsecureCookieName is the default name with WithInsecureCookie, which
	// the prefixed names forbid.
	InsecureCookieName = "sid"
	// DefaultIdleTimeout ends a session after 30 minutes without activity.
	DefaultIdleTimeout = 30 * time.Minute
	// DefaultAbsoluteTimeout ends every session 12 hours after it was created
	// or the user last logged in, whatever its activity.
	DefaultAbsoluteTimeout = 12 * time.Hour
	// DefaultTouchFraction: a request records activity (a new expiry) only
	// when a tenth of the idle window has passed since it was last recorded.
	DefaultTouchFraction = 0.1
	// DefaultMaxSize limits the encoded keys and values of one session.
	DefaultMaxSize = 64 << 10
	// maxCookieLifetime is the 400-day cap of RFC 6265bis on Max-Age.
	maxCookieLifetime = 400 * 24 * time.Hour
)

// WithAnonymousInCookie keeps anonymous sessions on the client, sealed in
// the session cookie by cs (package cookiestore's AEAD), and stores a
// session server-side only when Login binds a user: the values of the
// anonymous session (a cart, preferences) then move into the new
// server-side record, and the cookie carries its token from then on.
// Visitors who never log in cost the server nothing, so anonymous traffic
// cannot fill the store or evict logged-in users' sessions.
//
// The anonymous cookie is bounded by what browsers keep (4096 bytes with
// its name: a larger session is ErrCookieTooLarge at commit), is rejected
// when tampered with, expires by the manager's deadlines, follows cs's key
// rotation, and never carries a user: a replayed anonymous cookie shows
// only the anonymous values it held. Concurrent requests of an anonymous
// visitor each send back a whole cookie (the last response wins, no
// per-key merge). It cannot be combined with NewClientSide.
func WithAnonymousInCookie(cs ClientStore) Option { return func(c *config) { c.anon = cs } }

// WithAnonymousIdleTimeout gives sessions without a user a shorter idle
// timeout than logged-in ones (default: the same): a server-side anonymous
// session left by a visitor, a crawler or a flood then goes sooner, and
// with Redis's volatile-ttl policy anonymous sessions, which expire first,
// are the ones evicted under memory pressure. A per-session override
// (Session.SetIdleTimeout) still wins; Login moves a session to the
// logged-in timeout. It must not exceed the idle timeout.
func WithAnonymousIdleTimeout(d time.Duration) Option { return func(c *config) { c.anonIdle = d } }

// An Option configures a Manager.
type Option func(*config)

type config struct {
	cookieName      string
	cookieNameSet   bool // WithCookieName was given: no default name switching
	domain          string
	path            string
	sameSite        http.SameSite
	insecure        bool
	partitioned     bool
	idleTimeout     time.Duration
	absoluteTimeout time.Duration
	touchFraction   float64
	expireOnClose   bool
	maxSize         int
	codec           Codec
	errorHandler    func(http.ResponseWriter, *http.Request, error)
	observers       []Observer
	phasers         []PhaseObserver // the observers that are PhaseObservers
	logger          *slog.Logger
	clock           func() time.Time
	logKey          []byte
	random          io.Reader
	tokens          TokenScheme // nil: the default tokens
	captureIP       bool
	captureUA       bool
	trustedProxies  []netip.Prefix
	maxPerUser      int
	anon            ClientStore // anonymous sessions sealed in the cookie (WithAnonymousInCookie)
	anonIdle        time.Duration
	maxLifetime     time.Duration // WithMaxLifetime; 0: the absolute timeout
	headerToken     bool          // WithHeaderToken: the token travels in a request header
	tokenHeader     string        // its header ("Authorization": Bearer)
	anonLimit       int           // WithAnonymousLimit: new anonymous sessions per anonPeriod
	anonPeriod      time.Duration
}

// WithoutClientIP stops recording the client's IP address with sessions
// (recorded by default, for "your devices" lists).
func WithoutClientIP() Option { return func(c *config) { c.captureIP = false } }

// WithoutUserAgent stops recording the User-Agent header with sessions
// (recorded by default, truncated to MaxUserAgentLength bytes).
func WithoutUserAgent() Option { return func(c *config) { c.captureUA = false } }

// WithTrustedProxies lists the proxies whose X-Forwarded-For and Forwarded
// headers are believed when recording the client's IP. Without it the
// connection's remote address is recorded and those headers are ignored,
// since any client can send them.
func WithTrustedProxies(prefixes ...netip.Prefix) Option {
	return func(c *config) { c.trustedProxies = append(c.trustedProxies, prefixes...) }
}

// WithMaxSessionsPerUser limits how many sessions one user may hold at once
// (Spring Security's concurrent session control): after a login beyond the
// limit, the user's least recently active other sessions are revoked. Zero
// (the default) means no limit. It needs a store implementing UserIndex.
// A manager runs the logins of one user one at a time (the new session,
// then the evictions), so concurrent logins from several devices leave
// exactly the n most recent sessions and the last login logged in
// (sessiontest.SessionLimitRace); logins of users that share one of its 64
// locks wait for each other too. Logins of one user through several
// managers at the same moment (several instances, or two managers of one
// process over the same store) are not serialized with each other: each
// may evict the others' new sessions, possibly all of them, and the user
// then logs in again.
func WithMaxSessionsPerUser(n int) Option { return func(c *config) { c.maxPerUser = n } }

// WithCookieName sets the cookie name (default "__Host-sid"; "__Secure-sid"
// with WithDomain or a WithPath other than "/"; "sid" with
// WithInsecureCookie). Names with the __Host- prefix require Path=/ and no
// Domain; names with __Host- or __Secure- require the Secure attribute.
func WithCookieName(name string) Option {
	return func(c *config) { c.cookieName, c.cookieNameSet = name, true }
}

// WithDomain sets the cookie's Domain attribute (default none: the cookie is
// sent only to the host that set it). It cannot be combined with a __Host-
// name: without WithCookieName the name becomes SecureCookieName.
func WithDomain(domain string) Option { return func(c *config) { c.domain = domain } }

// WithPath sets the cookie's Path attribute (default "/"). A __Host- name
// requires "/": without WithCookieName, another path makes the name
// SecureCookieName.
func WithPath(path string) Option { return func(c *config) { c.path = path } }

// WithSameSite sets the SameSite attribute (default http.SameSiteLaxMode).
// SameSiteNoneMode requires Secure; http.SameSiteDefaultMode is refused
// because browsers disagree on what it means.
func WithSameSite(s http.SameSite) Option { return func(c *config) { c.sameSite = s } }

// WithInsecureCookie drops the Secure attribute so the cookie works over
// plain HTTP during local development: Safari, and every browser on a host
// other than localhost, drop a Secure cookie sent over plain HTTP. Without
// WithCookieName the name becomes InsecureCookieName ("sid"), since the
// prefixed names require Secure. The manager logs a warning naming the
// cookie when it is built this way. Secure is never inferred from the
// request.
func WithInsecureCookie() Option { return func(c *config) { c.insecure = true } }

// WithPartitioned sets the Partitioned attribute (CHIPS) for embedded,
// third-party contexts. It requires Secure.
func WithPartitioned() Option { return func(c *config) { c.partitioned = true } }

// WithIdleTimeout sets the sliding idle timeout (default 30 minutes).
// Individual sessions can override it with Session.SetIdleTimeout.
func WithIdleTimeout(d time.Duration) Option { return func(c *config) { c.idleTimeout = d } }

// WithAbsoluteTimeout sets the absolute lifetime of a session, counted from
// its creation and restarted at login (default 12 hours). Activity never
// extends it.
func WithAbsoluteTimeout(d time.Duration) Option {
	return func(c *config) { c.absoluteTimeout = d }
}

// WithTouchFraction sets the share of the idle window (0 < f <= 1, default
// 0.1) that must pass before a request records activity: a read-only
// request then writes a new expiry, a write request carries it with its
// changes (between touches it writes its values only). The effective idle
// timeout is therefore between (1-f) and 1 times the configured one, and a
// read-only request writes at most once per f×idle.
func WithTouchFraction(f float64) Option { return func(c *config) { c.touchFraction = f } }

// WithExpireOnClose makes cookies browser-session cookies (no Max-Age) by
// default. Server-side deadlines still apply. Sessions can override it with
// Session.SetExpireOnClose.
func WithExpireOnClose() Option { return func(c *config) { c.expireOnClose = true } }

// WithMaxSize sets the maximum encoded size in bytes of one session's keys
// and values (default 64 KiB). Session.Set returns ErrTooLarge beyond it.
func WithMaxSize(n int) Option { return func(c *config) { c.maxSize = n } }

// WithCodec replaces the JSON codec used for values.
func WithCodec(codec Codec) Option { return func(c *config) { c.codec = codec } }

// WithErrorHandler sets the handler that answers a request whose session
// could not be loaded or saved. The default answers 503 for store errors
// and for ErrAnonymousLimit (with Retry-After), 413 for a session too large
// to save (ErrCookieTooLarge: a cookie over 4096 bytes; ErrTooLarge:
// concurrent requests' changes merged beyond WithMaxSize), 500 for others,
// with a short plain-text body.
func WithErrorHandler(h func(w http.ResponseWriter, r *http.Request, err error)) Option {
	return func(c *config) { c.errorHandler = h }
}

// WithObserver adds an observer of lifecycle and security events (and of
// the load and commit phases, when it is a PhaseObserver). It may be given
// several times.
func WithObserver(o Observer) Option {
	return func(c *config) {
		c.observers = append(c.observers, o)
		if p, ok := o.(PhaseObserver); ok {
			c.phasers = append(c.phasers, p)
		}
	}
}

// WithLogger sets the slog logger for events and errors (default
// slog.Default()). Log records never contain tokens, only a keyed hash.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithClock replaces time.Now, for tests that need to move time.
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// WithLogHashKey sets the key of the hash that identifies sessions in logs
// and events (default: random per Manager). Give every instance the same key
// of at least 32 bytes to correlate one session's events across servers.
func WithLogHashKey(key []byte) Option { return func(c *config) { c.logKey = key } }

func defaultConfig() config {
	return config{
		cookieName:      DefaultCookieName,
		path:            "/",
		sameSite:        http.SameSiteLaxMode,
		idleTimeout:     DefaultIdleTimeout,
		absoluteTimeout: DefaultAbsoluteTimeout,
		touchFraction:   DefaultTouchFraction,
		maxSize:         DefaultMaxSize,
		codec:           JSONCodec{},
		clock:           time.Now,
		captureIP:       true,
		captureUA:       true,
	}
}

// ErrConfig is wrapped by every error New returns for invalid options.
var ErrConfig = errors.New("session: invalid configuration")

// defaultName picks the default cookie name the other options allow.
func (c *config) defaultName() {
	if c.cookieNameSet {
		return
	}
	switch {
	case c.insecure:
		c.cookieName = InsecureCookieName
	case c.domain != "" || c.path != "/":
		c.cookieName = SecureCookieName
	}
}

func (c *config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	if c.cookieName == "" || !validCookieName(c.cookieName) {
		return bad("cookie name %q is not a valid token", c.cookieName)
	}
	host := strings.HasPrefix(strings.ToLower(c.cookieName), "__host-")
	secure := strings.HasPrefix(strings.ToLower(c.cookieName), "__secure-")
	if (host || secure) && c.insecure {
		return bad("cookie name %q requires the Secure attribute, which WithInsecureCookie drops; use an unprefixed name (WithCookieName(%q)) or leave the name to the default", c.cookieName, InsecureCookieName)
	}
	if host && c.domain != "" {
		return bad("cookie name %q forbids a Domain attribute; use a __Secure- name (WithCookieName(%q)) or leave the name to the default", c.cookieName, SecureCookieName)
	}
	if host && c.path != "/" {
		return bad("cookie name %q requires Path=/; use a __Secure- name (WithCookieName(%q)) or leave the name to the default", c.cookieName, SecureCookieName)
	}
	if c.path == "" || c.path[0] != '/' || !validAttrValue(c.path) {
		return bad("cookie path %q must start with / and contain no control characters or ';'", c.path)
	}
	if c.domain != "" && !validDomain(c.domain) {
		return bad("cookie domain %q is not a valid host name", c.domain)
	}
	switch c.sameSite {
	case http.SameSiteLaxMode, http.SameSiteStrictMode:
	case http.SameSiteNoneMode:
		if c.insecure {
			return bad("SameSite=None requires the Secure attribute")
		}
	default:
		return bad("SameSite must be Lax, Strict or None")
	}
	if c.partitioned && c.insecure {
		return bad("Partitioned requires the Secure attribute")
	}
	if c.idleTimeout <= 0 {
		return bad("idle timeout must be positive, got %v", c.idleTimeout)
	}
	if c.absoluteTimeout <= 0 {
		return bad("absolute timeout must be positive, got %v", c.absoluteTimeout)
	}
	if err := c.validateHeaderToken(); err != nil {
		return err
	}
	if c.idleTimeout > c.absoluteTimeout {
		return bad("idle timeout %v exceeds the absolute timeout %v, which would end every session first; for \"remember me\" use WithMaxLifetime and Session.SetLifetime", c.idleTimeout, c.absoluteTimeout)
	}
	if c.maxLifetime == 0 {
		c.maxLifetime = c.absoluteTimeout
	}
	if c.maxLifetime < c.absoluteTimeout {
		return bad("max lifetime %v is shorter than the absolute timeout %v", c.maxLifetime, c.absoluteTimeout)
	}
	if !(c.touchFraction > 0 && c.touchFraction <= 1) {
		return bad("touch fraction must be in (0, 1], got %v", c.touchFraction)
	}
	if c.anonLimit < 0 || c.anonLimit > 0 && (c.anonPeriod <= 0 || c.anonPeriod/time.Duration(c.anonLimit) <= 0) {
		return bad("anonymous limit must be a positive count per positive period, got %d per %v", c.anonLimit, c.anonPeriod)
	}
	if c.anonIdle < 0 || c.anonIdle > c.idleTimeout {
		return bad("anonymous idle timeout must be between 0 and the idle timeout (%v), got %v", c.idleTimeout, c.anonIdle)
	}
	if c.maxSize <= 0 {
		return bad("max size must be positive, got %d", c.maxSize)
	}
	if c.codec == nil {
		return bad("codec is nil")
	}
	if c.clock == nil {
		return bad("clock is nil")
	}
	if c.maxPerUser < 0 {
		return bad("max sessions per user must not be negative, got %d", c.maxPerUser)
	}
	for _, p := range c.trustedProxies {
		if !p.IsValid() {
			return bad("invalid trusted proxy prefix %v", p)
		}
	}
	if c.logKey != nil && len(c.logKey) < 32 {
		return bad("log hash key must be at least 32 bytes")
	}
	return nil
}

func validCookieName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

func validAttrValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == ';' {
			return false
		}
	}
	return true
}

func validDomain(s string) bool {
	s = strings.TrimPrefix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// defaultErrorHandler answers 503 for store failures and 500 otherwise.
func defaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	var se *StoreError
	var le *AnonymousLimitError
	msg := ""
	switch {
	case errors.As(err, &le):
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", strconv.Itoa(int((le.RetryAfter+time.Second-1)/time.Second)))
	case errors.Is(err, ErrCookieTooLarge) || errors.Is(err, ErrTooLarge):
		// The client's request made the session too large: its
		// changes were not saved, and saying so is the clear answer.
		code, msg = http.StatusRequestEntityTooLarge, "the session is too large to save; nothing was saved"
	case errors.As(err, &se) || errors.Is(err, context.DeadlineExceeded):
		code = http.StatusServiceUnavailable
	}
	if msg == "" {
		msg = http.StatusText(code)
	}
	http.Error(w, msg, code)
}
