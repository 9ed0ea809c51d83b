package memcachedstore_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

// A write from a view read before a Touch does not write that view's
// activity times over the Touch's, also when this process has read the
// touched item since (the review found the one-cas shortcut matching the
// remembered CAS id on the record's version alone, which Touch leaves as
// it is: the idle expiry went back from 15 to 10 minutes).
func TestWriteAfterTouchKeepsItsExpiry(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	var d session.Digest
	rand.Read(d[:])
	now := time.Now().Truncate(time.Millisecond)
	rec := &session.Record{Values: map[string][]byte{"a": []byte("1")}, Created: now, LastSeen: now,
		IdleExpiry: now.Add(10 * time.Minute), AbsExpiry: now.Add(time.Hour), Version: 1}
	if err := st.Create(ctx, d, rec); err != nil {
		t.Fatal(err)
	}
	before, err := st.Load(ctx, d) // request A's view
	if err != nil {
		t.Fatal(err)
	}
	touched := now.Add(15 * time.Minute)
	if err := st.Touch(ctx, d, now.Add(time.Minute), touched); err != nil { // request B
		t.Fatal(err)
	}
	if _, err := st.Load(ctx, d); err != nil { // request C reads the touched item
		t.Fatal(err)
	}
	if err := st.Update(ctx, d, &session.Change{Base: before, Set: map[string][]byte{"b": []byte("2")}}); err != nil { // A writes
		t.Fatal(err)
	}
	got, err := st.Load(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if !got.IdleExpiry.Equal(touched) || string(got.Values["b"]) != "2" {
		t.Fatalf("after the write: idle expiry %v (the Touch set %v), values %q", got.IdleExpiry, touched, got.Values)
	}
}
