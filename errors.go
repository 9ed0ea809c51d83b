package session

import (
	"errors"
	"fmt"
)

// Usage errors returned by Session and Manager methods.
var (
	// ErrNoSession reports that the context carries no session: the handler
	// is not wrapped by Manager.Handler, or by another manager's.
	ErrNoSession = errors.New("session: no session in context (is the handler wrapped by Manager.Handler?)")
	// ErrCommitted reports a change attempted after the response header was
	// sent. The session was already saved; the change is not.
	ErrCommitted = errors.New("session: response header already written; the change cannot be saved")
	// ErrTooLarge reports a session whose encoded keys and values would
	// exceed the configured maximum size.
	ErrTooLarge = errors.New("session: session too large")
	// ErrInvalidKey reports an empty key or one that is not valid UTF-8.
	ErrInvalidKey = errors.New("session: key must be non-empty valid UTF-8")
	// ErrInvalidUserID reports an empty or over-long user id given to Login.
	ErrInvalidUserID = errors.New("session: user id must be 1 to 255 bytes of valid UTF-8")
	// ErrCommitFailed is returned by the response writer's Write after the
	// session could not be saved and the error handler answered instead.
	ErrCommitFailed = errors.New("session: the session could not be saved; the response was replaced by the error handler")
)

// StoreError reports a failed store call. The manager never treats it as "no
// session": the request is answered by the error handler and nothing is
// overwritten.
type StoreError struct {
	// Op is the store operation: load, create, update, touch, renew, delete.
	Op  string
	Err error
}

// Error describes the failed operation and the store's error.
func (e *StoreError) Error() string { return fmt.Sprintf("session: store %s: %v", e.Op, e.Err) }

// Unwrap returns the store's error.
func (e *StoreError) Unwrap() error { return e.Err }
