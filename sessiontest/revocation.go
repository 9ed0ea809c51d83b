package sessiontest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

// RevocationRace checks the revocation guarantee of m's store (server-side,
// or client-side with a revocation hook) with real concurrency: once
// Manager.RevokeUser, Manager.RevokeOtherSessions, Manager.RevokeSession or
// Manager.Destroy has returned, no session that existed when the call
// started, nor any continuation of one by Renew or by a write, is accepted
// again.
//
// Each round logs a fresh user in on several sessions, then starts one
// goroutine per session that renews it, logs the user in again on it
// (Manager.Login on a logged-in session, which also replaces its token),
// writes to it and reads it in a loop, following the cookies it is given,
// while the round's revocation runs after a varying number of those
// requests. After the revocation has returned and the goroutines have
// stopped, every cookie any of them was given is presented again: none of
// those the revocation covers may be the user's with its lineage's
// creation time. Renewals and a login on a logged-in session keep the
// creation time, so every continuation of a covered session has it,
// whenever the request that made it was sent: a login racing the
// revocation may keep the user logged in only as a new authentication, a
// fresh session with a creation time of its own (see Manager.Login).
// Rounds rotate through RevokeUser; Destroy of the first session (a
// logout with its current cookie, while its goroutine renews it);
// RevokeOtherSessions from one more session of the user (which must stay
// logged in) when the manager supports it; and, when the store has a user
// index, RevokeSession of the first session from that one, and
// Manager.AdminRevokeSession of the first session by its handle. A
// Destroy, RevokeSession or AdminRevokeSession that found the session
// already gone (its cookie or handle was replaced by a renewal before the
// call) covers nothing and is tried again with the latest cookie, up to 50
// times; with 20 rounds of a mode or more, at least half must cover a
// session, or the race was not run (on this repository's stores most
// rounds do, well above half even under load).
//
// It reports the survivors of all rounds in one failure. m must use the
// store under test and may be a client-side manager; its clock must be the
// wall clock.
func RevocationRace(t *testing.T, m *session.Manager, rounds int) {
	t.Helper()
	r := runRevocationRace(t, m, rounds)
	if r.survivors > 0 || r.wrongCounts > 0 {
		t.Fatalf("%d sessions survived their revocation over %d rounds (first in %s); %d rounds left the current session wrong", r.survivors, rounds, r.first, r.wrongCounts)
	}
	for _, mode := range r.modes {
		if n := r.roundsOf[mode]; n >= 20 && r.coveringRoundsOf[mode]*2 < n {
			t.Fatalf("%s covered a session in %d of its %d rounds: the race was not run", mode, r.coveringRoundsOf[mode], n)
		}
	}
	t.Logf("%d rounds, %d revoked lineages checked, 0 survivors; rounds that covered a session: %v of %v", rounds, r.covered, r.coveringRoundsOf, r.roundsOf)
}

// raceResult is what the rounds of RevocationRace found.
type raceResult struct {
	modes                      []raceMode
	survivors, wrongCounts     int
	covered                    int
	roundsOf, coveringRoundsOf map[raceMode]int
	first                      string // the first round with a survivor
}

// runRevocationRace runs the rounds of RevocationRace and returns what
// they found, failing t only when a round cannot be run.
func runRevocationRace(t *testing.T, m *session.Manager, rounds int) raceResult {
	t.Helper()
	h := raceHandler(m)
	_, hasIndex := m.Store().(session.UserIndex)
	modes := []raceMode{revokeUser, destroyOne}
	switch {
	case hasIndex:
		modes = append(modes, revokeOthers, revokeOne, adminRevoke)
	case revokesOthers(t, h, m.CookieName()):
		modes = append(modes, revokeOthers) // client-side, with a hook that can
	}
	survivors, wrongCounts, covered := 0, 0, 0
	roundsOf, coveringRoundsOf := map[raceMode]int{}, map[raceMode]int{}
	var first string
	for round := range rounds {
		mode := modes[round%len(modes)]
		user := fmt.Sprintf("%s-%d", uniqueUser("race"), round)
		s, w, c := revocationRound(t, m, h, user, mode, int64(1+round%6))
		survivors += s
		wrongCounts += w
		covered += c
		roundsOf[mode]++
		if c > 0 {
			coveringRoundsOf[mode]++
		}
		if s > 0 && first == "" {
			first = fmt.Sprintf("round %d (%s)", round, mode)
		}
	}
	return raceResult{modes: modes, survivors: survivors, wrongCounts: wrongCounts, covered: covered,
		roundsOf: roundsOf, coveringRoundsOf: coveringRoundsOf, first: first}
}

type raceMode string

const (
	revokeUser   raceMode = "RevokeUser"
	revokeOthers raceMode = "RevokeOtherSessions"
	revokeOne    raceMode = "RevokeSession"
	adminRevoke  raceMode = "AdminRevokeSession"
	destroyOne   raceMode = "Destroy"
)

const raceSessions = 3

// revocationRound runs one round and returns the number of covered
// sessions still accepted after the revocation, 1 when the session the
// revocation was made from did not stay logged in, and the number of
// lineages the revocation covered.
func revocationRound(t *testing.T, m *session.Manager, h http.Handler, user string, mode raceMode, revokeAfter int64) (survivors, wrong, covered int) {
	t.Helper()
	name := m.CookieName()
	login := func() string {
		v, status := raceRequest(h, name, "", "/login?user="+url.QueryEscape(user))
		if status != http.StatusOK || v == "" || v == "-" {
			t.Fatalf("login: status %d, cookie %q", status, v)
		}
		return v
	}
	cookies := make([]string, raceSessions)
	for i := range cookies {
		cookies[i] = login()
	}
	current := ""
	if mode == revokeOthers || mode == revokeOne {
		// A lineage is a user's sessions created in the same millisecond
		// (see session.LineageDeleter): the session the revocation is made
		// from starts in another one.
		time.Sleep(2 * time.Millisecond)
		current = login()
	}
	// Renewals keep the creation time: every continuation of a covered
	// session has its lineage's, and a fresh session (a login that found
	// its session revoked: Manager.Login) a later one.
	origin := make([]time.Time, raceSessions)
	for i, c := range cookies {
		_, origin[i], _ = raceWho(h, name, c)
	}
	time.Sleep(2 * time.Millisecond)

	var (
		mu      sync.Mutex
		issued  = make([]map[string]bool, raceSessions) // per lineage
		latest  = make([]string, raceSessions)          // each lineage's cookie now
		done    atomic.Bool
		started atomic.Int64
		wg      sync.WaitGroup
		errs    = make(chan error, raceSessions+1)
	)
	for i, c := range cookies {
		issued[i] = map[string]bool{c: true}
		latest[i] = c
	}
	loginPath := "/login?user=" + url.QueryEscape(user)
	paths := []string{"/renew", "/write", loginPath, "/read", "/renew-write"}
	for i, c := range cookies {
		wg.Go(func() {
			for n := 0; !done.Load() && c != ""; n++ {
				started.Add(1)
				v, status := raceRequest(h, name, c, paths[(i+n)%len(paths)])
				if status != http.StatusOK {
					errs <- fmt.Errorf("%s: status %d", paths[(i+n)%len(paths)], status)
					return
				}
				switch v {
				case "":
				case "-":
					c = "" // the session ended: this client is logged out
				default:
					mu.Lock()
					issued[i][v] = true
					latest[i] = v
					mu.Unlock()
					c = v
				}
			}
		})
	}
	for started.Load() < revokeAfter {
		runtime.Gosched()
	}
	coveredLineages := []int{0, 1, 2}
	var err error
	switch mode {
	case revokeUser:
		_, err = m.RevokeUser(context.Background(), user)
	case revokeOthers:
		var v string
		var status int
		v, status = raceRequest(h, name, current, "/revoke-others")
		if status != http.StatusOK {
			err = fmt.Errorf("RevokeOtherSessions: status %d", status)
		} else if v != "" {
			err = fmt.Errorf("RevokeOtherSessions changed the current cookie (%q)", v)
		}
	case revokeOne, adminRevoke, destroyOne:
		// The first session's goroutine renews it all the time: its
		// cookie (and handle) may be replaced before the call reads it,
		// and then names no session. Up to 50 tries with the latest.
		coveredLineages = nil
		for try := 0; try < 50 && coveredLineages == nil && err == nil; try++ {
			mu.Lock()
			target := latest[0]
			mu.Unlock()
			if mode == adminRevoke {
				d, _ := session.DigestOf(target)
				existed, aerr := m.AdminRevokeSession(context.Background(), d.Handle())
				switch {
				case aerr != nil:
					err = fmt.Errorf("%s: %w", mode, aerr)
				case existed:
					coveredLineages = []int{0}
				}
				continue
			}
			w := httptest.NewRecorder()
			var r *http.Request
			if mode == revokeOne {
				d, _ := session.DigestOf(target)
				r = httptest.NewRequest("GET", "/revoke-one?h="+d.Handle(), nil)
				r.Header.Set("Cookie", name+"="+current)
			} else {
				r = httptest.NewRequest("GET", "/logout", nil)
				r.Header.Set("Cookie", name+"="+target)
			}
			h.ServeHTTP(w, r)
			switch {
			case mode == revokeOne && w.Code == http.StatusNotFound:
			case w.Code != http.StatusOK:
				err = fmt.Errorf("%s: status %d: %s", mode, w.Code, w.Body.String())
			case mode == destroyOne && w.Body.String() != user:
			default:
				coveredLineages = []int{0}
			}
		}
	}
	// Everything the clients hold from here on must be dead, including
	// what requests in flight hand out after the revocation returned.
	done.Store(true)
	wg.Wait()
	close(errs)
	if err != nil {
		t.Fatal(err)
	}
	for err := range errs {
		t.Fatal(err)
	}
	// A session may stay only as a new authentication: a fresh session
	// (a creation time other than its lineage's) that a login stored
	// because it found its session revoked (Manager.Login).
	for _, i := range coveredLineages {
		for c := range issued[i] {
			who, created, _ := raceWho(h, name, c)
			if who == user && created.Equal(origin[i]) {
				survivors++
			}
		}
	}
	if current != "" {
		if who, _, status := raceWho(h, name, current); status != http.StatusOK || who != user {
			wrong = 1
		}
	}
	return survivors, wrong, len(coveredLineages)
}

// revokesOthers reports whether Manager.RevokeOtherSessions is supported
// behind h (a client-side manager supports it when its revocation hook
// can), by calling it from a session of a user of its own.
func revokesOthers(t *testing.T, h http.Handler, name string) bool {
	t.Helper()
	user := uniqueUser("race-probe")
	v, status := raceRequest(h, name, "", "/login?user="+url.QueryEscape(user))
	if status != http.StatusOK || v == "" || v == "-" {
		t.Fatalf("login: status %d, cookie %q", status, v)
	}
	switch _, status = raceRequest(h, name, v, "/revoke-others"); status {
	case http.StatusOK:
		if who, _, _ := raceWho(h, name, v); who != user {
			t.Fatalf("RevokeOtherSessions logged its own session out (or the login did not hold): %q", who)
		}
		return true
	case http.StatusNotImplemented:
		return false
	default:
		t.Fatalf("RevokeOtherSessions: status %d", status)
		return false
	}
}

// raceWho returns the user of the session cookie names, when the session
// was created, and the status of the request.
func raceWho(h http.Handler, name, cookie string) (string, time.Time, int) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/whoami", nil)
	r.Header.Set("Cookie", name+"="+cookie)
	h.ServeHTTP(w, r)
	user, created, _ := strings.Cut(w.Body.String(), " ")
	ns, _ := strconv.ParseInt(created, 10, 64)
	return user, time.Unix(0, ns), w.Code
}

// raceRequest sends path with the session cookie value (none when empty)
// and returns the new cookie value it set, "-" when it deleted the cookie,
// or "" when it left it alone.
func raceRequest(h http.Handler, name, cookie, path string) (string, int) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", path, nil)
	if cookie != "" {
		r.Header.Set("Cookie", name+"="+cookie)
	}
	h.ServeHTTP(w, r)
	v := ""
	for _, c := range w.Result().Cookies() {
		if c.Name != name {
			continue
		}
		if c.MaxAge < 0 || c.Value == "" {
			v = "-"
		} else {
			v = c.Value
		}
	}
	return v, w.Code
}

// raceHandler serves the requests of RevocationRace behind m.
func raceHandler(m *session.Manager) http.Handler {
	return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		s := session.FromContext(ctx)
		var err error
		switch r.URL.Path {
		case "/login":
			if err = m.Login(ctx, r.URL.Query().Get("user")); err == nil {
				err = s.Set("n", 0)
			}
		case "/renew":
			err = m.Renew(ctx)
		case "/write":
			err = s.Set("n", 1)
		case "/set":
			err = s.Set(r.URL.Query().Get("k"), r.URL.Query().Get("v"))
		case "/renew-write":
			if err = m.Renew(ctx); err == nil {
				err = s.Set("n", 2)
			}
		case "/read":
			_, _, err = session.Get[int](s, "n")
		case "/whoami":
			var u string
			var created time.Time
			if u, err = s.UserID(); err == nil && u != "" {
				if created, err = s.CreatedAt(); err == nil {
					fmt.Fprintf(w, "%s %d", u, created.UnixNano())
				}
			}
		case "/revoke-others":
			_, err = m.RevokeOtherSessions(ctx)
		case "/revoke-one":
			if err = m.RevokeSession(ctx, r.URL.Query().Get("h")); errors.Is(err, session.ErrNotFound) {
				http.NotFound(w, r)
				return
			}
		case "/logout":
			var u string
			if u, err = s.UserID(); err == nil {
				if err = m.Destroy(ctx); err == nil {
					io.WriteString(w, u) // who was logged out
				}
			}
		default:
			http.NotFound(w, r)
			return
		}
		switch {
		case errors.Is(err, session.ErrUnsupported):
			http.Error(w, err.Error(), http.StatusNotImplemented)
		case errors.Is(err, session.ErrTooLarge):
			// Refused by the request's own view of the session (see
			// ConcurrentSizeLimit), as the store refuses at commit.
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
		case err != nil && !errors.Is(err, session.ErrNotLoggedIn):
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
}

// RevocationRaceStore runs RevocationRace on a manager over st with the
// default options (logs discarded).
func RevocationRaceStore(t *testing.T, st session.Store, rounds int) {
	t.Helper()
	RevocationRace(t, raceManager(t, st), rounds)
}

// raceManager returns a manager over st with the default options (logs
// discarded).
func raceManager(t *testing.T, st session.Store) *session.Manager {
	t.Helper()
	m, err := session.New(st, session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
