package redisstore

import (
	"fmt"
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
// values: "_m" with the numbers, the non-empty strings, the values.
func fields(r *session.Record) []any {
	out := make([]any, 0, 8+2*len(r.Values))
	var auth int64
	if !r.AuthTime.IsZero() {
		auth = ms(r.AuthTime)
	}
	onClose := 0
	if r.ExpireOnClose {
		onClose = 1
	}
	m := strconv.AppendInt(nil, ms(r.Created), 10)
	for _, v := range []int64{ms(r.LastSeen), r.IdleTimeout.Milliseconds(), ms(r.IdleExpiry), ms(r.AbsExpiry), int64(onClose), auth} {
		m = append(m, ',')
		m = strconv.AppendInt(m, v, 10)
	}
	out = append(out, "_m", m, "_v", r.Version, "_s", int64(r.Size()))
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

// decode builds a record from HGETALL's result, in one pass over it.
func decode(h map[string]string) (*session.Record, error) {
	r := &session.Record{}
	var meta, version string
	var hasMeta, hasVersion bool
	type value struct{ key, v string }
	values := make([]value, 0, 8) // on the stack for small sessions
	size := 0
	for f, v := range h {
		switch {
		case strings.HasPrefix(f, "v:"):
			values = append(values, value{f[2:], v})
			size += len(v)
		case f == "_m":
			meta, hasMeta = v, true
		case f == "_v":
			version, hasVersion = v, true
		case f == "_u":
			r.UserID = v
		case f == "_ip":
			r.IP = v
		case f == "_ua":
			r.UserAgent = v
		case f == "_t":
			return nil, errTombstone
		}
	}
	if !hasMeta || !hasVersion {
		return nil, fmt.Errorf("%w: metadata or version missing", session.ErrCorrupt)
	}
	var m [7]int64
	for i := range m {
		field := meta
		if j := strings.IndexByte(meta, ','); j >= 0 {
			field, meta = meta[:j], meta[j+1:]
		} else {
			meta = ""
		}
		v, ok := parseInt(field)
		if !ok {
			return nil, fmt.Errorf("%w: metadata field %d is %q", session.ErrCorrupt, i, field)
		}
		m[i] = v
	}
	if meta != "" {
		return nil, fmt.Errorf("%w: trailing metadata", session.ErrCorrupt)
	}
	v, ok := parseInt(version)
	if !ok {
		return nil, fmt.Errorf("%w: version is %q", session.ErrCorrupt, version)
	}
	r.Version = v
	r.Created, r.LastSeen, r.IdleTimeout = fromMS(m[0]), fromMS(m[1]), time.Duration(m[2])*time.Millisecond
	r.IdleExpiry, r.AbsExpiry, r.ExpireOnClose = fromMS(m[3]), fromMS(m[4]), m[5] == 1
	if m[6] != 0 {
		r.AuthTime = fromMS(m[6])
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
