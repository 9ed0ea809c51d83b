package session_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

// phaseKey marks the context a phaseRecorder gave a phase.
type phaseKey struct{}

// phaseRecorder is a PhaseObserver that records each phase with its
// outcome, and each store call with the phase its context came from.
type phaseRecorder struct {
	mu     sync.Mutex
	phases []string // "load", "commit", "commit failed", ...
	calls  []string // "load in load", "create in commit", "delete in none", ...
}

func (p *phaseRecorder) StartPhase(ctx context.Context, phase string) (context.Context, func(error)) {
	return context.WithValue(ctx, phaseKey{}, phase), func(err error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if err != nil {
			phase += " failed"
		}
		p.phases = append(p.phases, phase)
	}
}

func (p *phaseRecorder) Observe(ctx context.Context, e session.Event) {
	if e.Kind != session.EventStoreCall {
		return
	}
	phase, _ := ctx.Value(phaseKey{}).(string)
	if phase == "" {
		phase = "none"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, e.Op+" in "+phase)
}

// take returns what was recorded since the last take.
func (p *phaseRecorder) take() (phases, calls []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	phases, calls = p.phases, p.calls
	p.phases, p.calls = nil, nil
	return phases, calls
}

// Issue 21: a PhaseObserver sees a session's load and commit as phases
// around their store calls, which get the phase's context; a request that
// needs no store call has no phase, and a failed phase ends with its
// error.
func TestPhaseObserver(t *testing.T) {
	rec := &phaseRecorder{}
	e := newEnv(t, session.WithObserver(rec))
	same := func(what string, got []string, want ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %q, want %q", what, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: %q, want %q", what, got, want)
			}
		}
	}

	tok := mustToken(t, e.do("/set?k=a&v=1", "")) // no cookie: nothing to load
	phases, calls := rec.take()
	same("new session: phases", phases, "commit")
	same("new session: store calls", calls, "create in commit")

	e.do("/get?k=a", tok) // read-only, no refresh due: nothing to commit
	phases, calls = rec.take()
	same("read: phases", phases, "load")
	same("read: store calls", calls, "load in load")

	e.do("/set?k=a&v=2", tok)
	phases, calls = rec.take()
	same("write: phases", phases, "load", "commit")
	same("write: store calls", calls, "load in load", "update in commit")

	e.do("/noop", tok) // the handler never touches its session
	phases, calls = rec.take()
	same("untouched: phases", phases)
	same("untouched: store calls", calls)

	e.do("/get?k=a", "") // no session, none created: no phase
	phases, calls = rec.take()
	same("anonymous read: phases", phases)
	same("anonymous read: store calls", calls)

	e.do("/get?k=a", randomToken()) // looked up, unknown: its cookie is cleared without a commit
	phases, calls = rec.take()
	same("unknown token: phases", phases, "load")
	same("unknown token: store calls", calls, "load in load")

	e.clock.Advance(5 * time.Minute) // the refresh is due (a tenth of the idle timeout)
	e.do("/get?k=a", tok)
	phases, calls = rec.take()
	same("refresh: phases", phases, "load", "commit")
	same("refresh: store calls", calls, "load in load", "touch in commit")

	tok = mustToken(t, e.do("/login?u=alice", tok))
	phases, calls = rec.take()
	same("login: phases", phases, "load", "commit")
	same("login: store calls", calls, "load in load", "renew in commit")

	e.clock.Advance(31 * time.Minute) // past the idle timeout: deleted at load
	e.do("/get?k=a", tok)
	phases, calls = rec.take()
	same("expired: phases", phases, "load")
	same("expired: store calls", calls, "load in load", "delete in load")
	tok = mustToken(t, e.do("/set?k=a&v=1", ""))
	rec.take()

	e.store.setFail("load", errBoom)
	e.do("/get?k=a", tok)
	e.store.setFail("load", nil)
	phases, _ = rec.take()
	same("failed load: phases", phases, "load failed")

	e.store.setFail("update", errBoom)
	e.do("/set?k=a&v=3", tok)
	e.store.setFail("update", nil)
	phases, _ = rec.take()
	same("failed commit: phases", phases, "load", "commit failed")
}
