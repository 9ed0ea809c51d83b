package sessiontest

import (
	"errors"
	"sync"
	"testing"

	"github.com/sessionkit/session"
)

func testRenew(t *testing.T, h *harness) {
	rn, ok := h.st.(session.Renewer)
	if !ok {
		t.Skip("store does not implement session.Renewer")
	}
	old, nw := NewDigest(), NewDigest()
	h.create(old, h.record(""))
	next := h.record("logged-in")
	next.Values["cart"] = []byte(`[1,2]`)
	if err := rn.Renew(h.ctx, old, nw, next); err != nil {
		t.Fatalf("Renew: %v", err)
	}
	h.mustBeGone(old)
	h.sameRecord(h.load(nw), next)
	// The target must not exist.
	third := NewDigest()
	h.create(third, h.record(""))
	if err := rn.Renew(h.ctx, nw, third, h.record("x")); !errors.Is(err, session.ErrExists) {
		t.Fatalf("Renew onto an existing digest = %v, want ErrExists", err)
	}
	h.sameRecord(h.load(nw), next)
	h.sameRecord(h.load(third), h.record(""))
}

func testRenewMissing(t *testing.T, h *harness) {
	rn, ok := h.st.(session.Renewer)
	if !ok {
		t.Skip("store does not implement session.Renewer")
	}
	old, nw := NewDigest(), NewDigest()
	if err := rn.Renew(h.ctx, old, nw, h.record("")); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Renew of a missing record = %v, want ErrNotFound", err)
	}
	h.mustBeGone(nw)
}

func testConcurrentRenew(t *testing.T, h *harness) {
	rn, ok := h.st.(session.Renewer)
	if !ok {
		t.Skip("store does not implement session.Renewer")
	}
	for round := range 10 {
		old := NewDigest()
		h.create(old, h.record(""))
		targets := [2]session.Digest{NewDigest(), NewDigest()}
		var errs [2]error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 2 {
			wg.Go(func() {
				<-start
				errs[i] = rn.Renew(h.ctx, old, targets[i], h.record(""))
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
				h.load(targets[i])
			case errors.Is(err, session.ErrNotFound):
				h.mustBeGone(targets[i])
			default:
				t.Fatalf("round %d: Renew: %v", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d concurrent renewals of one session succeeded, want exactly 1", round, wins)
		}
		h.mustBeGone(old)
	}
}
