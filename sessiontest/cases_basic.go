package sessiontest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

func testLoadMissing(t *testing.T, h *harness) {
	h.mustBeGone(NewDigest())
}

func testRoundTrip(t *testing.T, h *harness) {
	d := NewDigest()
	want := h.record(uniqueUser("rt"))
	want.IdleTimeout = 14 * 24 * time.Hour
	want.ExpireOnClose = true
	h.create(d, want)
	got := h.load(d)
	h.sameRecord(got, want)
	if got.Version < 1 {
		t.Fatalf("Version = %d after Create, want >= 1", got.Version)
	}
	// Another digest is a different record.
	h.mustBeGone(NewDigest())
}

func testEmptyAndUnicode(t *testing.T, h *harness) {
	empty := h.record("")
	empty.Values = nil
	empty.AuthTime = time.Time{}
	d1 := NewDigest()
	h.create(d1, empty)
	got := h.load(d1)
	if len(got.Values) != 0 {
		t.Fatalf("values of an empty session = %v", keys(got.Values))
	}
	if got.UserID != "" || !got.AuthTime.IsZero() {
		t.Fatalf("anonymous session came back with user %q auth time %v", got.UserID, got.AuthTime)
	}
	uni := h.record("用户-ü-🙂")
	uni.Values = map[string][]byte{
		"ключ":   []byte(`"значение 🙂"`),
		"emoji🙂": []byte(`"\u0000 nul and \"quotes\""`),
	}
	uni.Values["big"] = []byte(`"` + string(bytes.Repeat([]byte("x"), 32<<10)) + `"`)
	d2 := NewDigest()
	h.create(d2, uni)
	h.sameRecord(h.load(d2), uni)
}

func testLoadCopy(t *testing.T, h *harness) {
	d := NewDigest()
	h.create(d, h.record(""))
	r := h.load(d)
	r.Values["n"] = []byte(`7`)
	r.Values["added"] = []byte(`1`)
	r.UserID = "mallory"
	again := h.load(d)
	h.sameRecord(again, h.record(""))
}

func testCreateIfAbsent(t *testing.T, h *harness) {
	d := NewDigest()
	first := h.record("first")
	h.create(d, first)
	second := h.record("second")
	second.Values = map[string][]byte{"other": []byte(`true`)}
	err := h.st.Create(h.ctx, d, second)
	if !errors.Is(err, session.ErrExists) {
		t.Fatalf("second Create = %v, want ErrExists", err)
	}
	h.sameRecord(h.load(d), first)
}

func testDelete(t *testing.T, h *harness) {
	d := NewDigest()
	other := NewDigest()
	h.create(d, h.record(""))
	h.create(other, h.record(""))
	existed, err := h.st.Delete(h.ctx, d)
	if err != nil || !existed {
		t.Fatalf("Delete = %v, %v; want true, nil", existed, err)
	}
	h.mustBeGone(d)
	existed, err = h.st.Delete(h.ctx, d)
	if err != nil || existed {
		t.Fatalf("second Delete = %v, %v; want false, nil", existed, err)
	}
	h.load(other)
}

func testCanceledContext(t *testing.T, h *harness) {
	d := NewDigest()
	h.create(d, h.record(""))
	ctx, cancel := context.WithCancel(h.ctx)
	cancel()
	if _, err := h.st.Load(ctx, d); err == nil {
		t.Fatal("Load with a canceled context succeeded")
	}
	if err := h.st.Create(ctx, NewDigest(), h.record("")); err == nil {
		t.Fatal("Create with a canceled context succeeded")
	}
	if err := h.st.Update(ctx, d, &session.Change{LastSeen: h.now, IdleExpiry: h.now.Add(time.Hour)}); err == nil {
		t.Fatal("Update with a canceled context succeeded")
	}
	if _, err := h.st.Delete(ctx, d); err == nil {
		t.Fatal("Delete with a canceled context succeeded")
	}
	h.load(d)
}
