package sessiontest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

type harness struct {
	t   *testing.T
	st  session.Store
	ctx context.Context
	now time.Time
}

func newHarness(t *testing.T, st session.Store) *harness {
	return &harness{
		t:   t,
		st:  st,
		ctx: t.Context(),
		now: time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond),
	}
}

// NewDigest returns a random digest, as a store would receive for a fresh
// token.
func NewDigest() session.Digest {
	var d session.Digest
	rand.Read(d[:])
	return d
}

func (h *harness) record(user string) *session.Record {
	now := h.now
	return &session.Record{
		Values: map[string][]byte{
			"n":    []byte(`42`),
			"name": []byte(`"Ada"`),
			"obj":  []byte(`{"a":[1,2,3],"b":null}`),
		},
		UserID:     user,
		AuthTime:   now.Add(-time.Minute),
		Created:    now.Add(-2 * time.Minute),
		LastSeen:   now.Add(-time.Second),
		IdleExpiry: now.Add(30 * time.Minute),
		AbsExpiry:  now.Add(12 * time.Hour),
		Version:    1,
		IP:         "203.0.113.7",
		UserAgent:  "Mozilla/5.0 (sessiontest)",
	}
}

func (h *harness) expired(user string) *session.Record {
	r := h.record(user)
	r.IdleExpiry = h.now.Add(-10 * time.Minute)
	r.LastSeen = h.now.Add(-40 * time.Minute)
	return r
}

func (h *harness) create(d session.Digest, r *session.Record) {
	h.t.Helper()
	if err := h.st.Create(h.ctx, d, r); err != nil {
		h.t.Fatalf("Create: %v", err)
	}
}

func (h *harness) load(d session.Digest) *session.Record {
	h.t.Helper()
	r, err := h.st.Load(h.ctx, d)
	if err != nil {
		h.t.Fatalf("Load: %v", err)
	}
	if r == nil {
		h.t.Fatal("Load returned a nil record and no error")
	}
	return r
}

func (h *harness) mustBeGone(d session.Digest) {
	h.t.Helper()
	r, err := h.st.Load(h.ctx, d)
	if !errors.Is(err, session.ErrNotFound) {
		h.t.Fatalf("Load of a deleted record = %+v, %v; want ErrNotFound", r, err)
	}
}

func uniqueUser(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s-%x", prefix, b)
}

// sameJSON reports whether a and b are byte-equal or encode equal JSON values
// (stores with a JSON column type may normalise whitespace and key order).
func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

func (h *harness) sameValues(got, want map[string][]byte) {
	h.t.Helper()
	if len(got) != len(want) {
		h.t.Fatalf("values have keys %v, want %v", keys(got), keys(want))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || !sameJSON(g, w) {
			h.t.Fatalf("value of %q = %q (present %v), want %q", k, g, ok, w)
		}
	}
}

func keys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sameTime(t *testing.T, name string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s = %v, want %v", name, got, want)
	}
}

func (h *harness) sameRecord(got, want *session.Record) {
	h.t.Helper()
	h.sameValues(got.Values, want.Values)
	if got.UserID != want.UserID {
		h.t.Fatalf("UserID = %q, want %q", got.UserID, want.UserID)
	}
	sameTime(h.t, "AuthTime", got.AuthTime, want.AuthTime)
	sameTime(h.t, "Created", got.Created, want.Created)
	sameTime(h.t, "LastSeen", got.LastSeen, want.LastSeen)
	sameTime(h.t, "IdleExpiry", got.IdleExpiry, want.IdleExpiry)
	sameTime(h.t, "AbsExpiry", got.AbsExpiry, want.AbsExpiry)
	if got.IdleTimeout != want.IdleTimeout {
		h.t.Fatalf("IdleTimeout = %v, want %v", got.IdleTimeout, want.IdleTimeout)
	}
	if got.ExpireOnClose != want.ExpireOnClose {
		h.t.Fatalf("ExpireOnClose = %v, want %v", got.ExpireOnClose, want.ExpireOnClose)
	}
	if got.IP != want.IP || got.UserAgent != want.UserAgent {
		h.t.Fatalf("client = %q %q, want %q %q", got.IP, got.UserAgent, want.IP, want.UserAgent)
	}
}
