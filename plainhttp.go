package session

import (
	"net/http"
	"net/netip"
	"strings"
)

// warnPlainHTTP logs, once per manager for each of two cases, that a
// Secure session cookie was answered to a request that came over plain
// HTTP where the browser will drop it, so logging in seems to do nothing
// and, without this line, nothing says why: any browser on a host it does
// not treat as secure (a LAN address, a container name, *.test), and
// Safari or another WebKit browser (every browser on iOS) on localhost and
// loopback addresses too, where Chrome and Firefox keep it. A request that
// a TLS-terminating proxy forwarded (X-Forwarded-Proto: https, or
// Forwarded with proto=https) is not one.
//
// Once a case's line is logged, a request of that case costs a few byte
// comparisons of its Host and no allocation (it runs on every request
// that uses its session).
func (m *Manager) warnPlainHTTP(r *http.Request) {
	if r == nil || m.insecure || m.headerToken || r.TLS != nil {
		return
	}
	loopback := loopbackHost(r.Host)
	if loopback && (m.webKitWarned.Load() || !webKit(r.UserAgent())) || !loopback && m.plainHTTPWarned.Load() {
		return
	}
	if strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") ||
		strings.Contains(strings.ToLower(r.Header.Get("Forwarded")), "proto=https") {
		return
	}
	if loopback {
		if m.webKitWarned.Swap(true) {
			return
		}
		m.logger.Warn("session: the session cookie has the Secure attribute but this request came over plain HTTP from Safari or another WebKit browser (every browser on iOS), which drops Secure cookies on plain HTTP even on localhost (Chrome and Firefox keep them there; logging in will seem to do nothing in Safari): for local development, use WithInsecureCookie, or serve HTTPS",
			"host", r.Host, "cookie", m.cookieName)
		return
	}
	if m.plainHTTPWarned.Swap(true) {
		return
	}
	m.logger.Warn("session: the session cookie has the Secure attribute but this request came over plain HTTP to a host browsers drop Secure cookies from (logging in will seem to do nothing): serve HTTPS; behind a TLS-terminating proxy, have it send X-Forwarded-Proto: https; for local development only, use WithInsecureCookie",
		"host", r.Host, "cookie", m.cookieName)
}

// loopbackHost reports whether a Host header names localhost, a name
// under .localhost or a loopback address, with or without a port, without
// allocating.
func loopbackHost(host string) bool {
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return false
		}
		a, err := netip.ParseAddr(host[1:end])
		return err == nil && a.IsLoopback()
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 && strings.IndexByte(host, ':') == i {
		host = host[:i] // name:port or IPv4:port (a bare IPv6 address has several colons)
	}
	host = strings.TrimSuffix(host, ".")
	if len(host) > 0 && (host[0] >= '0' && host[0] <= '9' || strings.IndexByte(host, ':') >= 0) {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.IsLoopback()
		}
	}
	return strings.EqualFold(host, "localhost") || len(host) > len(".localhost") &&
		strings.EqualFold(host[len(host)-len(".localhost"):], ".localhost")
}

// webKit reports whether a User-Agent header is Safari's or another
// browser built on WebKit without Chromium's cookie rules: Safari on macOS
// and every browser on iOS (Chrome there is "CriOS", Firefox "FxiOS"),
// whose user agents name AppleWebKit but not Chrome or Chromium.
func webKit(userAgent string) bool {
	return strings.Contains(userAgent, "AppleWebKit/") &&
		!strings.Contains(userAgent, "Chrome/") && !strings.Contains(userAgent, "Chromium/")
}
