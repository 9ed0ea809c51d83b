package session

import (
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
	cookies := r.CookiesNamed(m.cookieName)
	if len(cookies) == 0 {
		return
	}
	found := false
	for _, c := range cookies {
		d, ok := parseToken(c.Value)
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
		s.digest, s.token = d, c.Value
	}
	if !found {
		s.tokenIssue = "malformed"
		return
	}
	s.hasToken = true
}

// writeCookie sets the session cookie. Its Max-Age follows the session's
// expiry (the earlier of the idle expiry and the absolute deadline, capped at
// 400 days) unless it expires at browser close.
func (m *Manager) writeCookie(h http.Header, token string, now, idleExpiry, absExpiry time.Time, onClose bool) {
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

// addVary adds "Cookie" to the Vary header unless it is there already.
func addVary(h http.Header) {
	for _, v := range h["Vary"] {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, "Cookie") {
				return
			}
		}
	}
	h.Add("Vary", "Cookie")
}
