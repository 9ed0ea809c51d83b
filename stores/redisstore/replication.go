package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// ErrNotReplicated reports a deletion or renewal that fewer replicas
// acknowledged than WithWait asks for within its timeout. The master has
// applied it, but a failover before the replicas catch up could undo it
// (bring a logged-out session back), so the manager fails the request
// instead of reporting a logout that may not hold.
var ErrNotReplicated = errors.New("redisstore: too few replicas acknowledged the change")

// waitCmd queues WAIT when configured (New refuses WithWait on Cluster).
func (s *Store) waitCmd(p redis.Pipeliner, ctx context.Context) *redis.Cmd {
	if s.wait <= 0 {
		return nil
	}
	return p.Do(ctx, "WAIT", s.wait, s.waitFor.Milliseconds())
}

// waited checks the answer of the WAIT that waitCmd queued, if any.
func (s *Store) waited(w *redis.Cmd) error {
	if w == nil {
		return nil
	}
	n, err := w.Int()
	if err != nil {
		return fmt.Errorf("waiting for %d replicas: %w", s.wait, err)
	}
	if n < s.wait {
		return fmt.Errorf("%w: %d of %d replicas within %v", ErrNotReplicated, n, s.wait, s.waitFor)
	}
	return nil
}
