package redisstore

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sessionkit/session"
)

func ms(t time.Time) int64 { return t.UnixMilli() }

// msOrZero is ms, with 0 for the zero time ("unchanged" in a Change).
func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func boolStr(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// fields returns the hash fields of a record as alternating names and
// values (see the layout in the package doc): the times, each in a field
// of its own so that every field stays within Redis's listpack limit of 64
// bytes and the scripts compare them without parsing, the version and
// size, the non-empty strings, the values. Fields that hold their default
// (no idle timeout override, not expiring on close, anonymous) are left
// out.
func fields(r *session.Record) []any {
	out := make([]any, 0, 22+2*len(r.Values))
	var created any = ms(r.Created)
	if !r.AuthTime.IsZero() {
		// A logged-in session's "_m" is "created,auth" with auth relative
		// to created: one field fewer to write (each costs Redis about as
		// much as a small command) and shorter than two times.
		m := strconv.AppendInt(nil, ms(r.Created), 10)
		created = strconv.AppendInt(append(m, ','), ms(r.AuthTime)-ms(r.Created), 10)
	}
	out = append(out, "_m", created, "_l", ms(r.LastSeen), "_i", ms(r.IdleExpiry), "_a", ms(r.AbsExpiry),
		"_v", r.Version, "_s", int64(r.Size()))
	if r.IdleTimeout > 0 {
		out = append(out, "_o", r.IdleTimeout.Milliseconds())
	}
	if r.ExpireOnClose {
		out = append(out, "_c", "1")
	}
	for _, f := range [...]struct{ name, v string }{{"_u", r.UserID}, {"_ip", r.IP}, {"_ua", r.UserAgent}} {
		if f.v != "" {
			out = append(out, f.name, f.v)
		}
	}
	for k, v := range r.Values {
		out = append(out, "v:"+k, v)
	}
	return out
}

// errTombstone is decode's error for a revocation's tombstone (see
// killScript): no session.
var errTombstone = fmt.Errorf("%w: a revoked session's tombstone", session.ErrNotFound)

// requiredMeta lists the metadata fields every session has, in the order
// of decode's times.
var requiredMeta = [...]string{"_m", "_l", "_i", "_a", "_v"}

// decode builds a record from HGETALL's result, in one pass over it.
func decode(h map[string]string) (*session.Record, error) {
	r := &session.Record{}
	var meta [len(requiredMeta)]int64
	var seen [len(requiredMeta)]bool
	var authDelta, idle int64
	var hasAuth bool
	type value struct{ key, v string }
	values := make([]value, 0, 8) // on the stack for small sessions
	size := 0
	number := func(f, v string) (int64, error) {
		n, ok := parseInt(v)
		if !ok {
			return 0, fmt.Errorf("%w: metadata field %s is %q", session.ErrCorrupt, f, v)
		}
		return n, nil
	}
	for f, v := range h {
		if strings.HasPrefix(f, "v:") {
			values = append(values, value{f[2:], v})
			size += len(v)
			continue
		}
		var err error
		switch f {
		case "_m", "_l", "_i", "_a", "_v":
			i := strings.Index("_m_l_i_a_v", f) / 2
			if i == 0 {
				var delta string
				v, delta, hasAuth = strings.Cut(v, ",")
				if hasAuth {
					authDelta, err = number(f, delta)
				}
			}
			if err == nil {
				meta[i], err = number(f, v)
			}
			seen[i] = true
		case "_o":
			if idle, err = number(f, v); err == nil && (idle < 0 || idle > math.MaxInt64/int64(time.Millisecond)) {
				err = fmt.Errorf("%w: idle timeout %d ms out of range", session.ErrCorrupt, idle)
			}
		case "_c":
			r.ExpireOnClose = v == "1"
		case "_u":
			r.UserID = v
		case "_ip":
			r.IP = v
		case "_ua":
			r.UserAgent = v
		case "_t":
			return nil, errTombstone
		}
		if err != nil {
			return nil, err
		}
	}
	for i, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("%w: metadata field %s missing", session.ErrCorrupt, requiredMeta[i])
		}
	}
	r.Created, r.LastSeen, r.IdleExpiry, r.AbsExpiry = fromMS(meta[0]), fromMS(meta[1]), fromMS(meta[2]), fromMS(meta[3])
	r.Version = meta[4]
	r.IdleTimeout = time.Duration(idle) * time.Millisecond
	if hasAuth {
		auth := meta[0] + authDelta
		if (authDelta > 0) != (auth > meta[0]) {
			return nil, fmt.Errorf("%w: auth time out of range", session.ErrCorrupt)
		}
		r.AuthTime = fromMS(auth)
	}
	if len(values) == 0 {
		return r, nil
	}
	// The values are copied into one buffer, each slice capped at its own
	// end so that an append cannot reach its neighbour.
	r.Values = make(map[string][]byte, len(values))
	buf := make([]byte, 0, size)
	for _, kv := range values {
		start := len(buf)
		buf = append(buf, kv.v...)
		r.Values[kv.key] = buf[start:len(buf):len(buf)]
	}
	return r, nil
}

// parseInt parses a decimal int64 as fields writes it: an optional minus
// sign and at most 19 digits, nothing else.
func parseInt(s string) (int64, bool) {
	i := 0
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		i = 1
	}
	if i == len(s) || len(s)-i > 19 {
		return 0, false
	}
	var n uint64 // 19 digits stay below 1e19 < 2^64
	for ; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case neg && n <= 1<<63:
		return -int64(n), true // int64(1<<63) wraps to the minimum, as its negation does
	case !neg && n < 1<<63:
		return int64(n), true
	}
	return 0, false
}
