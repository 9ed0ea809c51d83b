package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Cleaner deletes expired sessions in the background for stores that do not
// expire records by themselves (SQL stores). Build one with
// Manager.StartCleaner and call Stop on shutdown.
type Cleaner struct {
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// StartCleaner runs DeleteExpired every interval in a goroutine until Stop.
// Several servers may run a cleaner on the same store; each batch is one
// bounded statement, so they share the work. Failures are reported as
// EventStoreError and retried at the next tick. It needs a store
// implementing ExpiredDeleter.
func (m *Manager) StartCleaner(interval time.Duration) (*Cleaner, error) {
	if _, ok := m.store.(ExpiredDeleter); !ok {
		return nil, m.unsupported("ExpiredDeleter")
	}
	if interval <= 0 {
		return nil, fmt.Errorf("%w: cleaner interval must be positive, got %v", ErrConfig, interval)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cleaner{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				n, err := m.DeleteExpired(ctx, 0, nil)
				switch {
				case err != nil && !errors.Is(err, context.Canceled):
					m.emit(ctx, Event{Kind: EventStoreError, Op: "delete expired", Err: err})
				case n > 0:
					m.logger.DebugContext(ctx, "session: cleaner deleted expired sessions", "count", n)
				}
			}
		}
	}()
	return c, nil
}

// Stop ends the cleaner, interrupting a running batch, and waits for its
// goroutine to return. It is safe to call more than once.
func (c *Cleaner) Stop() {
	c.once.Do(c.cancel)
	<-c.done
}
