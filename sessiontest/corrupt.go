package sessiontest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionkit/session"
)

// CheckCorruptRecords checks what happens to a record st cannot decode.
// For each name in kinds, in order, a fresh session is written through a
// manager on st, then corrupt damages its stored record by raw access to
// the store's backend (the kind says how: a value for the data column, a
// field to overwrite). Then:
//
//   - st.Load of the session fails with an error wrapping
//     session.ErrCorrupt;
//   - a request presenting the session's cookie is answered 200 as an
//     anonymous session (never a 5xx or a panic);
//   - the record is gone afterwards (Load reports session.ErrNotFound);
//   - the manager logged a security event with reason=corrupt.
func CheckCorruptRecords(t *testing.T, st session.Store, corrupt func(d session.Digest, kind string) error, kinds ...string) {
	t.Helper()
	if len(kinds) == 0 {
		t.Fatal("CheckCorruptRecords: no kinds of corruption given")
	}
	var logs LogBuffer
	m, err := session.New(st, session.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if r.URL.Path == "/set" {
			if err := s.Set("a", "1"); err != nil {
				writeError(w, err)
			}
			return
		}
		_, ok, err := session.Get[string](s, "a")
		fmt.Fprint(w, ok, err)
	}))
	ctx := context.Background()
	for _, kind := range kinds {
		cookie := NewSessionAt(t, h, "/set")
		d, ok := session.DigestOf(cookie.Value)
		if !ok {
			t.Fatalf("%s: the session cookie is not a token", kind)
		}
		if err := corrupt(d, kind); err != nil {
			t.Fatalf("%s: corrupting the record: %v", kind, err)
		}
		if _, err := st.Load(ctx, d); !errors.Is(err, session.ErrCorrupt) {
			t.Fatalf("%s: Load of the corrupt record = %v, want an error wrapping ErrCorrupt", kind, err)
		}
		before := strings.Count(logs.String(), "reason=corrupt")
		r := httptest.NewRequest("GET", "/get", nil)
		r.AddCookie(cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		body, _ := io.ReadAll(w.Body)
		if w.Code != http.StatusOK || string(body) != "false <nil>" {
			t.Fatalf("%s: request with the corrupt session: %d %q, want 200 and an anonymous session", kind, w.Code, body)
		}
		if _, err := st.Load(ctx, d); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("%s: Load after the request = %v, want ErrNotFound (the corrupt record deleted)", kind, err)
		}
		if after := strings.Count(logs.String(), "reason=corrupt"); after != before+1 {
			t.Fatalf("%s: %d security events with reason=corrupt logged, want 1; log:\n%s", kind, after-before, logs.String())
		}
	}
}

// NewSessionAt sends GET path to h, which must start a session there, and
// returns the session cookie it set.
func NewSessionAt(tb testing.TB, h http.Handler, path string) *http.Cookie {
	tb.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	for _, c := range w.Result().Cookies() {
		return c
	}
	tb.Fatalf("%s set no cookie (status %d)", path, w.Code)
	return nil
}
