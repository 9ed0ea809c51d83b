// Package urlredact hides the credentials of store URLs and connection
// strings in anything the project prints: errors, log lines, banners and
// command output. Every module of the repository uses this one function,
// so that no path prints a password that another path hides.
package urlredact

import (
	"regexp"
	"strings"
)

// Mask replaces each credential.
const Mask = "xxxxx"

// secretParam matches a password-like parameter (in a URL query or a
// key=value connection string) and its value: password, pass, passwd, pwd,
// sentinel_password, sslpassword, secret, token, and any name containing
// them.
//
// The value runs to the next "&" or blank: a "#", "?", ";" or "," in an
// unescaped password is part of what is hidden.
var secretParam = regexp.MustCompile(`(?i)((?:^|[?&;\s,])[a-z0-9_.-]*(?:pass|pwd|secret|token)[a-z0-9_.-]*\s*=\s*)('[^']*'|"[^"]*"|[^&\s'"]*)`)

// Redact returns s with every credential it may contain replaced by Mask:
//
//   - after each "://", everything up to the last "@" that follows it (the
//     userinfo, even when the password holds unescaped "/", "?", "#", ":" or
//     "@", which break URL parsers);
//   - in text without "://" that contains "@" (a MySQL driver DSN such as
//     user:pass@tcp(host:3306)/db), everything before the last "@";
//   - the value of every password-like parameter (password=, pass=,
//     sentinel_password=, sslpassword=, secret=, token=, ...).
//
// It works on any text, not only on a well-formed URL: an error message
// that quotes a URL is redacted as well. It may hide more than the
// credentials (a user name, an "@" in a query), never less.
func Redact(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			s = s[:i+3] + Mask + rest[at:]
		}
	} else if at := strings.LastIndexByte(s, '@'); at >= 0 {
		s = Mask + s[at:]
	}
	return secretParam.ReplaceAllString(s, "${1}"+Mask)
}
