package termtext

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPrintable(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want string
	}{
		{"Firefox/140", 40, "Firefox/140"},
		{"evil\x1b[2J\x9b31m", 0, `evil\x1b[2J\x9b31m`},
		{"c1 \u0085 next line", 0, `c1 \x85 next line`},
		{"bidi \u202egnp.exe", 0, `bidi \u202egnp.exe`},
		{"bad \xff\xfe utf8", 0, `bad \xff\xfe utf8`},
		{`back\slash`, 0, `back\\slash`},
		{"ünïcödé agent with many characters", 10, "ünïcödé ag..."},
		{"日本語のユーザーエージェント", 5, "日本語のユ..."},
	}
	for _, c := range cases {
		if got := Printable(c.in, c.max); got != c.want {
			t.Errorf("Printable(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

// Whatever the input, the output is valid UTF-8 without control or bidi
// characters.
func FuzzPrintable(f *testing.F) {
	f.Add("Mozilla/5.0 \x1b]0;title\x07", 40)
	f.Add("\u202e\xc2\x85\xff", 3)
	f.Fuzz(func(t *testing.T, s string, max int) {
		out := Printable(s, max%100)
		if !utf8.ValidString(out) {
			t.Fatalf("Printable(%q) = %q: invalid UTF-8", s, out)
		}
		for _, r := range out {
			if r < 0x20 || (r >= 0x7f && r < 0xa0) || strings.ContainsRune("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c", r) {
				t.Fatalf("Printable(%q) = %q holds %U", s, out, r)
			}
		}
		// The JSON form: the same string once decoded, nothing raw.
		raw, err := json.Marshal(map[string]string{"user_agent": s})
		if err != nil {
			t.Fatal(err)
		}
		escaped := EscapeJSONControls(raw)
		var before, after map[string]string
		if err := json.Unmarshal(raw, &before); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(escaped, &after); err != nil || after["user_agent"] != before["user_agent"] {
			t.Fatalf("EscapeJSONControls(%s) = %s: %v, %q", raw, escaped, err, after)
		}
		for _, r := range string(escaped) {
			if r < 0x20 || (r >= 0x7f && r < 0xa0) || strings.ContainsRune("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c", r) {
				t.Fatalf("EscapeJSONControls(%s) = %s holds %U", raw, escaped, r)
			}
		}
	})
}
