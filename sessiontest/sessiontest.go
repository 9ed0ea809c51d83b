// Package sessiontest is a conformance suite for session.Store
// implementations, in the spirit of testing/fstest: a store passes when
// Run(t, newStore) passes. Every store in this repository runs it, and
// third-party stores can too.
//
// The suite checks the contract the manager relies on: insert-if-absent
// creation, updates that never resurrect a deleted record, per-key merging of
// concurrent updates, expiry-only touches, atomic renewal, the user index
// through renewal, deletion and expiry, batched cleanup and counting, with
// exact expiry boundaries. Times are passed explicitly (the application's
// clock); the suite's "now" lies an hour ahead of the wall clock so that
// records it treats as expired are still physically present in stores that
// let records vanish with a TTL.
//
// Beyond Run, checks that need a store's raw backend or a fault of its
// server take hooks from the caller: CheckCorruptRecords (damaged records
// are a security event, deleted, and the request anonymous),
// WritesUnderFault (a server fault is never taken for "no session" and
// loses no acknowledged write), MixedConcurrentOperations (concurrent calls
// of every kind, nothing surfaces, nothing lost) and CheckRequestCosts
// (store calls per request). Handler, BenchStoreRequest, BenchDigest and
// BenchLoad give stores the same benchmarks.
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
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

// Run runs the suite. newStore is called once per subtest and must return a
// store that holds no sessions (for example a fresh table, database or key
// prefix); it should register its own cleanup with t.Cleanup.
//
// Optional capabilities (Toucher, Renewer, UserIndex, Counter,
// ExpiredDeleter) are tested when the store implements them; subtests for a
// missing capability are skipped with a message naming it.
func Run(t *testing.T, newStore func(t *testing.T) session.Store) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			if st == nil {
				t.Fatal("newStore returned nil")
			}
			tc.run(t, newHarness(t, st))
		})
	}
}

type testCase struct {
	name string
	run  func(t *testing.T, h *harness)
}

var cases = []testCase{
	{"LoadMissing", testLoadMissing},
	{"CreateLoadRoundTrip", testRoundTrip},
	{"EmptyAndUnicodeValues", testEmptyAndUnicode},
	{"LoadReturnsCallerOwnedCopy", testLoadCopy},
	{"CreateIsInsertIfAbsent", testCreateIfAbsent},
	{"UpdateAppliesChange", testUpdate},
	{"UpdateWithoutActivityKeepsExpiry", testUpdateWithoutActivity},
	{"UpdateClear", testUpdateClear},
	{"UpdateHoldsMaxSize", testUpdateMaxSize},
	{"UpdateSetsClient", testUpdateSetsClient},
	{"UpdateExpiryOnlyMovesForward", testUpdateExpiryForward},
	{"UpdateMissingFails", testUpdateMissing},
	{"UpdateAfterDeleteDoesNotResurrect", testUpdateAfterDelete},
	{"Delete", testDelete},
	{"ConcurrentUpdatesMergeByKey", testConcurrentMerge},
	{"ConcurrentUpdateAndDelete", testConcurrentUpdateDelete},
	{"CanceledContext", testCanceledContext},
	{"Touch", testTouch},
	{"Renew", testRenew},
	{"RenewMissingCreatesNothing", testRenewMissing},
	{"ConcurrentRenewOneWins", testConcurrentRenew},
	{"UserIndexList", testUserIndexList},
	{"UserIndexFollowsRenewAndDelete", testUserIndexRenewDelete},
	{"UserIndexDeleteByUser", testDeleteByUser},
	{"UserIndexDeleteByUserKeep", testDeleteByUserKeep},
	{"LineageDeleteFollowsRenewal", testDeleteLineage},
	{"UserIndexExpiryBoundary", testUserIndexExpiry},
	{"CountActiveBoundary", testCountBoundary},
	{"DeleteExpiredInBatches", testDeleteExpired},
	{"DeleteExpiredBoundary", testDeleteExpiredBoundary},
}

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

func testConcurrentMerge(t *testing.T, h *harness) {
	d := NewDigest()
	h.create(d, h.record(""))
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			c := &session.Change{
				Set:        map[string][]byte{fmt.Sprintf("k%02d", i): []byte(fmt.Sprint(i))},
				LastSeen:   h.now,
				IdleExpiry: h.now.Add(time.Hour),
			}
			if err := h.st.Update(h.ctx, d, c); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Update: %v", err)
	}
	got := h.load(d)
	for i := range n {
		k := fmt.Sprintf("k%02d", i)
		if !sameJSON(got.Values[k], []byte(fmt.Sprint(i))) {
			t.Fatalf("key %s = %q after 50 concurrent updates of different keys; a write was lost", k, got.Values[k])
		}
	}
	if !sameJSON(got.Values["name"], []byte(`"Ada"`)) {
		t.Fatal("an untouched key was lost by concurrent updates")
	}
}

func testConcurrentUpdateDelete(t *testing.T, h *harness) {
	for round := range 20 {
		d := NewDigest()
		h.create(d, h.record(""))
		var wg sync.WaitGroup
		start := make(chan struct{})
		var updErr error
		wg.Go(func() {
			<-start
			updErr = h.st.Update(h.ctx, d, &session.Change{Set: map[string][]byte{"late": []byte(`1`)}, LastSeen: h.now, IdleExpiry: h.now.Add(time.Hour)})
		})
		wg.Go(func() {
			<-start
			if _, err := h.st.Delete(h.ctx, d); err != nil {
				t.Errorf("Delete: %v", err)
			}
		})
		close(start)
		wg.Wait()
		if updErr != nil && !errors.Is(updErr, session.ErrNotFound) {
			t.Fatalf("round %d: Update racing Delete = %v", round, updErr)
		}
		h.mustBeGone(d)
	}
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

func testRenew(t *testing.T, h *harness) {
	rn, ok := h.st.(session.Renewer)
	if !ok {
		t.Skip("store does not implement session.Renewer")
	}
	old, nw := NewDigest(), NewDigest()
	h.create(old, h.record(""))
	next := h.record("logged-in")
	next.Values["cart"] = []byte(`[1,2]`)
	if err := rn.Renew(h.ctx, old, nw, next); err != nil {
		t.Fatalf("Renew: %v", err)
	}
	h.mustBeGone(old)
	h.sameRecord(h.load(nw), next)
	// The target must not exist.
	third := NewDigest()
	h.create(third, h.record(""))
	if err := rn.Renew(h.ctx, nw, third, h.record("x")); !errors.Is(err, session.ErrExists) {
		t.Fatalf("Renew onto an existing digest = %v, want ErrExists", err)
	}
	h.sameRecord(h.load(nw), next)
	h.sameRecord(h.load(third), h.record(""))
}

func testRenewMissing(t *testing.T, h *harness) {
	rn, ok := h.st.(session.Renewer)
	if !ok {
		t.Skip("store does not implement session.Renewer")
	}
	old, nw := NewDigest(), NewDigest()
	if err := rn.Renew(h.ctx, old, nw, h.record("")); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Renew of a missing record = %v, want ErrNotFound", err)
	}
	h.mustBeGone(nw)
}

func testConcurrentRenew(t *testing.T, h *harness) {
	rn, ok := h.st.(session.Renewer)
	if !ok {
		t.Skip("store does not implement session.Renewer")
	}
	for round := range 10 {
		old := NewDigest()
		h.create(old, h.record(""))
		targets := [2]session.Digest{NewDigest(), NewDigest()}
		var errs [2]error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 2 {
			wg.Go(func() {
				<-start
				errs[i] = rn.Renew(h.ctx, old, targets[i], h.record(""))
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
				h.load(targets[i])
			case errors.Is(err, session.ErrNotFound):
				h.mustBeGone(targets[i])
			default:
				t.Fatalf("round %d: Renew: %v", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d concurrent renewals of one session succeeded, want exactly 1", round, wins)
		}
		h.mustBeGone(old)
	}
}

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
