package memcachedstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/stores/memcachedstore"
	"github.com/sessionkit/session/stores/memcachedstore/memcachedtest"
)

// Issue 24: when another client changes the item between every read and
// swap, an update, a touch and an index write each give up after their
// bounded retries with an error, and write nothing: never a silent
// overwrite, never a wrong success.
func TestCASExhaustion(t *testing.T) {
	srv := memcachedtest.Start(t)
	st := newStore(t, srv)
	raw := memcache.New(srv.Addr)
	t.Cleanup(func() { raw.Close() })
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	d := session.Digest{7, 7, 7}
	rec := &session.Record{Created: now, LastSeen: now, AuthTime: now, UserID: "cas-user", IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(2 * time.Hour),
		Version: 1, Values: map[string][]byte{"a": []byte("1")}}
	if err := st.Create(ctx, d, rec); err != nil {
		t.Fatal(err)
	}

	// The other client rewrites the item, unchanged, before each swap:
	// its CAS token moves, so the swap fails.
	var key string
	swaps := 0
	restore := memcachedstore.SetBeforeCAS(func() {
		swaps++
		item, err := raw.Get(key)
		if err != nil {
			t.Errorf("the other client's read of %q: %v", key, err)
			return
		}
		if err := raw.Set(item); err != nil {
			t.Errorf("the other client's write: %v", err)
		}
	})
	defer restore()

	check := func(what string, err error) {
		t.Helper()
		if err == nil || errors.Is(err, session.ErrNotFound) || !strings.Contains(err.Error(), "32 attempts") {
			t.Fatalf("%s under a swap conflict every time: %v, want the error after 32 attempts", what, err)
		}
		if swaps != 32 {
			t.Fatalf("%s: %d swaps tried, want 32", what, swaps)
		}
		swaps = 0
	}
	key = st.SessionKey(d)
	check("Update", st.Update(ctx, d, &session.Change{Set: map[string][]byte{"b": []byte("2")}}))
	check("Touch", st.Touch(ctx, d, now.Add(time.Minute), now.Add(61*time.Minute)))
	key = st.UserKey("cas-user")
	_, err := st.DeleteByUser(ctx, "cas-user", session.Digest{})
	check("DeleteByUser (the index)", err)

	restore()
	got, err := st.Load(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Values["b"]; ok || !got.LastSeen.Equal(now) {
		t.Fatalf("a failed write was applied: values %q, last seen %v", got.Values, got.LastSeen)
	}
}
