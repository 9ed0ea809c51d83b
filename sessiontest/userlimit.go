package sessiontest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/sessionkit/session"
)

// SessionLimitRace checks that session.WithMaxSessionsPerUser holds under
// concurrency: in each round, logins concurrent new sessions of one user
// (no cookie, as from as many devices) on a manager over st limited to
// limit sessions per user; once every login has answered, each must have
// answered 200 with a cookie, and exactly limit of the user's sessions
// (or all, when fewer logged in) must still be logged in: the manager runs
// a user's logins one at a time, each ending the least recently active
// sessions beyond the limit (run concurrently, they evicted each other,
// down to none). st must be a session.UserIndex.
func SessionLimitRace(t *testing.T, st session.Store, limit, logins, rounds int) {
	t.Helper()
	m, err := session.New(st, session.WithMaxSessionsPerUser(limit), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	h := raceHandler(m)
	name := m.CookieName()
	over, first := 0, ""
	for round := range rounds {
		user := fmt.Sprintf("%s-%d", uniqueUser("limit"), round)
		cookies := make([]string, logins)
		codes := make([]int, logins)
		var wg sync.WaitGroup
		for i := range logins {
			wg.Go(func() { cookies[i], codes[i] = raceRequest(h, name, "", "/login?user="+url.QueryEscape(user)) })
		}
		wg.Wait()
		alive := 0
		for i, c := range cookies {
			if codes[i] != http.StatusOK || c == "" || c == "-" {
				t.Fatalf("round %d: a login answered %d with cookie %q", round, codes[i], c)
			}
			if who, _, _ := raceWho(h, name, c); who == user {
				alive++
			}
		}
		list, err := m.UserSessions(context.Background(), user)
		if err != nil {
			t.Fatal(err)
		}
		// One at a time, the logins leave exactly the most recent limit.
		if alive != min(limit, logins) || len(list) != min(limit, logins) {
			over++
			if first == "" {
				first = fmt.Sprintf("round %d: %d cookies logged in, %d sessions listed", round, alive, len(list))
			}
		}
	}
	if over > 0 {
		t.Fatalf("%d of %d rounds of %d concurrent logins did not leave the user with exactly %d sessions (first: %s)", over, rounds, logins, min(limit, logins), first)
	}
}
