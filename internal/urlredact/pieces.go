package urlredact

import (
	"net/url"
	"strconv"
	"strings"
)

// breaksURL are the characters that, unescaped in the password of a URL's
// userinfo, make URL parsers split it (and quote the pieces in their
// errors). In a query value they are allowed but "#" and blanks, which
// the piece masking covers.
const breaksURL = "/?#@ \t\r\n"

// Withheld replaces the message of an error about a URL whose password
// holds characters that break URL parsing (RedactFor).
const Withheld = "the store URL cannot be parsed: its password holds a character to percent-encode (/ ? # @ or a blank); the parser's message is withheld, since it would quote part of the password"

// minPiece is the shortest piece of a password RedactFor looks for: a
// shorter one cannot be told apart from the text around it.
const minPiece = 3

// RedactFor returns text (typically an error a parser or driver returned
// for rawURL) redacted as Redact does and, in addition, with every piece
// of three bytes or more of rawURL's passwords replaced by Mask: the
// password of its userinfo (in a URL, everything after the first ":" up to
// the last "@"; in a MySQL DSN, everything after the DSN's first ":" up to
// the last "@", a "://" in it included), and the values of its password-like parameters (in a URL,
// everything after such a parameter's "=", since an unescaped "&" in the
// password makes drivers read its tail as another parameter and name it in
// their errors), as written, unescaped and quoted as %q quotes them. A parser that splits a URL at a "/", ":", "?" or "#" inside a
// password quotes a fragment of it ("invalid port \":s3c\" after host"),
// which no rule about where the userinfo ends can catch. When the
// userinfo's password holds a character that makes parsers split it ("/",
// "?", "#", "@", a blank), a piece of any length may be quoted: the whole
// text is replaced by Withheld. It may hide more than the password (text that happens to
// share three bytes with it); pieces of one or two bytes of a password
// without such characters are not looked for (they cannot be told from
// the text around them, and no parser splits such a password).
func RedactFor(rawURL, text string) string {
	text = Redact(text)
	userinfo, secrets := passwords(rawURL)
	if len(secrets) == 0 {
		return text
	}
	if strings.ContainsAny(userinfo, breaksURL) {
		// A parser splits the URL inside the password and may quote a
		// piece of it of any length: its message is withheld.
		return Withheld
	}
	windows := map[string]bool{}
	for _, s := range secrets {
		for i := 0; i+minPiece <= len(s); i++ {
			windows[s[i:i+minPiece]] = true
		}
	}
	hide := make([]bool, len(text))
	for i := 0; i+minPiece <= len(text); i++ {
		if windows[text[i:i+minPiece]] {
			for j := i; j < i+minPiece; j++ {
				hide[j] = true
			}
		}
	}
	return masked(text, hide, nil)
}

// passwords returns the password of rawURL's userinfo as written
// (userinfo, "" when none), and every password rawURL may hold (the
// userinfo's and the password-like parameters' values) as written, with
// their unescaped and quoted forms (all).
func passwords(rawURL string) (userinfo string, all []string) {
	var raw []string
	if at := strings.LastIndexByte(rawURL, '@'); at >= 0 && mysqlAddress(rawURL[at+1:]) {
		// A MySQL DSN (user:password@tcp(host)/db): everything after
		// the first ":" is the password, a "://" in it included
		// (root://p:q@tcp(...) is root's password "//p:q", and
		// root:0://@tcp(...) root's "0://").
		if _, pass, ok := strings.Cut(rawURL[:at], ":"); ok {
			userinfo = pass
		}
	} else if i := strings.Index(rawURL, "://"); i >= 0 {
		// A URL's password; its user name alone is not.
		rest := rawURL[i+3:]
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			if _, pass, ok := strings.Cut(rest[:at], ":"); ok {
				userinfo = pass
			}
		}
	} else if at >= 0 {
		if _, pass, ok := strings.Cut(rawURL[:at], ":"); ok {
			userinfo = pass
		}
	}
	if userinfo != "" {
		raw = append(raw, userinfo)
	}
	for _, m := range secretParam.FindAllStringSubmatchIndex(rawURL, -1) {
		raw = append(raw, strings.Trim(rawURL[m[4]:valueEnd(rawURL, m)], `'"`))
	}
	if strings.Contains(rawURL, "://") {
		// A name drivers unescape to a secret's (p%61ssword): its value,
		// or what follows an escaped "=" in it.
		for _, m := range escapedName.FindAllStringSubmatchIndex(rawURL, -1) {
			name, err := url.QueryUnescape(rawURL[m[2]:m[3]])
			if err != nil || !secretName.MatchString(name) {
				continue
			}
			if _, v, ok := strings.Cut(name, "="); ok && v != "" {
				raw = append(raw, v)
			}
			if v := strings.TrimPrefix(rawURL[m[3]:blankAfter(rawURL, m[3])], "="); v != "" {
				raw = append(raw, v)
			}
		}
		// In a URL, a value runs on through every "&" (an unescaped one
		// may be part of it) to the end, blanks included (but that of a
		// parameter naming where a secret is, see valueEnd).
		for _, m := range urlSecretParam.FindAllStringSubmatchIndex(rawURL, -1) {
			end := len(rawURL)
			if e := valueEnd(rawURL, m); e < m[5] {
				end = e
			}
			raw = append(raw, rawURL[m[4]:end])
		}
	}
	for _, s := range raw {
		forms := []string{s}
		if u, err := url.QueryUnescape(s); err == nil && u != s {
			forms = append(forms, u)
		}
		if u, err := url.PathUnescape(s); err == nil && u != s {
			forms = append(forms, u)
		}
		for _, f := range forms {
			all = append(all, f)
			// Errors quote with %q: control bytes and invalid UTF-8
			// show as escapes.
			if q := strconv.Quote(f); q[1:len(q)-1] != f {
				all = append(all, q[1:len(q)-1])
			}
		}
	}
	return userinfo, all
}
