// Package echo attaches the sessions of a session.Manager to echo (v5):
// Middleware for an instance or a group, and Session to reach the
// request's session from an *echo.Context. The session is saved just
// before the response header is written, as with the net/http middleware.
//
// An error a handler returns goes up the middleware chain as echo users
// expect: outer middleware sees it, and echo's HTTPErrorHandler answers
// it. The session is committed before the error leaves Middleware, under
// the status echo gives the error (echo.ResolveResponseStatus: its
// StatusCode, else 500), so an error answered 5xx saves nothing and one
// answered 4xx saves the session and sends its cookie with the error's
// response. An outer middleware that turns the error into another status
// does not change that decision. (echo.WrapMiddleware would save the
// session as a 200 before the error is answered.)
package echo

import (
	"bufio"
	"net"
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/sessionkit/session"
)

// Middleware returns echo middleware serving m's sessions to the handlers
// after it (e.Use(Middleware(m)), or g := e.Group("/app", Middleware(m))).
func Middleware(m *session.Manager) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			outer := c.Response()
			hw := &holdWriter{ResponseWriter: outer}
			var herr error
			m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c.SetRequest(r)
				res := echo.NewResponse(w, c.Echo().Logger)
				c.SetResponse(res)
				herr = next(c)
				if herr == nil || res.Committed {
					return
				}
				// Commit for the status echo will answer the error with;
				// holdWriter keeps that header for echo's error handler.
				_, status := echo.ResolveResponseStatus(res, herr)
				hw.hold = status
				w.WriteHeader(status)
			})).ServeHTTP(hw, c.Request())
			c.SetResponse(outer)
			if hw.held != 0 && hw.held != hw.hold {
				// The manager's error handler answered with a status
				// only: send it.
				hw.ResponseWriter.WriteHeader(hw.held)
			}
			return herr
		}
	}
}

// Session returns the request's session (of the innermost manager; use
// m.FromContext(c.Request().Context()) to choose among several), or nil
// outside Middleware.
func Session(c *echo.Context) *session.Session {
	return session.FromContext(c.Request().Context())
}

// holdWriter is the writer under the manager's middleware. While the
// session is committed for a handler's error (hold is that error's
// status), the header is kept back, not sent: echo's error handler writes
// it with its own body after the error has gone up the chain. Should the
// commit fail instead, the manager's error handler answers through it: its
// header goes out with its first body byte, or after the middleware, with
// a status other than hold's.
type holdWriter struct {
	http.ResponseWriter
	hold int // the status the session is committed for, after a handler's error
	held int // a status kept back, not sent yet
}

// WriteHeader sends the header, or keeps it back while committing for an
// error.
func (w *holdWriter) WriteHeader(code int) {
	if w.hold != 0 && w.held == 0 {
		w.held = code
		return
	}
	w.flushHeld()
	w.ResponseWriter.WriteHeader(code)
}

// flushHeld sends a status kept back, if any.
func (w *holdWriter) flushHeld() {
	if w.held != 0 {
		code := w.held
		w.held, w.hold = 0, 0 // sent: nothing more is kept back
		w.ResponseWriter.WriteHeader(code)
	}
}

// Write sends a status kept back, then writes.
func (w *holdWriter) Write(b []byte) (int, error) {
	w.flushHeld()
	return w.ResponseWriter.Write(b)
}

// Flush sends a status kept back, then flushes.
func (w *holdWriter) Flush() {
	w.flushHeld()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands the connection to the caller.
func (w *holdWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns echo's response, for http.ResponseController and
// echo.UnwrapResponse.
func (w *holdWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
