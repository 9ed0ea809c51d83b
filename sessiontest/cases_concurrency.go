package sessiontest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

func testConcurrentMerge(t *testing.T, h *harness) {
	d := NewDigest()
	h.create(d, h.record(""))
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			c := &session.Change{
				Set:        map[string][]byte{fmt.Sprintf("k%02d", i): []byte(fmt.Sprint(i))},
				LastSeen:   h.now,
				IdleExpiry: h.now.Add(time.Hour),
			}
			if err := h.st.Update(h.ctx, d, c); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Update: %v", err)
	}
	got := h.load(d)
	for i := range n {
		k := fmt.Sprintf("k%02d", i)
		if !sameJSON(got.Values[k], []byte(fmt.Sprint(i))) {
			t.Fatalf("key %s = %q after 50 concurrent updates of different keys; a write was lost", k, got.Values[k])
		}
	}
	if !sameJSON(got.Values["name"], []byte(`"Ada"`)) {
		t.Fatal("an untouched key was lost by concurrent updates")
	}
}

func testConcurrentUpdateDelete(t *testing.T, h *harness) {
	for round := range 20 {
		d := NewDigest()
		h.create(d, h.record(""))
		var wg sync.WaitGroup
		start := make(chan struct{})
		var updErr error
		wg.Go(func() {
			<-start
			updErr = h.st.Update(h.ctx, d, &session.Change{Set: map[string][]byte{"late": []byte(`1`)}, LastSeen: h.now, IdleExpiry: h.now.Add(time.Hour)})
		})
		wg.Go(func() {
			<-start
			if _, err := h.st.Delete(h.ctx, d); err != nil {
				t.Errorf("Delete: %v", err)
			}
		})
		close(start)
		wg.Wait()
		if updErr != nil && !errors.Is(updErr, session.ErrNotFound) {
			t.Fatalf("round %d: Update racing Delete = %v", round, updErr)
		}
		h.mustBeGone(d)
	}
}
