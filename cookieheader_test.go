package session_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionkit/session"
)

// R05/R13/R39 and required behaviour 2: no Cookie header makes the
// middleware answer 5xx or panic, and only a well-formed, issued token is
// used.
func TestHostileCookieHeaders(t *testing.T) {
	e := newEnv(t)
	tok := mustToken(t, e.do("/login?u=alice", ""))
	// net/http parses at most 3000 cookies per request (GODEBUG
	// httpcookiemaxnum, the CVE-2025-58186 fix): beyond that none is
	// read, and the request is anonymous.
	many := make([]string, 2990)
	tooMany := make([]string, 5000)
	for i := range tooMany {
		tooMany[i] = "c" + itoa(i) + "=v"
	}
	for i := range many {
		many[i] = "c" + itoa(i) + "=v"
	}
	cases := []struct {
		name    string
		headers []string
		want    string // body of /whoami
	}{
		{"10 KB value", []string{"__Host-sid=" + strings.Repeat("A", 10<<10)}, ""},
		{"10 KB of cookies then the real one", []string{strings.Repeat("x=y; ", 2000) + "__Host-sid=" + tok}, "alice"},
		{"non-ASCII value", []string{"__Host-sid=ñandú-🙂-" + tok[:10]}, ""},
		{"non-ASCII name", []string{"__Host-sïd=" + tok}, ""},
		{"unicode space before name", []string{"\u2000__Host-sid=" + tok}, ""},
		{"thousands of cookies", []string{strings.Join(many, "; ") + "; __Host-sid=" + tok}, "alice"},
		{"more cookies than net/http parses", []string{strings.Join(tooMany, "; ") + "; __Host-sid=" + tok}, ""},
		{"duplicate identical", []string{"__Host-sid=" + tok + "; __Host-sid=" + tok}, "alice"},
		{"duplicate with a planted token", []string{"__Host-sid=" + randomToken() + "; __Host-sid=" + tok}, ""},
		{"duplicate with garbage", []string{"__Host-sid=garbage; __Host-sid=" + tok}, "alice"},
		{"split across header lines", []string{"a=b", "__Host-sid=" + tok}, "alice"},
		{"quoted value", []string{`__Host-sid="` + tok + `"`}, "alice"},
		{"empty value", []string{"__Host-sid="}, ""},
		{"case-different name", []string{"__host-sid=" + tok}, ""},
		{"control characters", []string{"__Host-sid=\x01\x02\x7f" + tok}, ""},
		{"only separators", []string{";;;;===;;"}, ""},
		{"NUL bytes", []string{"__Host-sid=\x00" + tok[1:]}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.store.reset()
			r := httptest.NewRequest("GET", "/whoami", nil)
			for _, h := range tc.headers {
				r.Header.Add("Cookie", h)
			}
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			if w.Code >= 500 {
				t.Fatalf("status %d", w.Code)
			}
			if body(w) != tc.want {
				t.Fatalf("whoami = %q, want %q", body(w), tc.want)
			}
			if tc.want == "" && e.store.inner.Len() != 1 {
				t.Fatal("a record was created")
			}
		})
	}
	// The token is only taken from the cookie, never from the URL or a form.
	r := httptest.NewRequest("POST", "/whoami?sid="+tok+"&__Host-sid="+tok, strings.NewReader("__Host-sid="+tok))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if body(w) != "" {
		t.Fatal("token accepted from the URL or body")
	}
}

func FuzzCookieHeader(f *testing.F) {
	e := newEnv(f)
	for _, seed := range []string{
		"", "__Host-sid=" + randomToken(), "__Host-sid=" + strings.Repeat("A", 43),
		"__Host-sid=" + strings.Repeat("é", 30), "__Host-sid=a; __Host-sid=b",
		strings.Repeat("a=b;", 100), "__Host-sid=\"" + randomToken() + "\"", "\x00\xff;=",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("GET", "/set?k=a&v=1", nil)
		r.Header.Set("Cookie", header)
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("status %d for Cookie %q", w.Code, header)
		}
		c := sessionCookie(w)
		if c == nil {
			t.Fatalf("no session created for Cookie %q", header)
		}
		// A new session never adopts a client-supplied value.
		if strings.Contains(header, c.Value) {
			t.Fatalf("client token adopted from %q", header)
		}
		if _, ok := session.DigestOf(c.Value); !ok {
			t.Fatal("issued an invalid token")
		}
	})
}
