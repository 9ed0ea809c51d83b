package sessiontest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

func testTouch(t *testing.T, h *harness) {
	tc, ok := h.st.(session.Toucher)
	if !ok {
		t.Skip("store does not implement session.Toucher")
	}
	d := NewDigest()
	rec := h.record("")
	h.create(d, rec)
	v0 := h.load(d)
	if err := tc.Touch(h.ctx, d, h.now, h.now.Add(45*time.Minute)); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	got := h.load(d)
	sameTime(t, "LastSeen", got.LastSeen, h.now)
	sameTime(t, "IdleExpiry", got.IdleExpiry, h.now.Add(45*time.Minute))
	sameTime(t, "AbsExpiry", got.AbsExpiry, rec.AbsExpiry)
	h.sameValues(got.Values, v0.Values)
	// Never backwards.
	if err := tc.Touch(h.ctx, d, h.now.Add(-time.Minute), h.now.Add(time.Minute)); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	got = h.load(d)
	sameTime(t, "IdleExpiry after an older Touch", got.IdleExpiry, h.now.Add(45*time.Minute))
	if err := tc.Touch(h.ctx, NewDigest(), h.now, h.now.Add(time.Hour)); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Touch of a missing record = %v, want ErrNotFound", err)
	}
}

func (h *harness) counter() session.Counter {
	c, ok := h.st.(session.Counter)
	if !ok {
		h.t.Skip("store does not implement session.Counter")
	}
	return c
}

func testCountBoundary(t *testing.T, h *harness) {
	c := h.counter()
	count := func(at time.Time) int64 {
		t.Helper()
		n, err := c.CountActive(h.ctx, at)
		if err != nil {
			t.Fatalf("CountActive: %v", err)
		}
		return n
	}
	if n := count(h.now); n != 0 {
		t.Fatalf("CountActive of an empty store = %d", n)
	}
	for range 3 {
		h.create(NewDigest(), h.record(uniqueUser("c")))
	}
	r := h.record("")
	r.IdleExpiry = h.now.Add(10 * time.Minute)
	h.create(NewDigest(), r)
	r = h.record("")
	r.AbsExpiry = h.now.Add(20 * time.Minute)
	h.create(NewDigest(), r)
	h.create(NewDigest(), h.expired(""))
	for _, tc := range []struct {
		at   time.Duration
		want int64
	}{
		{0, 5},
		{10*time.Minute - time.Millisecond, 5},
		{10 * time.Minute, 4},
		{20*time.Minute - time.Millisecond, 4},
		{20 * time.Minute, 3},
	} {
		if n := count(h.now.Add(tc.at)); n != tc.want {
			t.Fatalf("CountActive(now+%v) = %d, want %d", tc.at, n, tc.want)
		}
	}
	d := NewDigest()
	h.create(d, h.record(""))
	if n := count(h.now); n != 6 {
		t.Fatalf("CountActive after Create = %d, want 6", n)
	}
	if _, err := h.st.Delete(h.ctx, d); err != nil {
		t.Fatal(err)
	}
	if n := count(h.now); n != 5 {
		t.Fatalf("CountActive after Delete = %d, want 5", n)
	}
}

func (h *harness) deleter() session.ExpiredDeleter {
	c, ok := h.st.(session.ExpiredDeleter)
	if !ok {
		h.t.Skip("store does not implement session.ExpiredDeleter")
	}
	return c
}

func testDeleteExpired(t *testing.T, h *harness) {
	del := h.deleter()
	user := uniqueUser("gina")
	var expired, live []session.Digest
	for i := range 25 {
		d := NewDigest()
		u := ""
		if i%5 == 0 {
			u = user
		}
		h.create(d, h.expired(u))
		expired = append(expired, d)
	}
	for range 5 {
		d := NewDigest()
		h.create(d, h.record(user))
		live = append(live, d)
	}
	total := 0
	for i := 0; ; i++ {
		n, err := del.DeleteExpired(h.ctx, h.now, 10)
		if err != nil {
			t.Fatalf("DeleteExpired: %v", err)
		}
		if n > 10 {
			t.Fatalf("DeleteExpired(limit 10) removed %d", n)
		}
		total += n
		if n < 10 {
			break
		}
		if i > 10 {
			t.Fatal("DeleteExpired keeps reporting full batches")
		}
	}
	if total > 25 {
		t.Fatalf("DeleteExpired removed %d records, only 25 were expired", total)
	}
	for _, d := range expired {
		h.mustBeGone(d)
	}
	for _, d := range live {
		h.load(d)
	}
	if ui, ok := h.st.(session.UserIndex); ok {
		if got, want := h.listed(ui, user, h.now), sorted(live...); !slices.Equal(got, want) {
			t.Fatalf("ListByUser after cleanup = %v, want the live sessions %v", got, want)
		}
		n, err := ui.DeleteByUser(h.ctx, user, session.Digest{})
		if err != nil || n != len(live) {
			t.Fatalf("DeleteByUser after cleanup = %d, %v; want %d", n, err, len(live))
		}
	}
	ctx, cancel := context.WithCancel(h.ctx)
	cancel()
	if _, err := del.DeleteExpired(ctx, h.now, 10); err == nil {
		t.Fatal("DeleteExpired with a canceled context succeeded")
	}
}

func testDeleteExpiredBoundary(t *testing.T, h *harness) {
	del := h.deleter()
	d := NewDigest()
	r := h.record("")
	r.IdleExpiry = h.now.Add(3 * time.Minute)
	h.create(d, r)
	if _, err := del.DeleteExpired(h.ctx, h.now.Add(3*time.Minute-time.Millisecond), 100); err != nil {
		t.Fatal(err)
	}
	h.load(d)
	if _, err := del.DeleteExpired(h.ctx, h.now.Add(3*time.Minute), 100); err != nil {
		t.Fatal(err)
	}
	h.mustBeGone(d)
}
