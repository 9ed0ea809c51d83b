package session

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
)

// Handler returns middleware that attaches a session to every request and
// saves it just before the first byte of the response header is written:
// on WriteHeader, Write, Flush, ReadFrom, Hijack or when next returns,
// whichever comes first. The response body is never buffered, so streaming,
// http.Flusher, http.Hijacker and http.ResponseController keep working.
//
// The session is loaded only when the handler first uses it: a handler that
// never touches it costs no store call and sets no cookie.
//
// When the session cannot be saved, or cannot be loaded and the handler
// was not given that error (a failed Login, Renew, Destroy or revocation
// counts as not handled), the request is answered by the error handler
// (see WithErrorHandler) and the handler's own response is discarded. A
// load error the handler was given is its own to answer: its response is
// sent and nothing is saved (see Get). Changes are not saved when the
// handler answers with a 5xx status or panics before writing the header
// (Django's rule).
//
// Handler has the signature of chi's and gorilla/mux's middleware.
func (m *Manager) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Under another manager's middleware (rare): pass through when it
		// is this manager's, refuse when it shares this manager's cookie.
		// Without one, a single context lookup.
		if outer := FromContext(r.Context()); outer != nil {
			if outer.m == m || m.FromContext(r.Context()) != nil {
				next.ServeHTTP(w, r)
				return
			}
			if _, clash := r.Context().Value(sameCookieKey{m}).(*Session); clash {
				// Two managers on one cookie would each take the other's
				// token for a dead one and delete it: a configuration error.
				m.errorHandler(w, r, fmt.Errorf("%w: two managers serve this request with the same cookie %q (path %q, domain %q); give each its own name (WithCookieName)",
					ErrConfig, m.cookieName, m.path, m.domain))
				return
			}
		}
		// The session and the writer live and die with the request: one
		// allocation for both.
		st := &requestState{s: Session{m: m, req: r, remoteAddr: r.RemoteAddr, closeCookie: m.expireOnClose}}
		s := &st.s
		switch {
		case m.client != nil:
			s.sealed = true
			m.readClientCookie(r, s)
		case m.headerToken:
			m.readHeaderToken(r, s)
		default:
			m.readToken(r, s)
			if m.anon != nil && s.tokenIssue == "malformed" {
				// Not a token: an anonymous session sealed in the
				// cookie (WithAnonymousInCookie), if it opens.
				s.tokenIssue = ""
				m.readClientCookie(r, s)
				s.sealed = s.hasToken
			}
		}
		st.ctx = requestContext{Context: r.Context(), s: s}
		s.ctx = &st.ctx
		r = r.WithContext(s.ctx)
		sw := &st.w
		*sw = responseWriter{ResponseWriter: w, s: s, r: r}
		next.ServeHTTP(sw, r)
		if !sw.wroteHeader {
			sw.commit(http.StatusOK)
		}
	})
}

// sameCookie reports whether m and o carry their tokens the same way: the
// same cookie (name, path and domain), or the same request header.
func (m *Manager) sameCookie(o *Manager) bool {
	if m.headerToken || o.headerToken { // the same header, then
		return m.headerToken && o.headerToken && m.tokenHeader == o.tokenHeader
	}
	return m.cookieName == o.cookieName && m.path == o.path && m.domain == o.domain
}

// requestState holds what the middleware allocates for one request.
type requestState struct {
	s   Session
	w   responseWriter
	ctx requestContext
}

// requestContext is the request's context with its session attached, as
// context.WithValue(parent, contextKey{s.m}, s) would make it, but living in
// requestState instead of an allocation of its own. Cancellation,
// deadlines and every other value come from the parent.
type requestContext struct {
	context.Context
	s *Session
}

// Value returns the session for a contextKey of any manager or of this
// session's, and asks the parent otherwise (an outer manager's session).
func (c *requestContext) Value(key any) any {
	switch k := key.(type) {
	case contextKey:
		if k.m == nil || k.m == c.s.m {
			return c.s
		}
	case sameCookieKey:
		if c.s.m != k.m && c.s.m.sameCookie(k.m) {
			return c.s
		}
	}
	return c.Context.Value(key)
}

// sameCookieKey asks a request's context for the session of any manager
// around the request, however deeply nested, that uses manager m's cookie.
type sameCookieKey struct{ m *Manager }

// responseWriter commits the session before the header goes out.
type responseWriter struct {
	http.ResponseWriter
	s           *Session
	r           *http.Request
	wroteHeader bool
	failed      bool
}

// commit saves the session; on failure it lets the error handler answer and
// reports false.
func (w *responseWriter) commit(status int) bool {
	w.wroteHeader = true
	err := w.s.m.commit(w.s, w.ResponseWriter.Header(), status)
	if err == nil {
		return true
	}
	w.failed = true
	h := w.ResponseWriter.Header()
	// Drop what the handler prepared for its own response.
	for k := range h {
		delete(h, k)
	}
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Cookie")
	w.s.m.errorHandler(w.ResponseWriter, w.r, err)
	return false
}

// WriteHeader commits the session, then writes the header. Informational
// (1xx) headers pass through without committing.
func (w *responseWriter) WriteHeader(code int) {
	if w.failed {
		return
	}
	if code >= 100 && code < 200 {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	if !w.wroteHeader && !w.commit(code) {
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

// bodyReady commits the session with a 200 if the header was not written
// yet, as the first byte of a body implies, and reports ErrCommitFailed when
// the commit failed and the error handler answered instead.
func (w *responseWriter) bodyReady() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.failed {
		return ErrCommitFailed
	}
	return nil
}

// Write commits the session if the header was not written yet.
func (w *responseWriter) Write(b []byte) (int, error) {
	if err := w.bodyReady(); err != nil {
		return 0, err
	}
	return w.ResponseWriter.Write(b)
}

// WriteString is Write for strings: it commits the session if the header
// was not written yet, then passes s on without copying it into a byte
// slice when the underlying writer can take a string (net/http's can).
func (w *responseWriter) WriteString(s string) (int, error) {
	if err := w.bodyReady(); err != nil {
		return 0, err
	}
	return io.WriteString(w.ResponseWriter, s)
}

// ReadFrom keeps io.Copy's sendfile path available to handlers.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	if err := w.bodyReady(); err != nil {
		return 0, err
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{w.ResponseWriter}, src)
}

type writerOnly struct{ io.Writer }

// Flush commits the session, then flushes.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush for http.ResponseController: it reports failures.
func (w *responseWriter) FlushError() error {
	if err := w.bodyReady(); err != nil {
		return err
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack saves the session, then hands the connection to the caller.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.wroteHeader && !w.commit(http.StatusSwitchingProtocols) {
		return nil, nil, ErrCommitFailed
	}
	if w.failed {
		return nil, nil, ErrCommitFailed
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns the underlying ResponseWriter for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var _ interface {
	http.Flusher
	http.Hijacker
	io.ReaderFrom
	io.StringWriter
} = (*responseWriter)(nil)
