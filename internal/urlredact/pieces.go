package urlredact

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// secretQueryParam matches a password-like parameter of a URL query and
// its value up to the next "&".
var secretQueryParam = regexp.MustCompile(`(?i)[?&][a-z0-9_.-]*(?:pass|pwd|secret|token)[a-z0-9_.-]*=([^&]*)`)

// minPiece is the shortest piece of a password RedactFor looks for: a
// shorter one cannot be told apart from the text around it.
const minPiece = 3

// RedactFor returns text (typically an error a parser or driver returned
// for rawURL) redacted as Redact does and, in addition, with every piece
// of three bytes or more of rawURL's passwords replaced by Mask: the
// password of its userinfo (everything after the first ":" up to the last
// "@"), and the values of its password-like parameters, as written,
// unescaped and quoted as %q quotes them. A parser that splits a URL at a "/", ":", "?" or "#" inside a
// password quotes a fragment of it ("invalid port \":s3c\" after host"),
// which no rule about where the userinfo ends can catch. It may hide more
// than the password (text that happens to share three bytes with it),
// never less.
func RedactFor(rawURL, text string) string {
	text = Redact(text)
	secrets := passwords(rawURL)
	if len(secrets) == 0 {
		return text
	}
	windows := map[string]bool{}
	for _, s := range secrets {
		for i := 0; i+minPiece <= len(s); i++ {
			windows[s[i:i+minPiece]] = true
		}
	}
	masked := make([]bool, len(text))
	for i := 0; i+minPiece <= len(text); i++ {
		if windows[text[i:i+minPiece]] {
			for j := i; j < i+minPiece; j++ {
				masked[j] = true
			}
		}
	}
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		if !masked[i] {
			b.WriteByte(text[i])
			continue
		}
		b.WriteString(Mask)
		for i+1 < len(text) && masked[i+1] {
			i++
		}
	}
	return b.String()
}

// passwords returns the passwords rawURL may hold, as written and
// unescaped.
func passwords(rawURL string) []string {
	var raw []string
	if i := strings.Index(rawURL, "://"); i >= 0 {
		rest := rawURL[i+3:]
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			if _, pass, ok := strings.Cut(rest[:at], ":"); ok {
				raw = append(raw, pass)
			}
		}
	} else if at := strings.LastIndexByte(rawURL, '@'); at >= 0 {
		if _, pass, ok := strings.Cut(rawURL[:at], ":"); ok {
			raw = append(raw, pass)
		}
	}
	for _, m := range secretParam.FindAllStringSubmatch(rawURL, -1) {
		raw = append(raw, strings.Trim(m[2], `'"`))
	}
	if strings.Contains(rawURL, "://") {
		// In a URL, a value runs to the next "&", blanks included.
		for _, m := range secretQueryParam.FindAllStringSubmatch(rawURL, -1) {
			raw = append(raw, m[1])
		}
	}
	var out []string
	for _, s := range raw {
		forms := []string{s}
		if u, err := url.QueryUnescape(s); err == nil && u != s {
			forms = append(forms, u)
		}
		if u, err := url.PathUnescape(s); err == nil && u != s {
			forms = append(forms, u)
		}
		for _, f := range forms {
			out = append(out, f)
			// Errors quote with %q: control bytes and invalid UTF-8
			// show as escapes.
			if q := strconv.Quote(f); q[1:len(q)-1] != f {
				out = append(out, q[1:len(q)-1])
			}
		}
	}
	return out
}
