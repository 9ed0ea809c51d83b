package tieredstore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/sessionkit/session"
)

// fillKey is the value a cached copy carries beside the session's own
// values: "filling <ms>" while a refill checks the durable store (since
// when, in ms since the epoch), then the durable record's version once
// the copy may be served. No session key can collide with it: the
// manager's keys are printable.
const fillKey = "\x00tieredstore"

// staleFill is how long a copy may stay marked as being filled before a
// read removes it: its refill was canceled or failed between filling and
// marking, and the copy would otherwise keep every read of the session on
// the durable store until the copy expires.
const staleFill = 5 * time.Second

// refill copies rec into the cache so that no read can be served a copy
// of a session a deletion or revocation removed after rec was read, or a
// copy older than a write:
//
//  1. the copy is created marked as being filled, and reads ignore it;
//  2. the durable record is read again, and the copy goes unless it is
//     still the same version with the same expiry (a deletion, a
//     revocation or a write came between the two reads);
//  3. the copy is marked as filled, with the durable version, by an
//     Update, which fails when the copy was removed meanwhile (a
//     deletion or revocation removes it by digest or through the cache's
//     user index, a write by digest) and never recreates it.
//
// A write that reaches the durable store after step 2 invalidates the
// copy itself.
func (s *Store) refill(ctx context.Context, d session.Digest, rec *session.Record) {
	filling := rec.Clone()
	if filling.Values == nil {
		filling.Values = map[string][]byte{}
	}
	filling.Values[fillKey] = []byte(strconv.Quote("filling " + strconv.FormatInt(time.Now().UnixMilli(), 10)))
	if err := s.cache.Create(ctx, d, filling); err != nil {
		if !errors.Is(err, session.ErrExists) {
			s.cacheFailed(ctx, "refill", err)
		}
		return
	}
	// Any error (gone, or unknown) drops the copy too.
	now, err := s.durable.Load(ctx, d)
	if err != nil || now.Version != rec.Version || !now.IdleExpiry.Equal(rec.IdleExpiry) || !now.LastSeen.Equal(rec.LastSeen) {
		s.dropCopy(ctx, d)
		return
	}
	err = s.cache.Update(ctx, d, &session.Change{Set: map[string][]byte{fillKey: []byte(strconv.FormatInt(rec.Version, 10))}})
	switch {
	case err == nil, errors.Is(err, session.ErrNotFound):
		// Filled, or removed meanwhile by a deletion or a write.
	default:
		s.cacheFailed(ctx, "refill", err)
		s.dropCopy(ctx, d)
	}
}

// confirmed returns a cached copy as the session's record, without its
// fill marker and with the durable version, when the copy is filled; a
// copy still being filled is no copy (ok false), and one that has been
// so for longer than staleFill, or that has no mark, is removed.
func (s *Store) confirmed(ctx context.Context, d session.Digest, rec *session.Record) (*session.Record, bool) {
	raw, ok := rec.Values[fillKey]
	if !ok {
		// Cached by an older version of this package, without the mark:
		// not known to be checked against the durable store. Removed, so
		// that the next read caches it again.
		s.dropCopy(ctx, d)
		return nil, false
	}
	mark, err := strconv.Unquote(string(raw))
	if err != nil {
		mark = string(raw)
	}
	if since, ok := strings.CutPrefix(mark, "filling "); ok {
		if ms, err := strconv.ParseInt(since, 10, 64); err != nil || time.Since(time.UnixMilli(ms)) > staleFill {
			s.dropCopy(ctx, d)
		}
		return nil, false
	}
	version, err := strconv.ParseInt(mark, 10, 64)
	if err != nil {
		s.dropCopy(ctx, d)
		return nil, false
	}
	out := rec.Clone()
	delete(out.Values, fillKey)
	out.Version = version
	return out, true
}

// dropCopy removes a cached copy that must not be served.
func (s *Store) dropCopy(ctx context.Context, d session.Digest) {
	if _, err := s.cache.Delete(ctx, d); err != nil {
		s.logger.ErrorContext(ctx, "tieredstore: cannot remove a stale cached copy", "error", err)
	}
}
