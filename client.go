package session

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// MaxUserAgentLength is the number of bytes of the User-Agent header kept
// with a session.
const MaxUserAgentLength = 256

// clientInfo returns the client's IP and user agent as configured: the IP
// comes from X-Forwarded-For or Forwarded only when the request arrived from
// a trusted proxy, walking the chain from the right past trusted proxies.
func (m *Manager) clientInfo(r *http.Request) (ip, ua string) {
	if m.captureIP {
		ip = m.clientIP(r)
	}
	if m.captureUA {
		ua = truncateUTF8(r.UserAgent(), MaxUserAgentLength)
	}
	return ip, ua
}

// clientOf returns the client to record for s: its request's, or, for a
// session used outside an HTTP request (Manager.Lookup), the one on
// record.
func (m *Manager) clientOf(s *Session) (ip, ua string) {
	if s.req == nil {
		if s.rec != nil {
			return s.rec.IP, s.rec.UserAgent
		}
		return "", ""
	}
	return m.clientInfo(s.req)
}

func (m *Manager) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return ""
	}
	peer = peer.Unmap()
	if !m.trusted(peer) {
		return peer.String()
	}
	// Forwarded (RFC 7239) first, then X-Forwarded-For; both list the
	// client first and each proxy appends.
	var hops []string
	for _, v := range r.Header.Values("Forwarded") {
		for _, elem := range strings.Split(v, ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(k, "for") {
					hops = append(hops, strings.Trim(val, `"`))
				}
			}
		}
	}
	if len(hops) == 0 {
		for _, v := range r.Header.Values("X-Forwarded-For") {
			for _, h := range strings.Split(v, ",") {
				hops = append(hops, strings.TrimSpace(h))
			}
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			return peer.String() // a malformed chain: trust only what we saw
		}
		if !m.trusted(a) {
			return a.String()
		}
	}
	return peer.String()
}

// parseHop parses an address of X-Forwarded-For or Forwarded's for=,
// with or without a port and IPv6 brackets.
func parseHop(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	return a.Unmap(), err == nil
}

func (m *Manager) trusted(a netip.Addr) bool {
	for _, p := range m.trustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		if utf8.ValidString(s) {
			return s
		}
		return strings.ToValidUTF8(s, "")
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
