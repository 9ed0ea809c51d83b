package session

import (
	"net"
	"net/http"
	"strings"
)

// warnPlainHTTP logs once per manager that a Secure session cookie was
// answered to a request that came over plain HTTP to a host browsers do
// not treat as secure (not localhost or a loopback address): every browser
// drops such a cookie, so logging in seems to do nothing, and without this
// line nothing says why. A request that a TLS-terminating proxy forwarded
// (X-Forwarded-Proto: https, or Forwarded with proto=https) is not one.
func (m *Manager) warnPlainHTTP(r *http.Request) {
	if r == nil || m.insecure || m.headerToken || r.TLS != nil || m.plainHTTPWarned.Load() {
		return
	}
	if strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") ||
		strings.Contains(strings.ToLower(r.Header.Get("Forwarded")), "proto=https") {
		return
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil && ip.IsLoopback() {
		return
	}
	if m.plainHTTPWarned.Swap(true) {
		return
	}
	m.logger.Warn("session: the session cookie has the Secure attribute but this request came over plain HTTP to a host browsers drop Secure cookies from (logging in will seem to do nothing): serve HTTPS; behind a TLS-terminating proxy, have it send X-Forwarded-Proto: https; for local development only, use WithInsecureCookie",
		"host", r.Host, "cookie", m.cookieName)
}
