package cookiestore

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The keys of a user's marker (see Revocations) are revocations, which end
// the user's sessions authenticated up to a time, and logged-out lineages.

// nbPrefix starts a revocation of all the user's sessions: "nb:<ms>". The
// first format, one key "nb" whose value is the time, is still read.
const nbPrefix = "nb:"

// kpPrefix starts a revocation of all the user's sessions but one lineage,
// RevokeOtherSessions' "kp:<lineage>:<ms>" (see lineageID): the lineage is
// spared by this revocation only, never by the others in the marker.
const kpPrefix = "kp:"

// lnPrefix starts the keys that revoke one lineage: "ln:<lineage>" (see
// lineageID and session.ClientLineageRevoker).
const lnPrefix = "ln:"

// lineageID names in a user's marker the lineage of the sessions created
// at created (a session and its renewals): its Unix milliseconds, then "."
// and the nanoseconds within that millisecond when there are any. Cookies
// sealed before the payload carried nanoseconds have whole milliseconds,
// and so the names the markers gave them.
func lineageID(created time.Time) string {
	id := strconv.FormatInt(created.UnixMilli(), 10)
	if sub := created.Nanosecond() % int(time.Millisecond); sub != 0 {
		id += "." + strconv.Itoa(sub)
	}
	return id
}

// validLineageID reports whether id is a name lineageID can give.
func validLineageID(id string) bool {
	ms, sub, fine := strings.Cut(id, ".")
	if _, err := strconv.ParseInt(ms, 10, 64); err != nil {
		return false
	}
	if !fine {
		return true
	}
	n, err := strconv.Atoi(sub)
	return err == nil && n > 0 && n < int(time.Millisecond) && strconv.Itoa(n) == sub
}

// revocation is a revocation key of a user's marker: it ends the user's
// sessions authenticated up to at (milliseconds), except, when sparing,
// the lineage named spares (lineageID).
type revocation struct {
	at      int64
	spares  string
	sparing bool
}

// covers reports whether rv ends the sessions of the lineage named
// lineage (that were authenticated up to rv.at).
func (rv revocation) covers(lineage string) bool { return !rv.sparing || rv.spares != lineage }

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
		lineage, t, found := strings.Cut(key[len(kpPrefix):], ":")
		at, err := strconv.ParseInt(t, 10, 64)
		return revocation{at: at, spares: lineage, sparing: true}, found && err == nil && validLineageID(lineage), nil
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
		spared             string
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
