package websocket

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/sqlitestore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Issue 21: an open WebSocket ends within one re-check interval after its
// session is revoked (here by force-logout of the user), on SQLite; a
// visitor without a session cannot open one.
func TestRevokedSessionClosesWebSocket(t *testing.T) {
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := session.New(st, session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	const interval = 100 * time.Millisecond
	srv := httptest.NewTLSServer(m.Handler(Handler(m, interval, slog.New(slog.DiscardHandler))))
	defer srv.Close()
	url := "wss" + srv.URL[len("https"):]
	dial := func(c *http.Cookie) (*websocket.Conn, *http.Response, error) {
		h := http.Header{}
		if c != nil {
			h.Set("Cookie", c.Name+"="+c.Value)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: srv.Client(), HTTPHeader: h})
	}
	if conn, res, err := dial(nil); err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
		if conn != nil {
			conn.CloseNow()
		}
		t.Fatalf("a WebSocket without a session: %v", err)
	}
	for round := range 5 {
		cookie := sessiontest.LoginCookie(t, m, "alice", nil)
		conn, _, err := dial(cookie)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := conn.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
			t.Fatal(err)
		}
		if _, msg, err := conn.Read(ctx); err != nil || string(msg) != "ping" {
			t.Fatalf("echo: %q %v", msg, err)
		}
		// Live across several re-checks.
		time.Sleep(3 * interval)
		if err := conn.Write(ctx, websocket.MessageText, []byte("still here")); err != nil {
			t.Fatalf("round %d: the connection of a live session closed: %v", round, err)
		}
		if _, _, err := conn.Read(ctx); err != nil {
			t.Fatalf("round %d: the connection of a live session closed: %v", round, err)
		}
		revoked := time.Now()
		if _, err := m.RevokeUser(context.Background(), "alice"); err != nil {
			t.Fatal(err)
		}
		_, _, err = conn.Read(ctx)
		took := time.Since(revoked)
		cancel()
		if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
			t.Fatalf("round %d: after the revocation the read ended with %v, want a close with 1008", round, err)
		}
		// One interval, plus the time a re-check and the close take on a
		// loaded 2-core machine.
		if took > interval+time.Second {
			t.Fatalf("round %d: closed %v after the revocation; the re-check interval is %v", round, took, interval)
		}
		t.Logf("round %d: closed %v after the revocation", round, took)
		conn.CloseNow()
	}
}
