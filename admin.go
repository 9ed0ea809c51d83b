package session

import (
	"context"
	"fmt"
)

// unsupported returns the error for a store lacking a capability.
func (m *Manager) unsupported(capability string) error {
	return fmt.Errorf("%w: %T does not implement session.%s", ErrUnsupported, m.store, capability)
}

// CountActive returns the number of live sessions. It needs a store
// implementing Counter; otherwise it returns an error wrapping
// ErrUnsupported that names the missing capability (it never falls back to
// scanning every session).
func (m *Manager) CountActive(ctx context.Context) (int64, error) {
	c, ok := m.store.(Counter)
	if !ok {
		return 0, m.unsupported("Counter")
	}
	start := m.startTimer()
	n, err := c.CountActive(ctx, m.now())
	m.timed(ctx, "count", start, err)
	if err != nil {
		return 0, &StoreError{Op: "count", Err: err}
	}
	return n, nil
}

// DefaultCleanupBatch is the number of records DeleteExpired removes per
// store call.
const DefaultCleanupBatch = 1000

// DeleteExpired removes every session expired at the current time, in
// batches of batch records (DefaultCleanupBatch when batch <= 0), calling
// progress (if not nil) with the running total after each batch. It stops
// early, returning the context's error, when ctx is done. It is safe to run
// on several servers at once. It needs a store implementing ExpiredDeleter.
func (m *Manager) DeleteExpired(ctx context.Context, batch int, progress func(total int)) (int, error) {
	del, ok := m.store.(ExpiredDeleter)
	if !ok {
		return 0, m.unsupported("ExpiredDeleter")
	}
	if batch <= 0 {
		batch = DefaultCleanupBatch
	}
	total := 0
	now := m.now()
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		start := m.startTimer()
		n, err := del.DeleteExpired(ctx, now, batch)
		m.timed(ctx, "delete expired", start, err)
		total += n
		if err != nil {
			return total, &StoreError{Op: "delete expired", Err: err}
		}
		if progress != nil && n > 0 {
			progress(total)
		}
		if n < batch {
			return total, nil
		}
	}
}

// RevokeUser deletes every session of a user (force logout) and returns how
// many it deleted. Requests presenting those sessions are anonymous from
// then on, on every server sharing the store. It needs a store implementing
// UserIndex, or a client-side manager with a revocation hook
// (ClientRevoker), whose revoked cookies cannot be counted: it returns 0.
func (m *Manager) RevokeUser(ctx context.Context, userID string) (int, error) {
	if m.client != nil {
		return 0, m.revokeClientUser(ctx, userID)
	}
	ui, ok := m.store.(UserIndex)
	if !ok {
		return 0, m.unsupported("UserIndex")
	}
	start := m.startTimer()
	n, err := ui.DeleteByUser(ctx, userID, Digest{})
	m.timed(ctx, "delete by user", start, err)
	if err != nil {
		return n, &StoreError{Op: "delete by user", Err: err}
	}
	m.emit(ctx, Event{Kind: EventRevoked, UserID: userID, Reason: fmt.Sprintf("all %d sessions of the user", n)})
	return n, nil
}
