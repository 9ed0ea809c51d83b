package django

import (
	"testing"
	"time"
)

// FuzzParseExpiry: whatever a session's _session_expiry holds (Django
// writes seconds or an ISO datetime; anything may be stored), reading it
// never panics and gives an age within (0, maxExpiryAge] or a fixed end in
// UTC, and the record built from it was neither created nor last seen
// after now.
func FuzzParseExpiry(f *testing.F) {
	for _, seed := range []string{"", "null", `""`, "false", "true", "0", "-1", "1.5", "1e400", "NaN", "1209600",
		`"2026-11-30T12:00:00.123456+01:00"`, `"2026-11-30T12:00:00"`, `"not a date"`, `"\ud800"`, "[1]", "{}"} {
		f.Add([]byte(seed))
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, loc := range []*time.Location{nil, paris} {
			e := parseExpiry(raw, 14*24*time.Hour, loc)
			switch {
			case e.hasAt:
				if e.at.Location() != time.UTC {
					t.Fatalf("%q: a fixed end in %v", raw, e.at.Location())
				}
			case e.age <= 0 || e.age > maxExpiryAge:
				t.Fatalf("%q: age %v", raw, e.age)
			}
			d := newDict()
			if len(raw) > 0 {
				d.set(KeyExpiry, raw)
			}
			now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
			rec := recordOf(d, "", now.Add(time.Hour), now, 14*24*time.Hour, 14*24*time.Hour, loc, 1)
			if rec.LastSeen.After(now) || rec.Created.After(now) {
				t.Fatalf("%q: created %v, last seen %v, now %v", raw, rec.Created, rec.LastSeen, now)
			}
		}
	})
}
