package sessiontest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

// listThenDelete is a memory store whose DeleteByUser is not atomic with
// respect to Renew: it lists the user's sessions, waits, and deletes what
// it listed by digest, the bug issue 17 found on SQLite, PostgreSQL and
// Redis (a renewal committing in between moves the record away from the
// digest the delete then misses).
type listThenDelete struct {
	*memstore.Store
}

func (s listThenDelete) DeleteByUser(ctx context.Context, userID string, keep session.Digest) (int, error) {
	entries, err := s.ListByUser(ctx, userID, time.Now())
	if err != nil {
		return 0, err
	}
	time.Sleep(time.Millisecond)
	n := 0
	for _, e := range entries {
		if e.Digest == keep {
			continue
		}
		ok, err := s.Delete(ctx, e.Digest)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// TestRevocationRaceCatchesListThenDelete shows that RevocationRace can
// fail: over a store that revokes by listing and then deleting, renewals
// racing the revocation survive it and the rounds count them.
func TestRevocationRaceCatchesListThenDelete(t *testing.T) {
	store := memstore.New()
	defer store.Stop()
	m, err := session.New(listThenDelete{store}, session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	r := runRevocationRace(t, m, 40)
	if r.survivors == 0 {
		t.Fatalf("no survivor over 40 rounds of a revocation that lists and then deletes (rounds that covered a session: %v of %v)", r.coveringRoundsOf, r.roundsOf)
	}
	t.Logf("%d survivors over 40 rounds, the first in %s", r.survivors, r.first)
}
