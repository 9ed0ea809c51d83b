package memcachedstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/memcachedstore"
	"github.com/sessionkit/session/stores/memcachedstore/memcachedtest"
)

// loggedIn returns a record of user's, alive for an hour.
func loggedIn(user string) *session.Record {
	now := time.Now().Truncate(time.Millisecond)
	return &session.Record{Values: map[string][]byte{}, UserID: user, AuthTime: now, Created: now, LastSeen: now,
		IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(time.Hour), Version: 1}
}

// A user's index is bounded (WithIndexLimit): a login beyond the bound
// fails. Sessions whose items went without a logout (expired idle,
// evicted) leave their entries until their absolute deadline, counting
// against the bound (logouts used to as well: a user logging in and out
// 5,000 times in a day could no longer log in; they now unlist their
// sessions, see TestLogoutsUnlist). A full index is pruned of the sessions
// that ended before a login is refused, but never of an entry listed
// within the grace period (a session is listed before its item is added).
func TestIndexBoundAndPruning(t *testing.T) {
	srv := memcachedtest.Start(t)
	client := memcache.New(srv.Addr)
	t.Cleanup(func() { client.Close() })
	st, err := memcachedstore.New(client, memcachedstore.WithIndexLimit(3))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var ds []session.Digest
	for range 3 {
		d := sessiontest.NewDigest()
		if err := st.Create(ctx, d, loggedIn("bob")); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	if err := st.Create(ctx, sessiontest.NewDigest(), loggedIn("bob")); err == nil {
		t.Fatal("a login beyond the index limit succeeded")
	}
	for _, d := range ds[:2] {
		// The item goes as Memcached evicts or expires it: the index is
		// not told.
		if err := client.Delete(st.SessionKey(d)); err != nil {
			t.Fatalf("delete: %v", err)
		}
	}
	// Within the grace period the entries of the lost items stay listed.
	if err := st.Create(ctx, sessiontest.NewDigest(), loggedIn("bob")); err == nil {
		t.Fatal("an entry listed within the grace period was pruned")
	}
	defer memcachedstore.SetPruneGrace(0)()
	for i := range 2 {
		if err := st.Create(ctx, sessiontest.NewDigest(), loggedIn("bob")); err != nil {
			t.Fatalf("login %d after two sessions were lost: %v", i, err)
		}
	}
	list, err := st.ListByUser(ctx, "bob", time.Now())
	if err != nil || len(list) != 3 {
		t.Fatalf("ListByUser: %d sessions, %v; want 3", len(list), err)
	}
	if err := st.Create(ctx, sessiontest.NewDigest(), loggedIn("bob")); err == nil {
		t.Fatal("a fourth live session was listed")
	}
	if _, err := memcachedstore.New(client, memcachedstore.WithIndexLimit(0)); err == nil {
		t.Fatal("WithIndexLimit(0) accepted")
	}
}

// An index Memcached evicted (or lost with its node) lists nobody: the
// user's sessions no longer load, and a revocation reports the 0 sessions
// that are alive, never a count while sessions live.
func TestEvictedIndexLogsOut(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	m, err := session.New(st)
	if err != nil {
		t.Fatal(err)
	}
	var ds []session.Digest
	for range 2 {
		d := sessiontest.NewDigest()
		if err := st.Create(ctx, d, loggedIn("carol")); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	if err := st.Client().Delete(st.UserKey("carol")); err != nil {
		t.Fatal(err)
	}
	for i, d := range ds {
		if rec, err := st.Load(ctx, d); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("session %d loads after its index was evicted: %v, %v", i, rec, err)
		}
	}
	list, err := m.UserSessions(ctx, "carol")
	if err != nil || len(list) != 0 {
		t.Fatalf("UserSessions: %v, %v", list, err)
	}
	if n, err := m.RevokeUser(ctx, "carol"); err != nil || n != 0 {
		t.Fatalf("RevokeUser: %d, %v; want 0 (nothing alive)", n, err)
	}
}

// An index this version cannot read (an earlier version's JSON, or a
// damaged item) lists nobody: the user's sessions do not load, and a
// revocation rewrites it as an empty index of this version even though it
// finds nothing to delete, so that a process of the earlier version stops
// accepting the sessions its JSON lists; a login then lists its session.
func TestUnreadableIndexListsNobody(t *testing.T) {
	srv := memcachedtest.Start(t)
	client := memcache.New(srv.Addr)
	t.Cleanup(func() { client.Close() })
	st, err := memcachedstore.New(client)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d := sessiontest.NewDigest()
	if err := st.Create(ctx, d, loggedIn("carol")); err != nil {
		t.Fatal(err)
	}
	old := []byte(`{"e":[{"d":"` + d.String() + `","c":1,"x":9999999999999}]}`)
	if err := client.Set(&memcache.Item{Key: st.UserKey("carol"), Value: old}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx, d); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Load under an unreadable index: %v, want ErrNotFound", err)
	}
	if list, err := st.ListByUser(ctx, "carol", time.Now()); err != nil || len(list) != 0 {
		t.Fatalf("ListByUser under an unreadable index: %v, %v", list, err)
	}
	if n, err := st.DeleteByUser(ctx, "carol", session.Digest{}); n != 0 || err != nil {
		t.Fatalf("DeleteByUser = %d, %v", n, err)
	}
	item, err := client.Get(st.UserKey("carol"))
	if err != nil || len(item.Value) != 1 || item.Value[0] != 1 {
		t.Fatalf("after a revocation the index is %q (%v), want an empty index of this version", item.Value, err)
	}
	d2 := sessiontest.NewDigest()
	if err := st.Create(ctx, d2, loggedIn("carol")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx, d2); err != nil {
		t.Fatalf("a login after the revocation: %v", err)
	}
}
