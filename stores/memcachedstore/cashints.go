package memcachedstore

import (
	"sync"

	"github.com/sessionkit/session"
)

// maxHints bounds the CAS ids remembered; beyond it they are forgotten
// all at once (a forgotten id only costs a write one more round trip).
const maxHints = 1 << 16

// casHints remembers, per session, the CAS id of the item Load last read
// and what of the record the writes change (its version, which every
// Update moves, and its activity times, which Touch moves without it), so
// that an Update from exactly that view is one cas instead of gets and
// cas. A hint is only a hint: the id of another item (one written since)
// makes the cas fail and the write falls back to gets and cas; a hint that
// matches the request's view names the item that view was read from. The
// record's Version stays the stored one, so that a store layered over this
// one (tieredstore) never sees a CAS id as a version.
type casHints struct {
	mu    sync.Mutex
	hints map[session.Digest]casHint
}

type casHint struct {
	version              int64
	lastSeen, idleExpiry int64 // Unix nanoseconds
	cas                  uint64
}

func hintOf(rec *session.Record, cas uint64) casHint {
	return casHint{version: rec.Version, lastSeen: rec.LastSeen.UnixNano(), idleExpiry: rec.IdleExpiry.UnixNano(), cas: cas}
}

func (h *casHints) remember(d session.Digest, rec *session.Record, cas uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hints == nil || len(h.hints) >= maxHints {
		h.hints = make(map[session.Digest]casHint)
	}
	h.hints[d] = hintOf(rec, cas)
}

// lookup returns the CAS id of the item base was read from, if remembered:
// one read since (by another request, after a Touch of another process)
// holds other activity times or another version.
func (h *casHints) lookup(d session.Digest, base *session.Record) (uint64, bool) {
	if base == nil {
		return 0, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	hint, ok := h.hints[d]
	if !ok || hint != hintOf(base, hint.cas) {
		return 0, false
	}
	return hint.cas, true
}
