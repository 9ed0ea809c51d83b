package sessiontest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

// MixedConcurrentOperations runs goroutines goroutines of rounds store
// calls each on st, all at once: creates, renewals, updates of one shared
// session (each a key of its own), loads, touches, user listings, batched
// cleanups and counts, the optional ones where st implements them. No call
// may fail (a store retries its deadlocks, busy errors and serialization
// failures itself), and afterwards the shared session holds every key the
// updates set: none was lost to a concurrent update.
func MixedConcurrentOperations(t *testing.T, st session.Store, goroutines, rounds int) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	rec := func(user string) *session.Record {
		return &session.Record{Values: map[string][]byte{"a": []byte(`1`)}, UserID: user, Created: now, LastSeen: now,
			IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(2 * time.Hour), Version: 1}
	}
	shared := NewDigest()
	if err := st.Create(ctx, shared, rec("shared")); err != nil {
		t.Fatal(err)
	}
	toucher, _ := st.(session.Toucher)
	renewer, _ := st.(session.Renewer)
	index, _ := st.(session.UserIndex)
	deleter, _ := st.(session.ExpiredDeleter)
	counter, _ := st.(session.Counter)
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*rounds)
	updates := 0
	for i := range rounds {
		if i%8 == 1 {
			updates++
		}
	}
	for g := range goroutines {
		wg.Go(func() {
			user := fmt.Sprintf("user%d", g%5)
			for i := range rounds {
				var err error
				switch i % 8 {
				case 0:
					err = st.Create(ctx, NewDigest(), rec(user))
				case 1:
					err = st.Update(ctx, shared, &session.Change{Set: map[string][]byte{fmt.Sprintf("g%d_%d", g, i): []byte(`1`)}, LastSeen: now, IdleExpiry: now.Add(time.Hour)})
				case 2:
					_, err = st.Load(ctx, shared)
				case 3:
					if toucher != nil {
						err = toucher.Touch(ctx, shared, now, now.Add(time.Hour))
					}
				case 4:
					d := NewDigest()
					if err = st.Create(ctx, d, rec(user)); err == nil && renewer != nil {
						err = renewer.Renew(ctx, d, NewDigest(), rec(user))
					}
				case 5:
					if index != nil {
						_, err = index.ListByUser(ctx, user, now)
					}
				case 6:
					if deleter != nil {
						_, err = deleter.DeleteExpired(ctx, now, 100)
					}
				case 7:
					if counter != nil {
						_, err = counter.CountActive(ctx, now)
					}
				}
				if err != nil {
					errs <- fmt.Errorf("goroutine %d, call %d: %w", g, i, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 5 {
			t.Errorf("surfaced error: %v", err)
		}
	}
	if n > 0 {
		t.Fatalf("%d of %d calls failed under %d concurrent goroutines", n, goroutines*rounds, goroutines)
	}
	got, err := st.Load(ctx, shared)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + goroutines*updates; len(got.Values) != want {
		t.Fatalf("shared session has %d keys, want %d: concurrent updates were lost", len(got.Values), want)
	}
}
