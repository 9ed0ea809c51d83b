package sessiontest

import (
	"context"
	"errors"
	"net/http"

	"github.com/sessionkit/session"
)

// writeError answers a request whose session call failed as an
// application should: 503 for a store error (or a deadline), 500
// otherwise. An error a handler was given is the handler's to answer; the
// middleware only fails requests for errors the handler never saw.
func writeError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	var se *session.StoreError
	if errors.As(err, &se) || errors.Is(err, context.DeadlineExceeded) {
		code = http.StatusServiceUnavailable
	}
	http.Error(w, err.Error(), code)
}
