package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Throttle limits failed logins per account and per client address: after
// maxFailures failures within window, further attempts are refused with
// 429 and Retry-After until the oldest failure leaves the window. It is
// checked before the password, so a guessing client costs no bcrypt check
// once throttled, and an attempt let through counts as a failure until it
// is known not to be one (Begin, Done), so guesses sent at once cannot all
// pass the check before the first failure is counted: attempts beyond what
// the count allows wait (up to queueFor) for those in progress, instead of
// being refused, so a burst of correct logins from one address (a NAT) is
// slowed, not turned away. It keeps at most maxKeys keys (the oldest go first), so
// a flood of distinct names cannot grow it without bound. A correct
// password does not clear an account's failures (they leave the window):
// names that fold alike share a budget, and the owner of one must not
// clear another's. One process only: behind several servers, keep the
// counters in a shared store.
type Throttle struct {
	mu          sync.Mutex
	failures    map[string][]time.Time
	pending     map[string]int // attempts let through and not Done, by key
	order       []string       // keys by first failure, for the bound
	maxFailures int
	window      time.Duration
	maxKeys     int
	now         func() time.Time
}

// NewThrottle returns a throttle allowing maxFailures failed logins per key
// within window.
func NewThrottle(maxFailures int, window time.Duration) *Throttle {
	return &Throttle{failures: map[string][]time.Time{}, pending: map[string]int{}, maxFailures: maxFailures, window: window, maxKeys: 100_000, now: time.Now}
}

// throttleKeys returns the throttle keys of a login attempt: the account
// and the client address (the connection's; the demo trusts no proxy
// header). The account is folded as the user tables may match it (MySQL's
// default collations ignore case and accents: "ALICE", "alicé" and
// fullwidth "ａｌｉｃｅ" are alice), so that variants share one budget; an
// IPv6 client is its /64, the least a host is given, so that one host
// does not get a budget per address. Keys are digests: a flood of long
// names costs the throttle a fixed size each.
func throttleKeys(r *http.Request, user string) []string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if addr, err := netip.ParseAddr(host); err == nil && addr.Is6() && !addr.Is4In6() {
		if p, err := addr.Prefix(64); err == nil {
			host = p.String()
		}
	}
	return []string{throttleKey("user", foldAccount(user)), throttleKey("addr", host)}
}

// foldAccount is user with accents and invisible format characters
// removed (NFKD, then the combining marks and the Cf characters such as a
// soft hyphen, recomposed), case folded and trailing spaces dropped (MySQL
// compares names so: PAD SPACE collations ignore them). A transformer
// chain keeps state, so each call builds its own.
func foldAccount(user string) string {
	fold := transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), runes.Remove(runes.In(unicode.Cf)), norm.NFC)
	folded, _, err := transform.String(fold, user)
	if err != nil {
		folded = user
	}
	return strings.TrimRight(cases.Fold().String(folded), " ")
}

// throttleKey is the fixed-size key of a value of a kind.
func throttleKey(kind, value string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + value))
	return kind + ":" + hex.EncodeToString(sum[:16])
}

// Wait returns how long an attempt must wait (0: it may go on), counting
// the attempts in progress as failures.
func (t *Throttle) Wait(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	wait, _ := t.wait(keys)
	return wait
}

// wait returns how long an attempt must wait, and whether only attempts
// in progress (not failures) fill the count.
func (t *Throttle) wait(keys []string) (wait time.Duration, pendingOnly bool) {
	now := t.now()
	pendingOnly = true
	for _, k := range keys {
		f := t.prune(k, now)
		switch {
		case len(f) >= t.maxFailures:
			wait = max(wait, f[len(f)-t.maxFailures].Add(t.window).Sub(now))
			pendingOnly = false
		case len(f)+t.pending[k] >= t.maxFailures:
			// Attempts in progress may fill the count: known soon.
			wait = max(wait, time.Second)
		}
	}
	return wait, pendingOnly && wait > 0
}

// queueFor is how long Begin waits for attempts in progress before it
// refuses one.
const queueFor = 5 * time.Second

// Begin is Wait for an attempt that goes on when it returns 0: the
// attempt counts as a failure under every key until Done. When only
// attempts in progress fill a count, it waits for them (polling, up to
// queueFor, and no longer than ctx: a client that gave up stops waiting)
// rather than refusing at once.
func (t *Throttle) Begin(ctx context.Context, keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	deadline := time.Now().Add(queueFor)
	poll := time.NewTimer(0)
	defer poll.Stop()
	for {
		wait, pendingOnly := t.wait(keys)
		if wait == 0 {
			for _, k := range keys {
				t.pending[k]++
			}
			return 0
		}
		if !pendingOnly || time.Now().After(deadline) || ctx.Err() != nil {
			return wait
		}
		t.mu.Unlock()
		poll.Reset(5 * time.Millisecond)
		select {
		case <-poll.C:
		case <-ctx.Done():
		}
		t.mu.Lock()
	}
}

// Done ends an attempt Begin let through, recording a failure under every
// key when failed, in the same step (an attempt waiting in Begin never
// sees it as neither in progress nor failed).
func (t *Throttle) Done(failed bool, keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		if t.pending[k]--; t.pending[k] <= 0 {
			delete(t.pending, k)
		}
	}
	if failed {
		t.fail(keys)
	}
}

// Fail records a failed attempt under every key.
func (t *Throttle) Fail(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fail(keys)
}

func (t *Throttle) fail(keys []string) {
	now := t.now()
	for _, k := range keys {
		f := t.prune(k, now)
		if f == nil {
			t.order = append(t.order, k)
			for len(t.order) > t.maxKeys {
				delete(t.failures, t.order[0])
				t.order = t.order[1:]
			}
		}
		t.failures[k] = append(f, now)
	}
}

// prune drops the failures of k that left the window and returns the rest.
func (t *Throttle) prune(k string, now time.Time) []time.Time {
	f := t.failures[k]
	i := 0
	for i < len(f) && !now.Before(f[i].Add(t.window)) {
		i++
	}
	if i > 0 {
		f = f[i:]
		if len(f) == 0 {
			delete(t.failures, k)
			f = nil
		} else {
			t.failures[k] = f
		}
	}
	return f
}

// retryAfter formats a wait for the Retry-After header (whole seconds,
// rounded up).
func retryAfter(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}
