package memcachedstore

import (
	"sync"

	"github.com/sessionkit/session"
)

// maxHints bounds the CAS ids remembered; beyond it they are forgotten
// all at once (a forgotten id only costs a write one more round trip).
const maxHints = 1 << 16

// casHints remembers, per session, the CAS id of the item Load last read
// and the record version it held, so that an Update from that view is one
// cas instead of gets and cas. A hint is only a hint: a stale id makes the
// cas fail and the write falls back to gets and cas. The record's Version
// stays the stored one, so that a store layered over this one (tieredstore)
// never sees a CAS id as a version.
type casHints struct {
	mu    sync.Mutex
	hints map[session.Digest]casHint
}

type casHint struct {
	version int64
	cas     uint64
}

func (h *casHints) remember(d session.Digest, version int64, cas uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hints == nil || len(h.hints) >= maxHints {
		h.hints = make(map[session.Digest]casHint)
	}
	h.hints[d] = casHint{version: version, cas: cas}
}

// lookup returns the CAS id of base's version of d, if remembered.
func (h *casHints) lookup(d session.Digest, base *session.Record) (uint64, bool) {
	if base == nil {
		return 0, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	hint, ok := h.hints[d]
	if !ok || hint.version != base.Version {
		return 0, false
	}
	return hint.cas, true
}
