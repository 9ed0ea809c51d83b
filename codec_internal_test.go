package session

import (
	"encoding/json"
	"strings"
	"testing"
)

// appendJSONString writes what encoding/json reads back as the same string
// (with each run of invalid UTF-8 replaced by one U+FFFD).
func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "ctl\x00\x01\x1f\x7f", "tab\tnl\n", "ключ🙂", "bad\xffutf8\xc3", "\u2028<&>"} {
		b := appendJSONString([]byte("prefix"), s)
		if !strings.HasPrefix(string(b), "prefix") {
			t.Fatalf("%q: prefix lost: %q", s, b)
		}
		var back string
		if err := json.Unmarshal(b[len("prefix"):], &back); err != nil {
			t.Fatalf("%q encodes as %s, which is not a JSON string: %v", s, b, err)
		}
		if want := strings.ToValidUTF8(s, "\uFFFD"); back != want {
			t.Fatalf("%q round-trips as %q, want %q", s, back, want)
		}
	}
}
