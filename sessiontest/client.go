package sessiontest

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

// RunClient runs the cases of the suite that apply to a client-side store
// (session.ClientStore, such as cookiestore): the record round trip, the
// deadline boundaries enforced on open, and the refusal of tampered,
// truncated and renamed cookies with the single error ErrInvalidCookie.
// The server-only cases (insert-if-absent, conditional updates, merging,
// indexes, cleanup, counting) do not apply: the client holds the only copy.
func RunClient(t *testing.T, newStore func(t *testing.T) session.ClientStore) {
	t.Helper()
	cases := []struct {
		name string
		run  func(t *testing.T, h *harness, cs session.ClientStore)
	}{
		{"RoundTrip", clientRoundTrip},
		{"DeadlinesEnforcedOnOpen", clientDeadlines},
		{"TamperedCookiesRefused", clientTamper},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := newStore(t)
			if cs == nil {
				t.Fatal("newStore returned nil")
			}
			tc.run(t, newHarness(t, nil), cs)
		})
	}
}

func clientRoundTrip(t *testing.T, h *harness, cs session.ClientStore) {
	id := NewDigest()
	want := h.record("用户-🙂")
	want.IdleTimeout = 14 * 24 * time.Hour
	want.ExpireOnClose = true
	v, err := cs.Seal(h.ctx, "__Host-sid", id, want)
	if err != nil {
		t.Fatal(err)
	}
	gotID, got, reseal, err := cs.Open(h.ctx, "__Host-sid", v, h.now)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if gotID != id || reseal {
		t.Fatalf("id %v (want %v), reseal %v", gotID, id, reseal)
	}
	h.sameRecord(got, want)
	anon := h.record("")
	anon.Values = nil
	anon.AuthTime = time.Time{}
	v, _ = cs.Seal(h.ctx, "__Host-sid", id, anon)
	if _, got, _, err = cs.Open(h.ctx, "__Host-sid", v, h.now); err != nil || got.UserID != "" || !got.AuthTime.IsZero() || len(got.Values) != 0 {
		t.Fatalf("anonymous round trip: %+v, %v", got, err)
	}
	// Two seals of one record differ (random nonce).
	a, _ := cs.Seal(h.ctx, "__Host-sid", id, want)
	b, _ := cs.Seal(h.ctx, "__Host-sid", id, want)
	if a == b {
		t.Fatal("sealing twice gave the same cookie: the nonce is not random")
	}
}

func clientDeadlines(t *testing.T, h *harness, cs session.ClientStore) {
	rec := h.record("")
	rec.IdleExpiry = h.now.Add(5 * time.Minute)
	rec.AbsExpiry = h.now.Add(7 * time.Minute)
	v, err := cs.Seal(h.ctx, "sid", NewDigest(), rec)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := cs.Open(h.ctx, "sid", v, h.now.Add(5*time.Minute-time.Millisecond)); err != nil {
		t.Fatalf("1ms before the idle expiry: %v", err)
	}
	if _, _, _, err := cs.Open(h.ctx, "sid", v, h.now.Add(5*time.Minute)); !errors.Is(err, session.ErrInvalidCookie) {
		t.Fatalf("at the idle expiry: %v", err)
	}
	rec.IdleExpiry = h.now.Add(time.Hour)
	v, _ = cs.Seal(h.ctx, "sid", NewDigest(), rec)
	if _, _, _, err := cs.Open(h.ctx, "sid", v, h.now.Add(7*time.Minute)); !errors.Is(err, session.ErrInvalidCookie) {
		t.Fatalf("at the absolute deadline: %v", err)
	}
}

func clientTamper(t *testing.T, h *harness, cs session.ClientStore) {
	v, err := cs.Seal(h.ctx, "sid", NewDigest(), h.record("u"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		t.Fatalf("cookie value is not base64url: %v", err)
	}
	check := func(what, value, name string) {
		t.Helper()
		_, rec, _, err := cs.Open(h.ctx, name, value, h.now)
		if err != session.ErrInvalidCookie || rec != nil { // the exact error, not a variant
			t.Fatalf("%s: Open = %v, %v; want exactly ErrInvalidCookie", what, rec, err)
		}
	}
	for i := range raw {
		for _, bit := range []byte{0x01, 0x80} {
			b := append([]byte(nil), raw...)
			b[i] ^= bit
			check("flipped byte", base64.RawURLEncoding.EncodeToString(b), "sid")
		}
	}
	for _, n := range []int{0, 1, len(raw) / 2, len(raw) - 1} {
		check("truncated", base64.RawURLEncoding.EncodeToString(raw[:n]), "sid")
	}
	check("extended", base64.RawURLEncoding.EncodeToString(append(raw, 0)), "sid")
	check("renamed cookie", v, "other")
	check("not base64", v+"!", "sid")
	check("empty", "", "sid")
}
