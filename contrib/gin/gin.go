// Package gin attaches the sessions of a session.Manager to gin: Middleware
// for an engine or a router group, and Session to reach the request's
// session from a *gin.Context. The session is saved just before gin writes
// the response header, as with the net/http middleware, so c.JSON,
// c.String, c.Status and c.AbortWithStatus all commit it first, and a
// handler answering 5xx saves nothing.
package gin

import (
	"bufio"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sessionkit/session"
)

// Middleware returns gin middleware serving m's sessions to the handlers
// after it (r.Use(Middleware(m)), or group.Use for one group).
func Middleware(m *session.Manager) gin.HandlerFunc {
	return func(c *gin.Context) {
		outer := c.Writer
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.Request = r
			c.Writer = &writer{ResponseWriter: outer, w: w}
			c.Next()
			if !outer.Written() {
				// Nothing written yet (c.Status alone, or no answer):
				// gin sends the status it holds once the handlers
				// return, so the session is saved for that one.
				w.WriteHeader(outer.Status())
			}
		})).ServeHTTP(outer, c.Request)
		c.Writer = outer
	}
}

// Session returns the request's session (of the innermost manager; use
// m.FromContext(c.Request.Context()) to choose among several), or nil
// outside Middleware.
func Session(c *gin.Context) *session.Session {
	return session.FromContext(c.Request.Context())
}

// writer routes gin's writes through the session middleware's writer,
// which saves the session before the header goes out; gin's bookkeeping
// (status, size, written) stays with gin's own writer.
type writer struct {
	gin.ResponseWriter
	w http.ResponseWriter
}

// WriteHeader records the status with gin, which sends it with the first
// write (a later c.String(500, ...) replaces it): the session is saved
// then, for the status that goes out.
func (g *writer) WriteHeader(code int) { g.ResponseWriter.WriteHeader(code) }

// WriteHeaderNow saves the session and sends the header.
func (g *writer) WriteHeaderNow() {
	if !g.ResponseWriter.Written() {
		g.w.WriteHeader(g.ResponseWriter.Status())
	}
	g.ResponseWriter.WriteHeaderNow()
}

// Write saves the session (with the status set so far), then writes.
func (g *writer) Write(b []byte) (int, error) {
	if !g.ResponseWriter.Written() {
		g.w.WriteHeader(g.ResponseWriter.Status())
	}
	return g.w.Write(b)
}

// WriteString is Write for strings.
func (g *writer) WriteString(s string) (int, error) { return g.Write([]byte(s)) }

// Hijack saves the session (as the net/http middleware does for a
// hijacked connection, whose response is the handler's: as for a 101),
// then hands the connection over, for a WebSocket upgrade; gin records
// the hijack too.
func (g *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := g.w.(http.Hijacker); ok {
		return h.Hijack() // the middleware's writer saves, then asks gin's
	}
	return g.ResponseWriter.Hijack()
}

// Flush saves the session and flushes.
func (g *writer) Flush() {
	if !g.ResponseWriter.Written() {
		g.w.WriteHeader(g.ResponseWriter.Status())
	}
	g.ResponseWriter.Flush()
}
