package session_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

// digitTokens is a test scheme: 32 decimal digits, stored as they are.
type digitTokens struct{}

func (digitTokens) NewToken(r io.Reader) (string, session.Digest, error) {
	var d session.Digest
	if _, err := io.ReadFull(r, d[:]); err != nil {
		return "", d, err
	}
	for i := range d {
		d[i] = '0' + d[i]%10
	}
	return string(d[:]), d, nil
}

func (digitTokens) Key(token string) (session.Digest, bool) {
	var d session.Digest
	if len(token) != len(d) || strings.Trim(token, "0123456789") != "" {
		return d, false
	}
	copy(d[:], token)
	return d, true
}

// A manager with another token scheme issues, accepts and renews tokens of
// that scheme only, keys its store with the scheme's keys, and gives no
// handles; the default tokens are refused before any store is consulted.
func TestCustomTokenScheme(t *testing.T) {
	st := memstore.New()
	defer st.Stop()
	m, err := session.New(st, session.WithTokenScheme(digitTokens{}), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		switch r.URL.Path {
		case "/login":
			if err := m.Login(r.Context(), "u1"); err != nil {
				t.Error(err)
			}
			s.Set("k", "v")
		case "/read":
			v, _, _ := session.Get[string](s, "k")
			uid, _ := s.UserID()
			io.WriteString(w, uid+":"+v)
			if _, err := s.Handle(); !errors.Is(err, session.ErrUnsupported) {
				t.Errorf("Handle under a custom scheme: %v", err)
			}
		}
	}))
	do := func(path, token string) *http.Response {
		req := httptest.NewRequest("GET", "https://example.test"+path, nil)
		if token != "" {
			req.AddCookie(&http.Cookie{Name: m.CookieName(), Value: token})
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}
	cookie := func(res *http.Response) string {
		for _, c := range res.Cookies() {
			if c.Name == m.CookieName() {
				return c.Value
			}
		}
		return ""
	}
	token := cookie(do("/login", ""))
	d, ok := digitTokens{}.Key(token)
	if !ok {
		t.Fatalf("issued token %q is not of the scheme", token)
	}
	if rec, err := st.Load(context.Background(), d); err != nil || rec.UserID != "u1" {
		t.Fatalf("store key is not the scheme's: %v, %v", rec, err)
	}
	body, _ := io.ReadAll(do("/read", token).Body)
	if string(body) != "u1:v" {
		t.Fatalf("read %q", body)
	}
	// The default scheme's token is malformed here.
	s, err := m.Lookup(context.Background(), strings.Repeat("A", session.TokenLength))
	if !errors.Is(err, session.ErrInvalidToken) || s != nil {
		t.Fatalf("a default token under the digit scheme: %v", err)
	}
	if _, err := m.UserSessions(context.Background(), "u1"); !errors.Is(err, session.ErrUnsupported) {
		t.Fatalf("UserSessions under a custom scheme: %v", err)
	}
	// A login renews within the scheme.
	renewed := cookie(do("/login", token))
	if _, ok := (digitTokens{}).Key(renewed); !ok || renewed == token {
		t.Fatalf("renewed token %q", renewed)
	}
}
