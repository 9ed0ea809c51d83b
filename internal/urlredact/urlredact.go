// Package urlredact hides the credentials of store URLs and connection
// strings in anything the project prints: errors, log lines, banners and
// command output. Every module of the repository uses this one function,
// so that no path prints a password that another path hides.
package urlredact

import (
	"net/url"
	"regexp"
	"strings"
)

// Mask replaces each credential.
const Mask = "xxxxx"

// secretParam matches a password-like parameter of a key=value
// connection string (or of a URL, see urlSecretParam) and its value:
// password, pass, passwd, pwd, sentinel_password, sslpassword, secret,
// token, and any name containing them. The value runs to the next blank
// (libpq reads an unquoted value so): a "&", "#", "?", ";" or "," in an
// unescaped password is part of what is hidden.
var secretParam = regexp.MustCompile(`(?i)((?:^|[?&;\s,])[a-z0-9_.-]*(?:pass|pwd|secret|token)[a-z0-9_.-]*\s*=\s*)('(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|[^\s'"]*)`)

// escapedName matches the name of a URL query parameter that holds a
// percent escape (not its value, so that every such parameter of a URL is
// found): drivers unescape names (p%61ssword is password to pgx), so such
// a name is checked once unescaped (see Redact).
var escapedName = regexp.MustCompile(`(?i)[?&;,]([^=&\s?#;,]*%[0-9a-f]{2}[^=&\s?#;,]*)`)

// mysqlAddress reports whether s, the text after the last "@", begins
// with a MySQL driver DSN's address (tcp(host:port), unix(path), or
// (host:port)): what comes before that "@" is the DSN's user and
// password, whatever it holds ("://" included).
func mysqlAddress(s string) bool {
	return strings.HasPrefix(s, "tcp(") || strings.HasPrefix(s, "unix(") || strings.HasPrefix(s, "(")
}

// blankAfter returns where the run of non-blank bytes of s at i ends.
func blankAfter(s string, i int) int {
	if j := strings.IndexAny(s[i:], " \t\n\f\r"); j >= 0 {
		return i + j
	}
	return len(s)
}

// secretName matches a parameter name that holds a secret.
var secretName = regexp.MustCompile(`(?i)pass|pwd|secret|token`)

// urlSecretParam matches a password-like parameter of a URL's query and
// everything after its "=" up to the next blank: a password typed with an
// unescaped "&" (password=Zq7&Kw9Xy) is read by drivers as a password and
// a parameter named after its tail, which they quote in their errors, so
// no "&" can be taken for the end of the value. The parameters after a
// password are hidden with it.
var urlSecretParam = regexp.MustCompile(`(?i)((?:[?&;,])[a-z0-9_.-]*(?:pass|pwd|secret|token)[a-z0-9_.-]*=)(\S*)`)

// Redact returns s with every credential it may contain replaced by Mask:
//
//   - after each "://", everything up to the last "@" that follows it (the
//     userinfo, even when the password holds unescaped "/", "?", "#", ":" or
//     "@", which break URL parsers);
//   - in text without "://" that contains "@", and in any text whose last
//     "@" is followed by a MySQL driver DSN's address (a DSN such as
//     user:pass@tcp(host:3306)/db, whose password may hold "://"),
//     everything before the last "@";
//   - in text with "://", everything after a password-like parameter's "="
//     (password=, pass=, sentinel_password=, sslpassword=, secret=,
//     token=, ...) up to the next blank, the parameters after it included
//     (an unescaped "&" in the password cannot be told from the next
//     parameter's);
//   - in any text, the value of every password-like parameter of a
//     key=value connection string (up to the next blank).
//
// It works on any text, not only on a well-formed URL: an error message
// that quotes a URL is redacted as well. It may hide more than the
// credentials (a user name, an "@" in a query, the parameters after a
// password), never less. Each rule is applied to s as given and what any
// of them covers is hidden, so that an "@" in a query value cannot make
// the userinfo rule end inside it and expose the rest.
func Redact(s string) string {
	hide := make([]bool, len(s))
	cover := func(from, to int) {
		for i := from; i < to; i++ {
			hide[i] = true
		}
	}
	params := []*regexp.Regexp{secretParam}
	if i := strings.Index(s, "://"); i >= 0 {
		params = append(params, urlSecretParam)
		if at := strings.LastIndexByte(s[i+3:], '@'); at >= 0 {
			cover(i+3, i+3+at)
		}
		// A percent-escaped name that unescapes to a secret's: hidden
		// with its value (an escaped "=" may put the value in it).
		for _, m := range escapedName.FindAllStringSubmatchIndex(s, -1) {
			if name, err := url.QueryUnescape(s[m[2]:m[3]]); err != nil || secretName.MatchString(name) {
				cover(m[2], blankAfter(s, m[3]))
			}
		}
	}
	if at := strings.LastIndexByte(s, '@'); at >= 0 && (!strings.Contains(s, "://") || mysqlAddress(s[at+1:])) {
		cover(0, at)
	}
	// An empty value is masked too: whether a password is set is not
	// told.
	empty := map[int]bool{}
	for _, re := range params {
		for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
			end := valueEnd(s, m)
			cover(m[4], end)
			if m[4] == end {
				empty[m[4]] = true
			}
		}
	}
	return masked(s, hide, empty)
}

// valueEnd returns where the value of the parameter match m (of
// secretParam or urlSecretParam) ends: where the pattern ends it, except
// for a parameter that names where a secret is (secret_key_env=NAME,
// password_file=PATH): such a value holds no secret to run on, and ends at
// the next "&" too, so that the parameters after it stay readable.
func valueEnd(s string, m []int) int {
	name := strings.ToLower(strings.TrimRight(s[m[2]:m[3]], "= \t"))
	if strings.HasSuffix(name, "_env") || strings.HasSuffix(name, "_file") {
		if i := strings.IndexByte(s[m[4]:m[5]], '&'); i >= 0 {
			return m[4] + i
		}
	}
	return m[5]
}

// masked returns s with each run of hidden bytes replaced by Mask, and
// Mask inserted at each position of empty that no run covers.
func masked(s string, hide []bool, empty map[int]bool) string {
	var b strings.Builder
	for i := 0; i <= len(s); i++ {
		if empty[i] && (i == 0 || !hide[i-1]) && (i == len(s) || !hide[i]) {
			b.WriteString(Mask)
		}
		if i == len(s) {
			break
		}
		if !hide[i] {
			b.WriteByte(s[i])
			continue
		}
		b.WriteString(Mask)
		for i+1 < len(s) && hide[i+1] {
			i++
		}
	}
	return b.String()
}
