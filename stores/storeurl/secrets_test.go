package storeurl_test

import (
	"context"
	"iter"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session/stores/storeurl"
)

// TestErrorsHoldNoPieceOfThePassword opens store URLs that fail (a
// password with unescaped URL syntax in it, a bad port, a server that is
// not there) with the real parsers and drivers, and checks that no piece
// of the password of three bytes or more, nor any piece between URL
// delimiters of two bytes or more, is in the error: a parser that
// splits the URL at a "/" or ":" in the password quotes a fragment of it
// ("invalid port \":s3c\" after host"), which masking the userinfo up to
// the last "@" does not hide.
func TestErrorsHoldNoPieceOfThePassword(t *testing.T) {
	passwords := []string{"Zq7/Kw9", "Zq7:Kw9/Xv4", "Zq7?Kw9", "Zq7#Kw9", "Zq7@Kw9", "Zq7%Kw9", "123/Kw9", "Zq7/123@Kw9", "Zq7 Kw9", "Qz/Kw9Xv4", "Zq7&Kw9Xy", "Zq7&Kw9=Xv4"}
	templates := []string{
		"redis://:%s@127.0.0.1:6379/0",
		"redis://u:%s@127.0.0.1:notaport/0",
		"rediss://u:%s@127.0.0.1:1/0?dial_timeout=1s",
		"redis-sentinel://u:%s@127.0.0.1:1/mymaster?dial_timeout=1s",
		"redis-sentinel://127.0.0.1:1/mymaster?sentinel_password=%s&dial_timeout=1s",
		"redis-cluster://u:%s@127.0.0.1:1?dial_timeout=1s",
		"mysql://root:%s@127.0.0.1:1/test?timeout=1s",
		"mysql://root:%s@127.0.0.1:bad/test",
		"postgres://postgres:%s@127.0.0.1:1/test?connect_timeout=1",
		"postgres://postgres@127.0.0.1:1/test?connect_timeout=1&password=%s",
		"postgres://postgres:%s@127.0.0.1:notaport/test",
		"memcached://u:%s@127.0.0.1:1",
		// Issue 18: a password parameter typed with an unescaped "&".
		"redis://127.0.0.1:1/0?password=%s",
		"redis-sentinel://127.0.0.1:1/mymaster?dial_timeout=1s&sentinel_password=%s",
		"postgres://postgres@127.0.0.1:1/test?password=%s&connect_timeout=1",
	}
	for _, tpl := range templates {
		t.Run(strings.SplitN(tpl, ":", 2)[0], func(t *testing.T) {
			t.Parallel()
			checkPieces(t, tpl, passwords)
		})
	}
}

// checkPieces opens tpl with each password in it, as written and
// query-escaped.
func checkPieces(t *testing.T, tpl string, passwords []string) {
	for _, pw := range passwords {
		for _, form := range []string{pw, url.QueryEscape(pw)} {
			raw := strings.Replace(tpl, "%s", form, 1)
			// Sentinel clients retry until the deadline: the error
			// is then the context's, wrapped by each layer.
			ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
			st, err := storeurl.Open(ctx, raw)
			cancel()
			if err == nil {
				st.Close()
				continue // the password's syntax made another valid URL: nothing printed
			}
			// Every error a caller can reach (errors.Unwrap,
			// errors.As) is checked, not only the outer text.
			for e := range chain(err) {
				for _, piece := range pieces(pw) {
					if strings.Contains(e.Error(), piece) {
						t.Errorf("Open(%q): the error %T in the chain holds %q, a piece of the password:\n%v", raw, e, piece, e)
						break
					}
				}
			}
		}
	}
}

// chain yields err and every error it wraps, depth first (Unwrap() error
// and Unwrap() []error), as errors.Is and errors.As walk them.
func chain(err error) iter.Seq[error] {
	return func(yield func(error) bool) {
		var walk func(error) bool
		walk = func(e error) bool {
			if e == nil {
				return true
			}
			if !yield(e) {
				return false
			}
			switch u := e.(type) {
			case interface{ Unwrap() error }:
				return walk(u.Unwrap())
			case interface{ Unwrap() []error }:
				for _, inner := range u.Unwrap() {
					if !walk(inner) {
						return false
					}
				}
			}
			return true
		}
		walk(err)
	}
}

// pieces returns every substring of three bytes of s, and its pieces
// between URL delimiters of two bytes or more (a parser quotes those).
func pieces(s string) []string {
	var out []string
	for i := 0; i+3 <= len(s); i++ {
		out = append(out, s[i:i+3])
	}
	for _, seg := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune("/:?#@ %", r) }) {
		if len(seg) >= 2 {
			out = append(out, seg)
		}
	}
	return out
}
