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
	"testing"

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
