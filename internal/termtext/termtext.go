// Package termtext makes text that came from clients (user agents,
// addresses, user ids) safe to print to an administrator's terminal, as
// plain text or inside JSON: nothing in its output is a control character,
// a bidirectional override or invalid UTF-8. sessionctl prints through it.
package termtext

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable makes text that came from clients (user agents, addresses,
// user ids) safe to print to an administrator's terminal: control
// characters (C0, DEL and C1, which terminals act on), bidirectional
// overrides (which reorder what is shown) and invalid UTF-8 are written as
// escapes (\x1b, \u202e), and text longer than max runes is cut at a
// character boundary and ends with "..." (max <= 0: no limit).
func Printable(s string, max int) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		if max > 0 && n == max {
			return b.String() + "..."
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			if r < 0x100 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		case r == '\\':
			b.WriteString(`\\`)
		default:
			b.WriteRune(r)
		}
		i += size
		n++
	}
	return b.String()
}

// EscapeJSONControls rewrites, in JSON that encoding/json produced, every
// control character and bidirectional override it left raw (C1 controls
// such as U+009B, which terminals act on, DEL and U+202E) as a \uXXXX escape:
// the JSON decodes to the same strings and prints nothing a terminal
// acts on. Outside strings JSON holds only ASCII, which is kept as it is.
func EscapeJSONControls(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r >= 0x7f && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}
