package session

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// EventKind names a lifecycle or security event.
type EventKind int

// The events a Manager reports to its observers.
const (
	// EventCreated: a new session was stored (first write of an anonymous
	// session, or a login without a prior session).
	EventCreated EventKind = iota + 1
	// EventRenewed: a session received a new token (Renew or Login).
	EventRenewed
	// EventDestroyed: a session was deleted by Destroy.
	EventDestroyed
	// EventExpired: a request presented a session past its idle or absolute
	// deadline; the record was deleted.
	EventExpired
	// EventRevoked: a session was deleted by a revocation (by user, by
	// handle), or a request found that its session had been deleted by
	// another request in the meantime.
	EventRevoked
	// EventInvalidToken: a request presented a malformed, unknown, duplicate
	// or corrupt session token. Count these per client to detect guessing.
	EventInvalidToken
	// EventStoreError: a store call failed; the request was answered by the
	// error handler.
	EventStoreError
	// EventStoreCall: a store call finished (Op, Duration, Err), for
	// latency metrics. It goes to observers only, never to the log.
	EventStoreCall
)

var eventNames = [...]string{
	EventCreated:      "created",
	EventRenewed:      "renewed",
	EventDestroyed:    "destroyed",
	EventExpired:      "expired",
	EventRevoked:      "revoked",
	EventInvalidToken: "invalid_token",
	EventStoreError:   "store_error",
	EventStoreCall:    "store_call",
}

// String returns the event's name in snake case, as used in logs and metrics.
func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event describes one lifecycle or security event. It never holds a token:
// sessions are identified by TokenHash, a keyed hash that cannot be replayed
// or looked up in a store.
type Event struct {
	Kind EventKind
	// TokenHash identifies the session concerned (for EventRenewed, the old
	// one); NewTokenHash identifies the replacement after a renewal.
	TokenHash    string
	NewTokenHash string
	// UserID is the session's user, when known.
	UserID string
	// Reason says why, for invalid tokens ("malformed", "unknown",
	// "duplicate", "corrupt") and revocations.
	Reason string
	// RemoteAddr is the request's remote address, when the event happened
	// during a request.
	RemoteAddr string
	// Op and Err describe a failed store call; for EventStoreCall, Duration
	// is how long it took.
	Op       string
	Err      error
	Duration time.Duration

	// The digests behind TokenHash and NewTokenHash, hashed by emit only
	// when the event is logged or observed, and cleared before observers
	// see the event.
	token, newToken tokenRef
	// repeats: the client will present the same dead token again (a
	// browser's background request, whose response does not delete it),
	// so the event is logged at debug level rather than once per request.
	// Only for a well-formed token the store does not know (revoked,
	// expired): Sec-Fetch-Mode is the client's to send, and a malformed or
	// tampered cookie stays at info level whatever it says.
	repeats bool
}

// tokenRef is a session's digest awaiting its keyed hash.
type tokenRef struct {
	d  Digest
	ok bool
}

func ref(d Digest) tokenRef { return tokenRef{d: d, ok: true} }

// Observer receives events. Observe is called synchronously on the request's
// goroutine and must be fast and safe for concurrent use.
type Observer interface {
	Observe(ctx context.Context, e Event)
}

// ObserverFunc adapts a function to the Observer interface.
type ObserverFunc func(ctx context.Context, e Event)

// Observe calls f(ctx, e).
func (f ObserverFunc) Observe(ctx context.Context, e Event) { f(ctx, e) }

// A PhaseObserver is an Observer that also wraps the two phases of a
// session: "load" (reading it from the store, when the handler first
// touches it, or in Manager.Lookup) and "commit" (writing it when the
// response starts, or in Manager.Save). StartPhase is called when a phase
// begins, with the context its store calls and events would get; it
// returns the context to give them instead (one carrying a tracing span,
// so that the store calls' spans are its children) and a function the
// manager calls once with the phase's outcome when it ends (also when a
// store call panics). A load is reported when there is a token to look up
// in the store (not for a request without one, nor for a session kept in
// the cookie, which is opened without a store call); a commit when the
// session may be written (values, a login, a refresh due, a session kept
// in the cookie), not for a read-only request with no refresh due nor for
// a request without a session. The store calls the handler's own calls
// make (Destroy, RevokeSession, the revocations) belong to no phase.
// contrib/otel's Observer is one.
type PhaseObserver interface {
	Observer
	StartPhase(ctx context.Context, phase string) (context.Context, func(err error))
}

// startPhase begins phase for the manager's PhaseObservers: the context
// for the phase's store calls and events, and the function that ends it.
// Without phase observers it returns ctx and nil, and costs nothing more.
func (m *Manager) startPhase(ctx context.Context, phase string) (context.Context, []func(error)) {
	if len(m.phasers) == 0 {
		return ctx, nil
	}
	ends := make([]func(error), 0, len(m.phasers))
	for _, p := range m.phasers {
		c, end := p.StartPhase(ctx, phase)
		if c != nil {
			ctx = c
		}
		ends = append(ends, end)
	}
	return ctx, ends
}

// endPhase ends what startPhase began, innermost first.
func endPhase(ends []func(error), err error) {
	for i := len(ends) - 1; i >= 0; i-- {
		if ends[i] != nil {
			ends[i](err)
		}
	}
}

// startTimer returns the start time of a store call for timed, or the
// zero time when there is no observer to report it to (reading the clock
// is a measurable part of a request on some virtual machines).
func (m *Manager) startTimer() time.Time {
	if len(m.observers) == 0 {
		return time.Time{}
	}
	return time.Now()
}

// timed reports a store call, timed from startTimer, to the observers (not
// to the log).
func (m *Manager) timed(ctx context.Context, op string, start time.Time, err error) {
	if len(m.observers) == 0 {
		return
	}
	e := Event{Kind: EventStoreCall, Op: op, Duration: time.Since(start), Err: err}
	for _, o := range m.observers {
		o.Observe(ctx, e)
	}
}

// emit logs e and hands it to the observers.
func (m *Manager) emit(ctx context.Context, e Event) {
	level := slog.LevelDebug
	switch e.Kind {
	case EventInvalidToken, EventExpired, EventRevoked:
		level = slog.LevelInfo
		if e.Reason == "corrupt" || e.Reason == "duplicate" {
			level = slog.LevelWarn
		} else if e.repeats {
			level = slog.LevelDebug
		}
	case EventStoreError:
		level = slog.LevelError
	}
	logged := m.logger.Enabled(ctx, level)
	if !logged && len(m.observers) == 0 {
		return // nobody will read it: skip the hashing
	}
	if e.token.ok {
		e.TokenHash = m.hash(e.token.d)
	}
	if e.newToken.ok {
		e.NewTokenHash = m.hash(e.newToken.d)
	}
	e.token, e.newToken = tokenRef{}, tokenRef{}
	if logged {
		attrs := make([]slog.Attr, 0, 7)
		attrs = append(attrs, slog.String("event", e.Kind.String()))
		if e.TokenHash != "" {
			attrs = append(attrs, slog.String("session", e.TokenHash))
		}
		if e.NewTokenHash != "" {
			attrs = append(attrs, slog.String("new_session", e.NewTokenHash))
		}
		if e.UserID != "" {
			attrs = append(attrs, slog.String("user", e.UserID))
		}
		if e.Reason != "" {
			attrs = append(attrs, slog.String("reason", e.Reason))
		}
		if e.RemoteAddr != "" {
			attrs = append(attrs, slog.String("remote", e.RemoteAddr))
		}
		if e.Err != nil {
			attrs = append(attrs, slog.String("op", e.Op), slog.Any("error", e.Err))
		}
		m.logger.LogAttrs(ctx, level, "session "+e.Kind.String(), attrs...)
	}
	for _, o := range m.observers {
		o.Observe(ctx, e)
	}
}
