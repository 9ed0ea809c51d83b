package session

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestValidJSONMatchesEncodingJSON(t *testing.T) {
	cases := []string{
		``, ` `, `0`, `-0`, `01`, `-`, `1.`, `1.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `.5`, `+1`, `-a`,
		`""`, `"\u00e9"`, `"\u00g9"`, `"\x"`, `"\/"`, "\"\x01\"", "\"\xff\"", `"abc`, `"\`,
		`true`, `tru`, `truex`, `false`, `null`, `nul`, `[]`, `[1,]`, `[,1]`, `[1 2]`, `[[[]]]`,
		`{}`, `{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1}}`, ` {"a" : [ 1 , {"b":null} ] } `,
		`{"a":1} x`, "\t\n\r[ ]\r\n",
	}
	for _, c := range cases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("validJSON(%q) = %v, encoding/json says %v", c, got, want)
		}
	}
}

// The nesting limit is encoding/json's: 10,000 levels pass, 10,001 fail.
func TestValidJSONDepthLimit(t *testing.T) {
	for _, n := range []int{maxJSONDepth, maxJSONDepth + 1} {
		for _, open := range []string{"[", `{"a":`} {
			closing := "]"
			if open != "[" {
				closing = "}"
			}
			b := []byte(strings.Repeat(open, n) + "1" + strings.Repeat(closing, n))
			if got, want := validJSON(b), json.Valid(b); got != want {
				t.Errorf("depth %d of %s: validJSON %v, encoding/json %v", n, open, got, want)
			}
		}
	}
}

// FuzzValidJSON: the single-pass validator accepts exactly what
// encoding/json accepts.
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":"\u00e9"}]}`, `-1.5e+3`, `"\"`, `[`, `nul`, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, encoding/json says %v", b, got, want)
		}
	})
}
