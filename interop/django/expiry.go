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
// SESSION_COOKIE_AGE), or, in Django versions that can store a datetime
// in JSON, the datetime's ISO 8601 string (a fixed end). Django 3.2's
// JSONSerializer cannot store a datetime: set_expiry(datetime) there
// fails when the session is saved.
//
// The db and cache stores map it to the core's per-session lifetime and
// keep it out of the record's values: N is Record.IdleTimeout (so the
// manager's SetIdleTimeout is set_expiry(N) for Django), 0 is
// Record.ExpireOnClose (SetExpireOnClose), a datetime is
// Record.AbsExpiry; a session without it has SESSION_COOKIE_AGE
// (Config.CookieAge) as its idle timeout, as in Django. expire_date (or
// the TTL) is written as Django computes it: the time of the write plus
// that age, or the datetime.
const KeyExpiry = "_session_expiry"

// maxExpiryAge bounds an integer expiry (a larger one would overflow a
// time.Duration); it is about 31 years.
const maxExpiryAge = 1e9 * time.Second

// expiry is a session's _session_expiry as Django reads it
// (SessionBase.get_expiry_age, get_expiry_date,
// get_expire_at_browser_close).
type expiry struct {
	raw     []byte        // as stored; nil when absent
	age     time.Duration // the seconds of inactivity it allows
	onClose bool          // 0: a browser-session cookie
	at      time.Time     // a datetime: the fixed end
}

// parseExpiry reads raw (nil when absent). A value Django itself could not
// use (null, a string that is not an ISO 8601 datetime with an offset, any
// other JSON) counts as absent, as Django's "if not expiry" does for null;
// it is kept as it is on writes.
func parseExpiry(raw []byte, cookieAge time.Duration) expiry {
	e := expiry{raw: raw, age: cookieAge}
	if len(raw) == 0 {
		return e
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				e.at = t.UTC()
			}
		}
		return e
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) {
		return e
	}
	switch {
	case f == 0:
		e.onClose = true
	case f < 0:
		e.at = time.Unix(0, 0).UTC() // Django dates it in the past
	default:
		e.age = min(time.Duration(f*float64(time.Second)), maxExpiryAge)
	}
	return e
}

// expires returns when a session written at lastSeen ends, as Django's
// get_expiry_date computes it at a save.
func (e expiry) expires(lastSeen time.Time) time.Time {
	if !e.at.IsZero() {
		return e.at
	}
	return lastSeen.Add(e.age)
}

// matches reports whether rec's lifetime is the one e gives a record.
func (e expiry) matches(rec *session.Record) bool {
	return rec.IdleTimeout == e.age && rec.ExpireOnClose == e.onClose
}

// encodeExpiry returns the _session_expiry of rec's lifetime, nil for
// none: 0 for a browser-session cookie (Django has one value for both, so
// such a session's inactivity age is SESSION_COOKIE_AGE for Django), the
// idle timeout in whole seconds (rounded up) when it is not cookieAge.
func encodeExpiry(rec *session.Record, cookieAge time.Duration) []byte {
	switch {
	case rec.ExpireOnClose:
		return []byte("0")
	case rec.IdleTimeout > 0 && rec.IdleTimeout != cookieAge:
		return []byte(strconv.FormatInt(int64((rec.IdleTimeout+time.Second-1)/time.Second), 10))
	}
	return nil
}

// reserved reports whether k is a key the stores map to record fields
// rather than values: the login keys, and KeyExpiry when managed.
func reserved(k string, managed bool) bool {
	return authKey(k) || (managed && k == KeyExpiry)
}

// recordOf turns a session dictionary whose row (or cache entry) ends at
// expires into the record the manager works with. Django keeps no creation
// or activity time: both read as the end minus the session's age (its
// set_expiry, else cookieAge), and the session has no absolute deadline
// other than a set_expiry datetime.
func recordOf(d *dict, userID string, expires time.Time, cookieAge time.Duration, ver int64) *session.Record {
	e := parseExpiry(d.vals[KeyExpiry], cookieAge)
	seen := expires.Add(-e.age)
	rec := &session.Record{
		Values:        make(map[string][]byte, len(d.keys)),
		UserID:        userID,
		Created:       seen,
		LastSeen:      seen,
		IdleTimeout:   e.age,
		ExpireOnClose: e.onClose,
		IdleExpiry:    expires,
		AbsExpiry:     noDeadline,
		Version:       ver,
	}
	if !e.at.IsZero() {
		rec.AbsExpiry = e.at
	}
	if userID != "" {
		rec.AuthTime = seen
	}
	for _, k := range d.keys {
		if !reserved(k, true) {
			rec.Values[k] = d.vals[k]
		}
	}
	return rec
}
