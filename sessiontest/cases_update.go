package sessiontest

import (
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

func testUpdate(t *testing.T, h *harness) {
	d := NewDigest()
	rec := h.record("u")
	h.create(d, rec)
	v0 := h.load(d).Version
	c := &session.Change{
		Set:        map[string][]byte{"n": []byte(`43`), "new": []byte(`"v"`)},
		Delete:     []string{"obj", "absent"},
		LastSeen:   h.now,
		IdleExpiry: h.now.Add(40 * time.Minute), // later than the record's: it moves forward
	}
	if err := h.st.Update(h.ctx, d, c); err != nil {
		t.Fatalf("Update: %v", err)
	}
	got := h.load(d)
	h.sameValues(got.Values, map[string][]byte{"n": []byte(`43`), "name": []byte(`"Ada"`), "new": []byte(`"v"`)})
	sameTime(t, "LastSeen", got.LastSeen, h.now)
	sameTime(t, "IdleExpiry", got.IdleExpiry, h.now.Add(40*time.Minute))
	sameTime(t, "AbsExpiry", got.AbsExpiry, rec.AbsExpiry)
	sameTime(t, "Created", got.Created, rec.Created)
	if got.UserID != "u" || got.IP != rec.IP {
		t.Fatalf("Update changed metadata: user %q ip %q", got.UserID, got.IP)
	}
	if got.Version <= v0 {
		t.Fatalf("Version = %d after Update, want > %d", got.Version, v0)
	}
	// Expiry policy change.
	c2 := &session.Change{
		LastSeen: h.now, IdleExpiry: h.now.Add(5 * time.Minute),
		SetExpiry: true, IdleTimeout: 5 * time.Minute, ExpireOnClose: true,
	}
	if err := h.st.Update(h.ctx, d, c2); err != nil {
		t.Fatalf("Update with SetExpiry: %v", err)
	}
	got = h.load(d)
	sameTime(t, "IdleExpiry after SetExpiry", got.IdleExpiry, h.now.Add(5*time.Minute))
	if got.IdleTimeout != 5*time.Minute || !got.ExpireOnClose {
		t.Fatalf("SetExpiry not applied: idle %v onClose %v", got.IdleTimeout, got.ExpireOnClose)
	}
}

// testUpdateWithoutActivity: a Change with zero LastSeen and IdleExpiry
// (a write between two throttled touches) applies its values and bumps the
// version but leaves every time as stored.
func testUpdateWithoutActivity(t *testing.T, h *harness) {
	d := NewDigest()
	rec := h.record("u")
	h.create(d, rec)
	v0 := h.load(d).Version
	if err := h.st.Update(h.ctx, d, &session.Change{Set: map[string][]byte{"n": []byte(`7`)}, Delete: []string{"obj"}}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	got := h.load(d)
	h.sameValues(got.Values, map[string][]byte{"n": []byte(`7`), "name": []byte(`"Ada"`)})
	sameTime(t, "LastSeen", got.LastSeen, rec.LastSeen)
	sameTime(t, "IdleExpiry", got.IdleExpiry, rec.IdleExpiry)
	sameTime(t, "AbsExpiry", got.AbsExpiry, rec.AbsExpiry)
	sameTime(t, "Created", got.Created, rec.Created)
	if got.Version <= v0 {
		t.Fatalf("Version = %d after Update, want > %d", got.Version, v0)
	}
	if !got.Alive(h.now) {
		t.Fatal("session not alive after an update without activity")
	}
}

// Update refuses, whole, a change that makes the stored record grow past
// Change.MaxSize, measured on the record as stored (not on the caller's
// Base); a change that shrinks a record already over the limit goes
// through.
func testUpdateMaxSize(t *testing.T, h *harness) {
	d := NewDigest()
	r := h.record("")
	h.create(d, r)
	size := r.Size()
	// Base is stale: another request added 10 bytes meanwhile.
	if err := h.st.Update(h.ctx, d, &session.Change{Set: map[string][]byte{"other": []byte(`"12345"`)}}); err != nil {
		t.Fatal(err)
	}
	grow := &session.Change{Base: r, Set: map[string][]byte{"big": []byte(`"xxxxxxxx"`)}, MaxSize: size + len("big") + 10 + 10}
	if err := h.st.Update(h.ctx, d, grow); !errors.Is(err, session.ErrTooLarge) {
		t.Fatalf("Update past MaxSize on the merged record = %v, want ErrTooLarge", err)
	}
	got := h.load(d)
	if _, ok := got.Values["big"]; ok || got.Size() != size+len("other")+7 {
		t.Fatalf("a refused change was applied: %d bytes, keys %v", got.Size(), keys(got.Values))
	}
	shrink := &session.Change{Base: got, Delete: []string{"other"}, MaxSize: 1}
	if err := h.st.Update(h.ctx, d, shrink); err != nil {
		t.Fatalf("a change shrinking a record over the limit = %v, want success", err)
	}
	if got := h.load(d); got.Size() != size {
		t.Fatalf("after the shrinking change: %d bytes, want %d", got.Size(), size)
	}
}

func testUpdateClear(t *testing.T, h *harness) {
	d := NewDigest()
	h.create(d, h.record(""))
	c := &session.Change{Clear: true, Set: map[string][]byte{"only": []byte(`1`)}, LastSeen: h.now, IdleExpiry: h.now.Add(time.Minute)}
	if err := h.st.Update(h.ctx, d, c); err != nil {
		t.Fatalf("Update: %v", err)
	}
	h.sameValues(h.load(d).Values, map[string][]byte{"only": []byte(`1`)})
	c = &session.Change{Clear: true, LastSeen: h.now, IdleExpiry: h.now.Add(time.Minute)}
	if err := h.st.Update(h.ctx, d, c); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got := h.load(d); len(got.Values) != 0 {
		t.Fatalf("values after Clear = %v", keys(got.Values))
	}
}

func testUpdateSetsClient(t *testing.T, h *harness) {
	d := NewDigest()
	rec := h.record("u")
	h.create(d, rec)
	c := &session.Change{LastSeen: h.now, IdleExpiry: h.now.Add(time.Minute), SetClient: true, IP: "2001:db8::1", UserAgent: "Other/2.0 🙂"}
	if err := h.st.Update(h.ctx, d, c); err != nil {
		t.Fatalf("Update: %v", err)
	}
	got := h.load(d)
	if got.IP != "2001:db8::1" || got.UserAgent != "Other/2.0 🙂" {
		t.Fatalf("client after SetClient = %q %q", got.IP, got.UserAgent)
	}
	h.sameValues(got.Values, rec.Values)
	// Without SetClient the client is kept.
	if err := h.st.Update(h.ctx, d, &session.Change{Set: map[string][]byte{"k": []byte(`1`)}, LastSeen: h.now, IdleExpiry: h.now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if got := h.load(d); got.IP != "2001:db8::1" || got.UserAgent != "Other/2.0 🙂" {
		t.Fatalf("client changed without SetClient: %q %q", got.IP, got.UserAgent)
	}
}

func testUpdateExpiryForward(t *testing.T, h *harness) {
	d := NewDigest()
	rec := h.record("")
	h.create(d, rec)
	c := &session.Change{Set: map[string][]byte{"k": []byte(`1`)}, LastSeen: rec.LastSeen.Add(-time.Minute), IdleExpiry: rec.IdleExpiry.Add(-time.Minute)}
	if err := h.st.Update(h.ctx, d, c); err != nil {
		t.Fatalf("Update: %v", err)
	}
	got := h.load(d)
	sameTime(t, "LastSeen (must not move back)", got.LastSeen, rec.LastSeen)
	sameTime(t, "IdleExpiry (must not move back)", got.IdleExpiry, rec.IdleExpiry)
}

func testUpdateMissing(t *testing.T, h *harness) {
	d := NewDigest()
	err := h.st.Update(h.ctx, d, &session.Change{Set: map[string][]byte{"k": []byte(`1`)}, LastSeen: h.now, IdleExpiry: h.now.Add(time.Hour)})
	if !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Update of a missing record = %v, want ErrNotFound", err)
	}
	h.mustBeGone(d)
}

func testUpdateAfterDelete(t *testing.T, h *harness) {
	d := NewDigest()
	h.create(d, h.record("victim"))
	if _, err := h.st.Delete(h.ctx, d); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	err := h.st.Update(h.ctx, d, &session.Change{Set: map[string][]byte{"k": []byte(`1`)}, LastSeen: h.now, IdleExpiry: h.now.Add(time.Hour)})
	if !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Update after Delete = %v, want ErrNotFound", err)
	}
	h.mustBeGone(d)
	if tc, ok := h.st.(session.Toucher); ok {
		if err := tc.Touch(h.ctx, d, h.now, h.now.Add(time.Hour)); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("Touch after Delete = %v, want ErrNotFound", err)
		}
		h.mustBeGone(d)
	}
}
