package django

import (
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/sessionkit/session"
)

// KeyExpiry is the key of the session dictionary where Django's
// request.session.set_expiry keeps a session's own expiry: an int N
// (seconds of inactivity, counted from the last save), 0 (the cookie ends
// with the browser; the row or cache entry still lasts
// SESSION_COOKIE_AGE), or a datetime's ISO 8601 string (a fixed end).
// Django 3.2's db and cached_db backends cannot store a datetime (their
// JSONSerializer fails at the save); its cache backend on django-redis'
// JSONSerializer stores one as DjangoJSONEncoder writes it ("...Z" under
// USE_TZ = True, a naive local time under USE_TZ = False), though Django
// 3.2 then fails at the next save of that session.
//
// The db and cache stores map it to the core's per-session lifetime and
// keep it out of the record's values: N is Record.IdleTimeout (so the
// manager's SetIdleTimeout is set_expiry(N) for Django), 0 (or false) is
// Record.ExpireOnClose (SetExpireOnClose), true is one second (Python's
// True == 1), a datetime is Record.AbsExpiry; a session without it has
// SESSION_COOKIE_AGE (Config.CookieAge) as its idle timeout, as in Django.
// expire_date (or the TTL) is written as Django computes it: the time of
// the write plus that age, or the datetime. A value the store does not
// understand (a naive datetime without Config.TimeZone, an object, any
// other string) is kept as it is, and the session ends when its
// expire_date (or TTL) says: Go never moves that later. Such a value, or
// a datetime, is a fixed end that every Go write of the session keeps (a
// login as the same user, SetLifetime, SetIdleTimeout, SetExpireOnClose):
// a shorter lifetime the manager gives it only dates that write's
// expire_date (or TTL) earlier, and is not stored.
const KeyExpiry = "_session_expiry"

// maxExpiryAge bounds an integer expiry (a larger one would overflow a
// time.Duration); it is about 31 years. A session set to live longer is
// treated as living that long (Go's writes date it no later).
const maxExpiryAge = 1e9 * time.Second

// expiry is a session's _session_expiry as Django reads it
// (SessionBase.get_expiry_age, get_expiry_date,
// get_expire_at_browser_close).
type expiry struct {
	raw     []byte        // as stored; nil when absent
	known   bool          // understood as Django understands it (or absent)
	age     time.Duration // the seconds of inactivity it allows
	onClose bool          // 0: a browser-session cookie
	hasAt   bool          // a datetime (or a negative age): a fixed end
	at      time.Time     // the fixed end when hasAt
}

// naiveLayout is a datetime's isoformat() without an offset (Django under
// USE_TZ = False), to the microsecond or DjangoJSONEncoder's millisecond.
const naiveLayout = "2006-01-02T15:04:05.999999999"

// parseExpiry reads raw (nil when absent) as Django would. null, and the
// empty string, are absent for Django ("if not expiry"); false is 0 and
// true is 1 (Python's bool is an int). A datetime string with an offset is
// a fixed end; one without is a naive local time in loc (Django's
// TIME_ZONE), not understood when loc is nil. Anything else is not
// understood (known is false).
func parseExpiry(raw []byte, cookieAge time.Duration, loc *time.Location) expiry {
	e := expiry{raw: raw, age: cookieAge, known: true}
	switch string(raw) {
	case "", "null", `""`:
		return e
	case "false":
		e.onClose = true
		return e
	case "true":
		e.age = time.Second
		return e
	}
	e.known = false
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return e
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			e.at, e.hasAt, e.known = t.UTC(), true, true
		} else if t, err := time.ParseInLocation(naiveLayout, s, time.UTC); err == nil && loc != nil {
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
			e.at, e.hasAt, e.known = t.UTC(), true, true
		}
		return e
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return e
	}
	e.known = true
	switch {
	case f == 0:
		e.onClose = true
	case f < 0:
		e.at, e.hasAt = time.Unix(0, 0).UTC(), true // Django dates it in the past
	case f >= maxExpiryAge.Seconds():
		// Clamped in float: converting a float beyond int64 to a
		// Duration is implementation-defined.
		e.age = maxExpiryAge
	default:
		e.age = max(time.Duration(f*float64(time.Second)), 1)
	}
	return e
}

// expires returns when a session written at lastSeen ends, as Django's
// get_expiry_date computes it at a save; stored, the end its row (or
// entry) has, when the value is not understood (never later than that).
func (e expiry) expires(lastSeen, stored time.Time) time.Time {
	switch {
	case !e.known:
		return stored
	case e.hasAt:
		return e.at
	}
	return lastSeen.Add(e.age)
}

// lifetime is what a write stores for Django: the _session_expiry (nil
// for none) and the expire_date (or TTL end) that goes with it.
type lifetime struct {
	raw     []byte
	expires time.Time
}

// keeps reports whether rec's lifetime is the one e already stores, so
// that e's value is written back as it is: the same idle timeout and
// browser-close flag and no earlier absolute deadline, or, for a datetime
// or a value not understood, rec's absolute deadline being that end.
func (e expiry) keeps(rec *session.Record, stored time.Time, cookieAge time.Duration) bool {
	switch {
	case e.raw == nil:
		return false
	case !e.known:
		return rec.IdleTimeout == cookieAge && !rec.ExpireOnClose && rec.AbsExpiry.Equal(stored)
	case e.hasAt:
		return rec.IdleTimeout == e.age && !rec.ExpireOnClose && rec.AbsExpiry.Equal(e.at)
	}
	return rec.IdleTimeout == e.age && rec.ExpireOnClose == e.onClose && !rec.AbsExpiry.Before(rec.LastSeen.Add(e.age))
}

// fixed reports whether e is a fixed end: a datetime, or a value not
// understood (which ends when its row or entry does).
func (e expiry) fixed() bool { return e.raw != nil && (e.hasAt || !e.known) }

// lifetimeOf returns what a write of rec at rec.LastSeen stores. base is
// the stored expiry (absent for a new session) and stored its end; when
// rec keeps it (see keeps), it is written back as it is. A base that is a
// fixed end (see fixed) is written back too, whatever rec says: its end
// bounds every write of the session (the manager's lifetime, when it ends
// first, only dates this write's expire_date or TTL), so that neither
// Django's saves nor Go's refreshes ever take the session past it.
// Otherwise the lifetime is the manager's (see managerLifetime).
func lifetimeOf(base expiry, stored time.Time, rec *session.Record, cookieAge time.Duration) lifetime {
	if base.keeps(rec, stored, cookieAge) {
		return lifetime{raw: base.raw, expires: base.expires(rec.LastSeen, stored)}
	}
	lt := managerLifetime(rec, cookieAge)
	if base.fixed() {
		return lifetime{raw: base.raw, expires: minTime(lt.expires, base.expires(rec.LastSeen, stored))}
	}
	return lt
}

// managerLifetime is the lifetime the manager gave rec: the time left
// until its deadline, the earlier of its idle timeout (rec.IdleTimeout, or
// the manager's, which is rec.IdleExpiry - rec.LastSeen when it is 0, and
// which is not written beyond cookieAge: Django's default ends the
// session sooner) and rec.AbsExpiry. Django has no absolute deadline it
// can read back from JSON, and one _session_expiry for both an age and a
// browser-session cookie: a deadline shorter than cookieAge is written as
// its number of whole seconds (at least 1; a browser-session cookie then
// gets that Max-Age from Django, the shorter life on the server being
// what matters), a browser-session cookie as 0 (cookieAge on the server),
// and cookieAge as no _session_expiry. Less than a second short of
// cookieAge counts as cookieAge (a login's absolute deadline runs from the
// Login call, a little before the write): Django's resolution is the
// second, and its default keeps SESSION_EXPIRE_AT_BROWSER_CLOSE working.
// Otherwise Django never keeps such a session longer than the manager
// decided at this write.
func managerLifetime(rec *session.Record, cookieAge time.Duration) lifetime {
	left := rec.IdleTimeout
	if left <= 0 {
		left = min(rec.IdleExpiry.Sub(rec.LastSeen), cookieAge)
	}
	if abs := rec.AbsExpiry.Sub(rec.LastSeen); abs < left {
		left = abs
	}
	if left < cookieAge && cookieAge-left < time.Second {
		left = cookieAge
	}
	switch {
	case rec.ExpireOnClose && left >= cookieAge:
		return lifetime{raw: []byte("0"), expires: rec.LastSeen.Add(cookieAge)}
	case left == cookieAge:
		return lifetime{expires: rec.LastSeen.Add(cookieAge)}
	}
	n := max(int64(left/time.Second), 1)
	return lifetime{raw: []byte(strconv.FormatInt(n, 10)), expires: rec.LastSeen.Add(time.Duration(n) * time.Second)}
}

// earlier returns the one of a and b that ends first (a when tied).
func earlier(a, b lifetime) lifetime {
	if b.expires.Before(a.expires) {
		return b
	}
	return a
}

// reserved reports whether k is a key the stores map to record fields
// rather than values: the login keys, and KeyExpiry when managed.
func reserved(k string, managed bool) bool {
	return authKey(k) || (managed && k == KeyExpiry)
}

// recordOf turns a session dictionary whose row (or cache entry) ends at
// expires, read at now, into the record the manager works with.
//
// Django keeps no creation, login or activity time. The last activity
// reads as the last save: the end minus the session's age (its
// set_expiry, else cookieAge). Created and AuthTime read as the last save
// too, so that a manager whose absolute timeout (absTimeout) is shorter
// than cookieAge ends a session that long after its last save. When
// absTimeout is at least cookieAge (the README's settings), a session
// whose own age exceeds it (set_expiry(30 days) under a two-week
// SESSION_COOKIE_AGE) reads as created at the end minus absTimeout, never
// after now, so that the manager never ends a session Django still
// accepts. They are not the login time.
//
// The session has no absolute deadline other than a set_expiry datetime;
// a value the store does not understand makes the current end the
// absolute deadline, which Go's refreshes then never pass.
func recordOf(d *dict, userID string, expires, now time.Time, cookieAge, absTimeout time.Duration, loc *time.Location, ver int64) *session.Record {
	e := parseExpiry(d.vals[KeyExpiry], cookieAge, loc)
	seen := expires.Add(-e.age)
	if e.hasAt || !e.known {
		seen = expires.Add(-cookieAge)
	}
	seen = minTime(seen, now)
	created := seen
	if absTimeout >= cookieAge {
		created = maxTime(seen, minTime(expires.Add(-absTimeout), now))
	}
	rec := &session.Record{
		Values:        make(map[string][]byte, len(d.keys)),
		UserID:        userID,
		Created:       created,
		LastSeen:      seen,
		IdleTimeout:   e.age,
		ExpireOnClose: e.onClose,
		IdleExpiry:    expires,
		AbsExpiry:     noDeadline,
		Version:       ver,
	}
	switch {
	case !e.known:
		rec.AbsExpiry = expires
	case e.hasAt:
		rec.AbsExpiry = e.at
	}
	if userID != "" {
		rec.AuthTime = created
	}
	for _, k := range d.keys {
		if !reserved(k, true) {
			rec.Values[k] = d.vals[k]
		}
	}
	return rec
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// lifetimeFor returns what a write of rec over base (nil for a new
// session), whose row or entry ends at stored, stores (see lifetimeOf).
// base's expiry is not kept when a login switches users (Django's login
// flushes the session then).
func lifetimeFor(base *dict, stored time.Time, rec *session.Record, cookieAge time.Duration, loc *time.Location) lifetime {
	var e expiry
	if sameLineage(base, rec) {
		e = parseExpiry(base.vals[KeyExpiry], cookieAge, loc)
	}
	return lifetimeOf(e, stored, rec, cookieAge)
}

// sameLineage reports whether rec continues the session base holds: base
// exists, and it or rec is anonymous or both are the same user's.
func sameLineage(base *dict, rec *session.Record) bool {
	if base == nil {
		return false
	}
	var prevID string
	jsonString(base.vals[KeyUserID], &prevID)
	return prevID == "" || rec.UserID == "" || prevID == rec.UserID
}

// renewedLifetime is lifetimeFor for a renewal of rec over base, the row
// (or entry) as read again at now. When base changed since the request
// loaded rec (rec.Version is one past the version it loaded; a Django
// set_expiry may have landed meanwhile), the request's view of the
// expiry is stale: the earlier of its lifetime and the one base's own
// expiry gives a save at now is written, so that a concurrent shortening
// is never undone.
func renewedLifetime(base *dict, baseVersion int64, stored, now time.Time, rec *session.Record, cookieAge time.Duration, loc *time.Location) lifetime {
	lt := lifetimeFor(base, stored, rec, cookieAge, loc)
	if rec.Version-1 == baseVersion || !sameLineage(base, rec) {
		return lt
	}
	e := parseExpiry(base.vals[KeyExpiry], cookieAge, loc)
	return earlier(lt, lifetime{raw: e.raw, expires: e.expires(now, stored)})
}
