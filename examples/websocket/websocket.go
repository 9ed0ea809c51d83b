// Package websocket shows a WebSocket connection that lives only as long as
// its session: the handshake goes through the session middleware (a
// logged-in session is required), and the open connection re-checks its
// session every interval with Manager.Lookup, closing with status 1008
// (policy violation) within one interval after the session is logged out,
// revoked or expired. A renewal of the session (Renew, or a login in
// another tab) replaces the token the connection was opened with, so it
// ends the connection too: the client reconnects with its new cookie, as
// after any privilege change. Re-checks only read: the connection's
// activity does not move the session's idle deadline. The connection
// echoes what it receives, as a stand-in for an application's messages.
//
// It uses github.com/coder/websocket, and runs on any store of this
// repository (the tests use SQLite and Redis). ExampleHandler shows the
// whole path: a login, the WebSocket opened with its cookie, and the close
// after RevokeUser.
package websocket

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/sessionkit/session"
)

// Handler returns the WebSocket endpoint, to be served behind m.Handler.
// The session is re-checked every interval; a store failure during a
// re-check is logged and checked again at the next interval (the session
// is not taken as ended, nor as valid beyond that).
func Handler(m *session.Manager, interval time.Duration, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, err := m.FromContext(r.Context()).UserID()
		switch {
		case err != nil:
			http.Error(w, "sessions are unavailable, try again", http.StatusServiceUnavailable)
			return
		case user == "":
			http.Error(w, "log in first", http.StatusUnauthorized)
			return
		}
		// The token the re-checks look up: the request's own cookie
		// (the middleware has just checked it).
		c, err := r.Cookie(m.CookieName())
		if err != nil {
			http.Error(w, "log in first", http.StatusUnauthorized)
			return
		}
		token := c.Value
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return // Accept has answered the request
		}
		defer conn.CloseNow()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go watch(ctx, cancel, m, token, interval, conn, logger)
		for {
			typ, msg, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if err := conn.Write(ctx, typ, msg); err != nil {
				return
			}
		}
	})
}

// watch closes conn once its session no longer exists.
func watch(ctx context.Context, cancel context.CancelFunc, m *session.Manager, token string, interval time.Duration, conn *websocket.Conn, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := m.Lookup(ctx, token)
		switch {
		case err == nil:
			continue
		case errors.Is(err, session.ErrInvalidToken):
			conn.Close(websocket.StatusPolicyViolation, "session ended")
			cancel()
			return
		case ctx.Err() != nil:
			return
		default:
			logger.WarnContext(ctx, "websocket: cannot re-check the session; trying again at the next interval", "error", err)
		}
	}
}
