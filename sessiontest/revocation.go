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
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sessionkit/session"
)

// RevocationRace checks the revocation guarantee of m's store (server-side,
// or client-side with a revocation hook) with real concurrency: once
// Manager.RevokeUser or Manager.RevokeOtherSessions has returned, no session
// of the user that existed when the call started, nor any continuation of
// one by Renew or by a write, is accepted again.
//
// Each round logs a fresh user in on several sessions, then starts one
// goroutine per session that renews it, writes to it and reads it in a
// loop, following the cookies it is given, while the round's revocation
// runs after a varying number of those requests. After the revocation has
// returned and the goroutines have stopped, every cookie any of them was
// given is presented again: none may be the user's. Rounds alternate
// between RevokeUser and, when the store has a user index, RevokeOtherSessions
// from one more session of the user, which must stay logged in (and its
// sessions must be the only one left).
//
// It reports the survivors of all rounds in one failure. m must use the
// store under test and may be a client-side manager; its clock must be the
// wall clock.
func RevocationRace(t *testing.T, m *session.Manager, rounds int) {
	t.Helper()
	h := raceHandler(m)
	_, hasIndex := m.Store().(session.UserIndex)
	survivors, wrongCounts := 0, 0
	var first string
	for round := range rounds {
		others := hasIndex && round%2 == 1
		user := fmt.Sprintf("%s-%d", uniqueUser("race"), round)
		s, w := revocationRound(t, m, h, user, others, int64(1+round%6))
		survivors += s
		wrongCounts += w
		if s > 0 && first == "" {
			first = fmt.Sprintf("round %d (RevokeOtherSessions %v)", round, others)
		}
	}
	if survivors > 0 || wrongCounts > 0 {
		t.Fatalf("%d sessions survived their revocation over %d rounds (first in %s); %d rounds left the current session wrong", survivors, rounds, first, wrongCounts)
	}
}

const raceSessions = 3

// revocationRound runs one round and returns the number of the user's
// sessions still accepted after the revocation, and 1 when
// RevokeOtherSessions did not keep the current session.
func revocationRound(t *testing.T, m *session.Manager, h http.Handler, user string, others bool, revokeAfter int64) (survivors, wrong int) {
	t.Helper()
	name := m.CookieName()
	cookies := make([]string, raceSessions)
	for i := range cookies {
		v, status := raceRequest(h, name, "", "/login?user="+url.QueryEscape(user))
		if status != http.StatusOK || v == "" || v == "-" {
			t.Fatalf("login: status %d, cookie %q", status, v)
		}
		cookies[i] = v
	}
	current := ""
	if others {
		v, status := raceRequest(h, name, "", "/login?user="+url.QueryEscape(user))
		if status != http.StatusOK || v == "" || v == "-" {
			t.Fatalf("login: status %d", status)
		}
		current = v
	}

	var (
		mu      sync.Mutex
		issued  = map[string]bool{}
		done    atomic.Bool
		started atomic.Int64
		wg      sync.WaitGroup
		errs    = make(chan error, raceSessions+1)
	)
	for _, c := range cookies {
		issued[c] = true
	}
	paths := []string{"/renew", "/write", "/read", "/renew-write"}
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
					issued[v] = true
					mu.Unlock()
					c = v
				}
			}
		})
	}
	for started.Load() < revokeAfter {
		runtime.Gosched()
	}
	var err error
	if others {
		var status int
		var v string
		v, status = raceRequest(h, name, current, "/revoke-others")
		if status != http.StatusOK {
			err = fmt.Errorf("RevokeOtherSessions: status %d", status)
		} else if v != "" {
			err = fmt.Errorf("RevokeOtherSessions changed the current cookie (%q)", v)
		}
	} else {
		_, err = m.RevokeUser(context.Background(), user)
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
	for c := range issued {
		if who, _ := raceWho(h, name, c); who == user {
			survivors++
		}
	}
	if others {
		if who, status := raceWho(h, name, current); status != http.StatusOK || who != user {
			wrong = 1
		}
	}
	return survivors, wrong
}

func raceWho(h http.Handler, name, cookie string) (string, int) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/whoami", nil)
	r.Header.Set("Cookie", name+"="+cookie)
	h.ServeHTTP(w, r)
	return w.Body.String(), w.Code
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
			u, err = s.UserID()
			io.WriteString(w, u)
		case "/revoke-others":
			_, err = m.RevokeOtherSessions(ctx)
		default:
			http.NotFound(w, r)
			return
		}
		if err != nil && !errors.Is(err, session.ErrNotLoggedIn) {
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
