// Package echo attaches the sessions of a session.Manager to echo (v5):
// Middleware for an instance or a group, and Session to reach the
// request's session from an *echo.Context. The session is saved just
// before the response header is written, as with the net/http middleware.
// An error a handler returns is answered by echo's HTTPErrorHandler inside
// the middleware, so a 5xx answer saves nothing (echo.WrapMiddleware would
// answer it after the session was saved).
package echo

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/sessionkit/session"
)

// Middleware returns echo middleware serving m's sessions to the handlers
// after it (e.Use(Middleware(m)), or g := e.Group("/app", Middleware(m))).
func Middleware(m *session.Manager) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c.SetRequest(r)
				c.SetResponse(echo.NewResponse(w, c.Echo().Logger))
				if err := next(c); err != nil {
					c.Echo().HTTPErrorHandler(c, err)
				}
			})).ServeHTTP(c.Response(), c.Request())
			return nil
		}
	}
}

// Session returns the request's session (of the innermost manager; use
// m.FromContext(c.Request().Context()) to choose among several), or nil
// outside Middleware.
func Session(c *echo.Context) *session.Session {
	return session.FromContext(c.Request().Context())
}
