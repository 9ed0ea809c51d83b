package session

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrAnonymousLimit reports that a new server-side anonymous session was
// refused because the manager's limit on anonymous creations
// (WithAnonymousLimit) is reached. Logins and existing sessions are never
// refused by it. The default error handler answers 503 Service Unavailable
// with a Retry-After header.
var ErrAnonymousLimit = errors.New("session: too many new anonymous sessions; try again later")

// AnonymousLimitError is the error a request gets when WithAnonymousLimit
// refuses to store a new anonymous session. It matches ErrAnonymousLimit
// with errors.Is.
type AnonymousLimitError struct {
	// RetryAfter is how long until the limit admits a new anonymous
	// session again.
	RetryAfter time.Duration
}

// Error describes the refusal and when to try again.
func (e *AnonymousLimitError) Error() string {
	return fmt.Sprintf("%v (retry after %v)", ErrAnonymousLimit, e.RetryAfter)
}

// Is reports whether target is ErrAnonymousLimit.
func (e *AnonymousLimitError) Is(target error) bool { return target == ErrAnonymousLimit }

// WithAnonymousLimit caps how many anonymous sessions (sessions without a
// user) the manager stores server-side: at most n new ones per period,
// with bursts of up to n (a token bucket refilled at n per period). A
// request that would store one more is answered by the error handler with
// an *AnonymousLimitError (503 and Retry-After by default) and stores
// nothing; logins, logged-in users and existing anonymous sessions are
// never refused.
//
// The cap bounds what anonymous traffic can put in the store: at most
// n × (A / period + 1) anonymous records per manager instance, where A is
// the anonymous idle timeout (WithAnonymousIdleTimeout) for visitors who
// leave, or the absolute timeout for clients that keep every session
// alive. Multiply by the number of instances sharing the store. With
// WithAnonymousInCookie no anonymous session is stored and the cap does
// not apply.
func WithAnonymousLimit(n int, period time.Duration) Option {
	return func(c *config) { c.anonLimit, c.anonPeriod = n, period }
}

// anonBucket is the token bucket behind WithAnonymousLimit.
type anonBucket struct {
	mu       sync.Mutex
	capacity float64
	perToken time.Duration // the time one token takes to refill
	tokens   float64
	last     time.Time
}

func newAnonBucket(n int, period time.Duration) *anonBucket {
	return &anonBucket{capacity: float64(n), perToken: period / time.Duration(n), tokens: float64(n)}
}

// take spends a token at now, or says how long until one is available.
func (b *anonBucket) take(now time.Time) (ok bool, retryAfter time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() && now.After(b.last) {
		b.tokens += float64(now.Sub(b.last)) / float64(b.perToken)
		if b.tokens > b.capacity {
			b.tokens = b.capacity
		}
	}
	if b.last.IsZero() || now.After(b.last) {
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) * float64(b.perToken))
	return false, max(wait, time.Second)
}

// giveBack returns a token taken for a creation that did not happen (the
// store failed).
func (b *anonBucket) giveBack() {
	b.mu.Lock()
	if b.tokens++; b.tokens > b.capacity {
		b.tokens = b.capacity
	}
	b.mu.Unlock()
}
