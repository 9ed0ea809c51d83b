package cookiestore_test

import (
	"log/slog"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
)

// run measures one of sessiontest.Handler's request shapes on the standard
// three-value session, sealed in the cookie.
func run(b *testing.B, path string) {
	m, err := session.NewClientSide(mustNew(b, [][]byte{key1}), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	h := sessiontest.Handler(m)
	sessiontest.BenchRequests(b, h, path, sessiontest.NewSession(b, h))
}

func BenchmarkReadOnlyRequest(b *testing.B) { run(b, "/read") }
func BenchmarkWriteRequest(b *testing.B)    { run(b, "/write") }
