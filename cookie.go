package session

import (
	"iter"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// readToken finds the session cookie in the request. Only cookies with
// exactly the configured name count (across every Cookie header line). When
// several are present, the request is treated as anonymous unless exactly
// one distinct value is a well-formed token: a planted duplicate must not
// choose the session.
func (m *Manager) readToken(r *http.Request, s *Session) {
	found, seen := false, false
	for v := range namedCookies(r.Header, m.cookieName) {
		seen = true
		d, ok := m.parseToken(v)
		if !ok {
			continue
		}
		if found && d != s.digest {
			s.hasToken = false
			s.token = ""
			s.tokenIssue = "duplicate"
			return
		}
		found = true
		s.digest, s.token = d, v
	}
	if !seen {
		return
	}
	if !found {
		s.tokenIssue = "malformed"
		return
	}
	s.hasToken, s.presented = true, s.token
}

// namedCookies yields the value of every cookie called name (a valid
// token) in the Cookie header lines of h, as http.Request.CookiesNamed
// returns them (one pair of surrounding double quotes removed; values with
// a byte net/http rejects skipped), without allocating: it runs on every
// request. Above net/http's default limit of 3000 cookies per request it
// defers to CookiesNamed itself, which then applies the limit as configured
// (GODEBUG httpcookiemaxnum) and by default returns nothing.
func namedCookies(h http.Header, name string) iter.Seq[string] {
	return func(yield func(string) bool) {
		lines := h["Cookie"]
		n := 0
		for _, line := range lines {
			n += strings.Count(line, ";") + 1
		}
		if n > defaultMaxCookies {
			for _, c := range (&http.Request{Header: h}).CookiesNamed(name) {
				if !yield(c.Value) {
					return
				}
			}
			return
		}
		for _, line := range lines {
			for part := range strings.SplitSeq(line, ";") {
				k, v, _ := strings.Cut(trimASCIISpace(part), "=")
				if trimASCIISpace(k) != name {
					continue
				}
				if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
					v = v[1 : len(v)-1]
				}
				if !validCookieValue(v) {
					continue
				}
				if !yield(v) {
					return
				}
			}
		}
	}
}

// defaultMaxCookies is net/http's default limit on the cookies it parses
// in one request.
const defaultMaxCookies = 3000

// trimASCIISpace removes what net/textproto.TrimString removes from both
// ends of s: spaces, tabs, carriage returns and line feeds.
func trimASCIISpace(s string) string {
	for len(s) > 0 && isASCIISpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isASCIISpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isASCIISpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }

// validCookieValue reports whether net/http accepts every byte of v in a
// cookie value: RFC 6265's cookie-octets, plus the space.
func validCookieValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' {
			return false
		}
	}
	return true
}

// writeCookie sets the session cookie. Its Max-Age follows the session's
// expiry (the earlier of the idle expiry and the absolute deadline, capped at
// 400 days) unless it expires at browser close.
func (m *Manager) writeCookie(h http.Header, token string, now, idleExpiry, absExpiry time.Time, onClose bool) {
	if m.headerToken {
		writeHeaderToken(h, token)
		return
	}
	var b strings.Builder
	b.Grow(len(m.cookieName) + len(token) + 96)
	b.WriteString(m.cookieName)
	b.WriteByte('=')
	b.WriteString(token)
	if !onClose {
		life := minTime(idleExpiry, absExpiry).Sub(now)
		life = min(life, maxCookieLifetime)
		secs := int64((life + time.Second - 1) / time.Second)
		if secs <= 0 {
			secs = 1
		}
		b.WriteString("; Max-Age=")
		b.WriteString(strconv.FormatInt(secs, 10))
	}
	m.writeAttrs(&b)
	setCookie(h, m.cookieName, b.String())
}

// writeDeletion expires the cookie, repeating the attributes it was set with
// so browsers match and remove it.
func (m *Manager) writeDeletion(h http.Header) {
	if m.headerToken {
		writeHeaderToken(h, "")
		return
	}
	var b strings.Builder
	b.WriteString(m.cookieName)
	b.WriteString("=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
	m.writeAttrs(&b)
	setCookie(h, m.cookieName, b.String())
}

func (m *Manager) writeAttrs(b *strings.Builder) {
	b.WriteString("; Path=")
	b.WriteString(m.path)
	if m.domain != "" {
		b.WriteString("; Domain=")
		b.WriteString(strings.TrimPrefix(m.domain, "."))
	}
	b.WriteString("; HttpOnly")
	if !m.insecure {
		b.WriteString("; Secure")
	}
	switch m.sameSite {
	case http.SameSiteStrictMode:
		b.WriteString("; SameSite=Strict")
	case http.SameSiteNoneMode:
		b.WriteString("; SameSite=None")
	default:
		b.WriteString("; SameSite=Lax")
	}
	if m.partitioned {
		b.WriteString("; Partitioned")
	}
}

// setCookie adds the Set-Cookie line, replacing one for the same cookie name
// that is already there, and marks the response as not storable by caches
// unless the application chose its own Cache-Control.
func setCookie(h http.Header, name, line string) {
	lines := h["Set-Cookie"]
	kept := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(l, name+"=") {
			kept = append(kept, l)
		}
	}
	h["Set-Cookie"] = append(kept, line)
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
}

// addVary adds field ("Cookie", or a header-token manager's header) to the
// Vary header unless it is there already.
func addVary(h http.Header, field string) {
	for _, v := range h["Vary"] {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, field) {
				return
			}
		}
	}
	h["Vary"] = append(h["Vary"], field) // h.Add, minus canonicalizing a canonical key
}
