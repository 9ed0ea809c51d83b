package sessiontest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

func (h *harness) userIndex() session.UserIndex {
	ui, ok := h.st.(session.UserIndex)
	if !ok {
		h.t.Skip("store does not implement session.UserIndex")
	}
	return ui
}

func (h *harness) listed(ui session.UserIndex, user string, now time.Time) []session.Digest {
	h.t.Helper()
	entries, err := ui.ListByUser(h.ctx, user, now)
	if err != nil {
		h.t.Fatalf("ListByUser: %v", err)
	}
	out := make([]session.Digest, 0, len(entries))
	for _, e := range entries {
		if e.Record == nil {
			h.t.Fatal("ListByUser returned an entry without a record")
		}
		if e.Record.UserID != user {
			h.t.Fatalf("ListByUser(%q) returned a session of %q", user, e.Record.UserID)
		}
		out = append(out, e.Digest)
	}
	slices.SortFunc(out, func(a, b session.Digest) int { return bytes.Compare(a[:], b[:]) })
	return out
}

func sorted(ds ...session.Digest) []session.Digest {
	slices.SortFunc(ds, func(a, b session.Digest) int { return bytes.Compare(a[:], b[:]) })
	return ds
}

func testUserIndexList(t *testing.T, h *harness) {
	ui := h.userIndex()
	alice, bob := uniqueUser("alice"), uniqueUser("bob")
	a1, a2, a3, b1, anon := NewDigest(), NewDigest(), NewDigest(), NewDigest(), NewDigest()
	for _, d := range []session.Digest{a1, a2, a3} {
		h.create(d, h.record(alice))
	}
	h.create(b1, h.record(bob))
	h.create(anon, h.record(""))
	if got, want := h.listed(ui, alice, h.now), sorted(a1, a2, a3); !slices.Equal(got, want) {
		t.Fatalf("ListByUser(alice) = %v, want %v", got, want)
	}
	entries, err := ui.ListByUser(h.ctx, alice, h.now)
	if err != nil {
		t.Fatal(err)
	}
	h.sameRecord(entries[0].Record, h.record(alice))
	if got := h.listed(ui, bob, h.now); !slices.Equal(got, []session.Digest{b1}) {
		t.Fatalf("ListByUser(bob) = %v, want [%v]", got, b1)
	}
	if got := h.listed(ui, uniqueUser("nobody"), h.now); len(got) != 0 {
		t.Fatalf("ListByUser(unknown) = %v, want none", got)
	}
}

func testUserIndexRenewDelete(t *testing.T, h *harness) {
	ui := h.userIndex()
	user := uniqueUser("carol")
	d1, d2 := NewDigest(), NewDigest()
	h.create(d1, h.record(user))
	h.create(d2, h.record(user))
	// Renewal (with the Renewer capability, else delete + create, as the
	// manager does) moves the index entry.
	d3 := NewDigest()
	if rn, ok := h.st.(session.Renewer); ok {
		if err := rn.Renew(h.ctx, d1, d3, h.record(user)); err != nil {
			t.Fatalf("Renew: %v", err)
		}
	} else {
		if _, err := h.st.Delete(h.ctx, d1); err != nil {
			t.Fatal(err)
		}
		h.create(d3, h.record(user))
	}
	if got, want := h.listed(ui, user, h.now), sorted(d2, d3); !slices.Equal(got, want) {
		t.Fatalf("after renewal ListByUser = %v, want %v", got, want)
	}
	// Login: an anonymous session renewed into a user's.
	anon, d4 := NewDigest(), NewDigest()
	h.create(anon, h.record(""))
	if rn, ok := h.st.(session.Renewer); ok {
		if err := rn.Renew(h.ctx, anon, d4, h.record(user)); err != nil {
			t.Fatalf("Renew: %v", err)
		}
	} else {
		if _, err := h.st.Delete(h.ctx, anon); err != nil {
			t.Fatal(err)
		}
		h.create(d4, h.record(user))
	}
	if got, want := h.listed(ui, user, h.now), sorted(d2, d3, d4); !slices.Equal(got, want) {
		t.Fatalf("after login ListByUser = %v, want %v", got, want)
	}
	if _, err := h.st.Delete(h.ctx, d2); err != nil {
		t.Fatal(err)
	}
	if got, want := h.listed(ui, user, h.now), sorted(d3, d4); !slices.Equal(got, want) {
		t.Fatalf("after Delete ListByUser = %v, want %v", got, want)
	}
}

func testDeleteByUser(t *testing.T, h *harness) {
	ui := h.userIndex()
	user, other := uniqueUser("dave"), uniqueUser("erin")
	var mine []session.Digest
	for range 5 {
		d := NewDigest()
		h.create(d, h.record(user))
		mine = append(mine, d)
	}
	keep := NewDigest()
	h.create(keep, h.record(other))
	anon := NewDigest()
	h.create(anon, h.record(""))
	n, err := ui.DeleteByUser(h.ctx, user, session.Digest{})
	if err != nil {
		t.Fatalf("DeleteByUser: %v", err)
	}
	if n != 5 {
		t.Fatalf("DeleteByUser removed %d sessions, want 5", n)
	}
	for _, d := range mine {
		h.mustBeGone(d)
	}
	h.load(keep)
	h.load(anon)
	if got := h.listed(ui, user, h.now); len(got) != 0 {
		t.Fatalf("ListByUser after DeleteByUser = %v", got)
	}
	n, err = ui.DeleteByUser(h.ctx, user, session.Digest{})
	if err != nil || n != 0 {
		t.Fatalf("second DeleteByUser = %d, %v; want 0, nil", n, err)
	}
}

// DeleteByUser with a digest to keep ("log out my other sessions") deletes
// every other session of the user and leaves that one as it was.
func testDeleteByUserKeep(t *testing.T, h *harness) {
	ui := h.userIndex()
	user := uniqueUser("frank")
	var others []session.Digest
	for range 3 {
		d := NewDigest()
		h.create(d, h.record(user))
		others = append(others, d)
	}
	cur := NewDigest()
	want := h.record(user)
	h.create(cur, want)
	n, err := ui.DeleteByUser(h.ctx, user, cur)
	if err != nil || n != 3 {
		t.Fatalf("DeleteByUser keeping one = %d, %v; want 3, nil", n, err)
	}
	for _, d := range others {
		h.mustBeGone(d)
	}
	h.sameRecord(h.load(cur), want)
	if got := h.listed(ui, user, h.now); !slices.Equal(got, []session.Digest{cur}) {
		t.Fatalf("ListByUser after DeleteByUser keeping one = %v, want [%v]", got, cur)
	}
}

// DeleteLineage deletes a session under the digest a renewal moved it to,
// and only the sessions of that user created at that time.
func testDeleteLineage(t *testing.T, h *harness) {
	ld, ok := h.st.(session.LineageDeleter)
	if !ok {
		t.Skipf("%T does not implement session.LineageDeleter", h.st)
	}
	user, other := uniqueUser("grace"), uniqueUser("heidi")
	lineage := h.record(user)
	sibling := h.record(user)
	sibling.Created = lineage.Created.Add(time.Millisecond)
	stranger := h.record(other) // another user's session created at the same time
	d, renewed, s2, s3 := NewDigest(), NewDigest(), NewDigest(), NewDigest()
	h.create(d, lineage)
	h.create(s2, sibling)
	h.create(s3, stranger)
	if r, ok := h.st.(session.Renewer); ok {
		if err := r.Renew(h.ctx, d, renewed, lineage.Clone()); err != nil {
			t.Fatalf("Renew: %v", err)
		}
	} else {
		renewed = d
	}
	n, err := ld.DeleteLineage(h.ctx, user, lineage.Created)
	if err != nil || n != 1 {
		t.Fatalf("DeleteLineage = %d, %v; want 1, nil", n, err)
	}
	h.mustBeGone(d)
	h.mustBeGone(renewed)
	h.sameRecord(h.load(s2), sibling)
	h.sameRecord(h.load(s3), stranger)
	if ui, ok := h.st.(session.UserIndex); ok {
		if got := h.listed(ui, user, h.now); !slices.Equal(got, []session.Digest{s2}) {
			t.Fatalf("ListByUser after DeleteLineage = %v, want [%v]", got, s2)
		}
	}
	if n, err := ld.DeleteLineage(h.ctx, user, lineage.Created); err != nil || n != 0 {
		t.Fatalf("second DeleteLineage = %d, %v; want 0, nil", n, err)
	}
}

func testUserIndexExpiry(t *testing.T, h *harness) {
	ui := h.userIndex()
	user := uniqueUser("frank")
	live, idle, abs := NewDigest(), NewDigest(), NewDigest()
	h.create(live, h.record(user))
	r := h.record(user)
	r.IdleExpiry = h.now.Add(5 * time.Minute)
	h.create(idle, r)
	r = h.record(user)
	r.AbsExpiry = h.now.Add(7 * time.Minute)
	h.create(abs, r)
	at := func(d time.Duration) []session.Digest { return h.listed(ui, user, h.now.Add(d)) }
	if got, want := at(5*time.Minute-time.Millisecond), sorted(live, idle, abs); !slices.Equal(got, want) {
		t.Fatalf("1ms before the idle expiry: listed %v, want %v", got, want)
	}
	if got, want := at(5*time.Minute), sorted(live, abs); !slices.Equal(got, want) {
		t.Fatalf("at the idle expiry: listed %v, want %v", got, want)
	}
	if got, want := at(7*time.Minute), []session.Digest{live}; !slices.Equal(got, want) {
		t.Fatalf("at the absolute deadline: listed %v, want %v", got, want)
	}
}
