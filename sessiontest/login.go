package sessiontest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/sessionkit/session"
)

// DoubleLogin checks that a login always leaves the browser logged in: two
// concurrent logins with the same session cookie (a double-submitted login
// form) both answer with a working session cookie for the user, never with a
// cookie deletion, whichever commits first. A browser keeps the cookie of
// whichever response it processes last, so both must work. Each round starts
// from a fresh anonymous session (every third round from a session already
// logged in as the user), and at most one of the two sessions is left
// without a client (an orphan that expires as usual).
func DoubleLogin(t *testing.T, m *session.Manager, rounds int) {
	t.Helper()
	h := raceHandler(m)
	name := m.CookieName()
	_, hasIndex := m.Store().(session.UserIndex)
	failures, orphans := 0, 0
	var first string
	for round := range rounds {
		user := fmt.Sprintf("%s-%d", uniqueUser("double"), round)
		start, status := raceRequest(h, name, "", "/write")
		if round%3 == 2 {
			start, status = raceRequest(h, name, "", "/login?user="+url.QueryEscape(user))
		}
		if status != http.StatusOK || start == "" || start == "-" {
			t.Fatalf("starting a session: status %d, cookie %q", status, start)
		}
		var got [2]string
		var codes [2]int
		var wg sync.WaitGroup
		for i := range got {
			wg.Go(func() { got[i], codes[i] = raceRequest(h, name, start, "/login?user="+url.QueryEscape(user)) })
		}
		wg.Wait()
		for i, c := range got {
			who := ""
			if c != "" && c != "-" {
				who, _, _ = raceWho(h, name, c)
			}
			if codes[i] != http.StatusOK || who != user {
				failures++
				if first == "" {
					first = fmt.Sprintf("round %d: status %d, cookie %q, logged in as %q", round, codes[i], c, who)
				}
			}
		}
		if hasIndex {
			// The two logins' sessions, one of which the browser drops:
			// never more.
			list, err := m.UserSessions(context.Background(), user)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) > 2 {
				orphans++
				if first == "" {
					first = fmt.Sprintf("round %d: %d sessions for the user after two logins", round, len(list))
				}
			}
		}
	}
	if failures > 0 || orphans > 0 {
		t.Fatalf("%d of %d double-submitted logins did not leave a working login; %d rounds left more than one orphan (first: %s)", failures, 2*rounds, orphans, first)
	}
}

// DoubleLoginStore runs DoubleLogin on a manager over st with the default
// options (logs discarded).
func DoubleLoginStore(t *testing.T, st session.Store, rounds int) {
	t.Helper()
	DoubleLogin(t, raceManager(t, st), rounds)
}
