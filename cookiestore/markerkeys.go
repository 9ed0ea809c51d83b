package cookiestore

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The keys of a user's marker (see Revocations) are revocations, which end
// the user's sessions authenticated up to a time, and logged-out lineages.

// nbPrefix starts a revocation of all the user's sessions: "nb:<ms>". The
// first format, one key "nb" whose value is the time, is still read.
const nbPrefix = "nb:"

// kpPrefix starts a revocation of all the user's sessions but one lineage,
// RevokeOtherSessions' "kp:<created ms>:<ms>": the lineage is spared by
// this revocation only, never by the others in the marker.
const kpPrefix = "kp:"

// lnPrefix starts the keys that revoke one lineage: "ln:<created ms>" (see
// session.ClientLineageRevoker).
const lnPrefix = "ln:"

// revocation is a revocation key of a user's marker: it ends the user's
// sessions authenticated up to at (milliseconds), except, when sparing,
// those created at spares.
type revocation struct {
	at      int64
	spares  int64
	sparing bool
}

// covers reports whether rv ends the sessions created at created (that
// were authenticated up to rv.at).
func (rv revocation) covers(created int64) bool { return !rv.sparing || rv.spares != created }

// parseRevocation parses a key of a user's marker and its value; ok is
// false for a key that is no revocation.
func parseRevocation(key string, value []byte) (rv revocation, ok bool, err error) {
	switch {
	case key == "nb":
		t, err := strconv.ParseInt(string(value), 10, 64)
		if err != nil {
			return rv, false, fmt.Errorf("first-format revocation time: %w", err)
		}
		return revocation{at: t}, true, nil
	case strings.HasPrefix(key, nbPrefix):
		t, err := strconv.ParseInt(key[len(nbPrefix):], 10, 64)
		return revocation{at: t}, err == nil, nil
	case strings.HasPrefix(key, kpPrefix):
		c, t, found := strings.Cut(key[len(kpPrefix):], ":")
		created, err1 := strconv.ParseInt(c, 10, 64)
		at, err2 := strconv.ParseInt(t, 10, 64)
		return revocation{at: at, spares: created, sparing: true}, found && err1 == nil && err2 == nil, nil
	}
	return rv, false, nil
}

// superseded returns the revocation keys of cur, other than those of
// added, that the revocations of cur and added together make redundant:
// every session such a key ends is ended by the others. Keys are ranked by
// time, a revocation of all sessions above one that spares a lineage at the
// same time, then by the key; a key is redundant when higher-ranked ones
// end what it ends: one that spares nothing or the same lineage, or two
// that spare different lineages. Only higher-ranked keys make a key
// redundant, so the keys that stay end everything the deleted ones ended,
// also when concurrent changes each delete what they find redundant.
func superseded(cur, added map[string][]byte) []string {
	type ranked struct {
		key string
		rv  revocation
	}
	var all []ranked
	for k, v := range cur {
		if _, dup := added[k]; dup {
			continue
		}
		if rv, ok, err := parseRevocation(k, v); ok && err == nil {
			all = append(all, ranked{k, rv})
		}
	}
	for k, v := range added {
		if rv, ok, err := parseRevocation(k, v); ok && err == nil {
			all = append(all, ranked{k, rv})
		}
	}
	slices.SortFunc(all, func(a, b ranked) int {
		if c := cmp.Compare(b.rv.at, a.rv.at); c != 0 {
			return c
		}
		if a.rv.sparing != b.rv.sparing {
			if a.rv.sparing {
				return 1
			}
			return -1
		}
		return strings.Compare(b.key, a.key)
	})
	var (
		out                []string
		all0, one, twoSeen bool // seen above: one sparing nothing, one sparing a lineage, two sparing different ones
		spared             int64
	)
	for _, r := range all {
		redundant := all0 || twoSeen || (r.rv.sparing && one && r.rv.spares == spared)
		if _, isAdded := added[r.key]; redundant && !isAdded {
			out = append(out, r.key)
		}
		switch {
		case !r.rv.sparing:
			all0 = true
		case !one:
			one, spared = true, r.rv.spares
		case r.rv.spares != spared:
			twoSeen = true
		}
	}
	return out
}
