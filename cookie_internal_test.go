package session

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// FuzzNamedCookies: the middleware's allocation-free cookie scan finds
// exactly the values net/http's Request.CookiesNamed finds, in the same
// order, for any Cookie header lines.
func FuzzNamedCookies(f *testing.F) {
	for _, seed := range [][2]string{
		{"sid=abc", ""},
		{"a=b; sid=abc; c=d", "sid=def"},
		{` sid = "abc" ;sid="x`, "\tsid=\x7f;sid=a b"},
		{"sid", "=sid; sid=; ;;"},
		{"sid=\"\"; sid=\"", "SID=abc; sid\t=abc\r\n"},
		{strings.Repeat("x=y; ", 3000) + "sid=abc", ""},
		{"sid=a\\b; sid=a;b; sid=ñ", "\u2000sid=abc"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		h := http.Header{"Cookie": {line1, line2}}
		var want []string
		for _, c := range (&http.Request{Header: h}).CookiesNamed("sid") {
			want = append(want, c.Value)
		}
		got := slices.Collect(namedCookies(h, "sid"))
		if !slices.Equal(got, want) {
			t.Fatalf("namedCookies(%q, %q) = %q, net/http finds %q", line1, line2, got, want)
		}
	})
}

func TestNamedCookiesDoesNotAllocate(t *testing.T) {
	h := http.Header{"Cookie": {"theme=dark; __Host-sid=" + strings.Repeat("A", TokenLength) + "; lang=en"}}
	n := testing.AllocsPerRun(100, func() {
		for v := range namedCookies(h, DefaultCookieName) {
			if len(v) != TokenLength {
				t.Fatalf("value %q", v)
			}
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per scan", n)
	}
}
