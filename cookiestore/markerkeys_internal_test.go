package cookiestore

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// randomRevocation returns a revocation key of a small time and lineage
// range, so that ties and shared lineages are common.
func randomRevocation(rnd *rand.Rand) string {
	at := strconv.Itoa(rnd.IntN(6))
	if rnd.IntN(3) == 0 {
		return nbPrefix + at
	}
	return kpPrefix + strconv.Itoa(rnd.IntN(3)) + ":" + at
}

// revokedBy reports whether the keys end a session created at created and
// authenticated at start, as check decides.
func revokedBy(t *testing.T, keys map[string][]byte, created, start int64) bool {
	lineage := strconv.FormatInt(created, 10)
	t.Helper()
	nb := int64(-1 << 63)
	for k, v := range keys {
		rv, ok, err := parseRevocation(k, v)
		if err != nil {
			t.Fatal(err)
		}
		if ok && rv.covers(lineage) {
			nb = max(nb, rv.at)
		}
	}
	return start <= nb
}

// Whatever changes delete what they find superseded, concurrently (each
// from the marker it read, merged by the store), the keys that stay end
// every session the keys ever added end.
func TestSupersededKeepsCoverage(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for round := range 20000 {
		cur := map[string][]byte{}
		for range rnd.IntN(5) {
			cur[randomRevocation(rnd)] = []byte("0")
		}
		if rnd.IntN(4) == 0 {
			cur["nb"] = []byte(strconv.Itoa(rnd.IntN(6))) // the first format
		}
		final := map[string][]byte{}
		for k, v := range cur {
			final[k] = v
		}
		all := map[string][]byte{}
		for k, v := range cur {
			all[k] = v
		}
		var deleted []string
		for range 1 + rnd.IntN(3) { // concurrent changes, each from cur
			added := map[string][]byte{randomRevocation(rnd): []byte("0")}
			deleted = append(deleted, superseded(cur, added)...)
			for k, v := range added {
				final[k], all[k] = v, v
			}
		}
		for _, k := range deleted {
			delete(final, k)
		}
		for created := range int64(3) {
			for start := range int64(7) {
				if revokedBy(t, all, created, start) && !revokedBy(t, final, created, start) {
					t.Fatalf("round %d: marker %v plus changes %v, deleting %v: a session created at %d, authenticated at %d, is no longer revoked", round, cur, all, deleted, created, start)
				}
			}
		}
	}
}

// One change after another, a marker holds at most three revocations: the
// latest revocation of all sessions and, after it, two sparing different
// lineages.
func TestSupersededBounds(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	marker := map[string][]byte{}
	for i := range 5000 {
		at := strconv.Itoa(i)
		key := nbPrefix + at
		if rnd.IntN(4) != 0 {
			key = kpPrefix + strconv.Itoa(rnd.IntN(50)) + ":" + at
		}
		added := map[string][]byte{key: []byte("0")}
		for _, k := range superseded(marker, added) {
			delete(marker, k)
		}
		marker[key] = added[key]
		if len(marker) > 3 {
			t.Fatalf("after %d changes the marker holds %d revocations: %v", i+1, len(marker), marker)
		}
	}
}
