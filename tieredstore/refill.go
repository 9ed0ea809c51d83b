package tieredstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/sessionkit/session"
)

// A cached copy carries two values beside the session's own, under keys
// reserved by this package (an application value under either is not
// returned by this store):
//
//   - fillIDKey, set when the copy is created: "<ms> <id>", when the refill
//     that created it started (ms since the epoch) and a random id of that
//     refill;
//   - fillMarkKey, set once that refill has checked the durable store:
//     "<version> <id>", the durable record's version and the refill's id.
//
// A copy is served only when both ids are the same: a refill's mark that
// lands on a copy another refill created (after a deletion removed its
// own) does not make that copy servable.
const (
	fillIDKey   = "\x00tieredstore.fill"
	fillMarkKey = "\x00tieredstore.mark"
)

// staleFill is how long a copy may stay unmarked before a read removes it:
// its refill failed or stopped between creating and marking it, and the
// copy would otherwise keep every read of the session on the durable store
// until it expires. Removing a copy early is always safe; the margin
// covers clocks of servers that disagree.
const staleFill = 30 * time.Second

// refill copies rec into the cache so that no read can be served a copy
// of a session a deletion or revocation removed after rec was read, or a
// copy older than a write:
//
//  1. the copy is created with this refill's id, unmarked, and reads
//     ignore it;
//  2. the durable record is read again, and the copy goes unless it is
//     still the same version with the same expiry (a deletion, a
//     revocation or a write came between the two reads);
//  3. the copy is marked with the durable version and this refill's id by
//     an Update, which fails when the copy was removed meanwhile (a
//     deletion or revocation removes it by digest or through the cache's
//     user index, a write by digest) and never recreates it. If another
//     refill's copy has taken its place, the ids differ and that copy
//     stays unservable until its own refill marks it.
//
// A write that reaches the durable store after step 2 invalidates the
// copy itself. The refill is not canceled with the request that started
// it (a client that leaves would leave an unmarked copy behind).
func (s *Store) refill(ctx context.Context, d session.Digest, rec *session.Record) {
	ctx = context.WithoutCancel(ctx)
	var b [12]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	filling := rec.Clone()
	delete(filling.Values, fillMarkKey)
	filling.Values[fillIDKey] = []byte(strconv.Quote(strconv.FormatInt(time.Now().UnixMilli(), 10) + " " + id))
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
	mark := strconv.Quote(strconv.FormatInt(rec.Version, 10) + " " + id)
	err = s.cache.Update(ctx, d, &session.Change{Set: map[string][]byte{fillMarkKey: []byte(mark)}})
	switch {
	case err == nil, errors.Is(err, session.ErrNotFound):
		// Marked, or removed meanwhile by a deletion or a write.
	default:
		s.cacheFailed(ctx, "refill", err)
		s.dropCopy(ctx, d)
	}
}

// confirmed returns a cached copy as the session's record, without the
// fill values and with the durable version, when the refill that created
// it has marked it; otherwise the copy is no copy (ok false), and it is
// removed when it has no fill values at all (cached by an older version of
// this package) or has stayed unmarked for longer than staleFill.
func (s *Store) confirmed(ctx context.Context, d session.Digest, rec *session.Record) (*session.Record, bool) {
	started, id, okID := splitFill(rec.Values[fillIDKey])
	version, markID, okMark := splitFill(rec.Values[fillMarkKey])
	if okID && okMark && markID == id {
		if v, err := strconv.ParseInt(version, 10, 64); err == nil {
			out := withoutFill(rec)
			out.Version = v
			return out, true
		}
	}
	if ms, err := strconv.ParseInt(started, 10, 64); !okID || err != nil || time.Since(time.UnixMilli(ms)) > staleFill {
		s.dropCopy(ctx, d)
	}
	return nil, false
}

// splitFill splits a fill value ("<a> <id>", as a JSON string).
func splitFill(raw []byte) (a, id string, ok bool) {
	if raw == nil {
		return "", "", false
	}
	v, err := strconv.Unquote(string(raw))
	if err != nil {
		return "", "", false
	}
	return strings.Cut(v, " ")
}

// withoutFill returns a copy of rec without this package's fill values.
func withoutFill(rec *session.Record) *session.Record {
	out := rec.Clone()
	delete(out.Values, fillIDKey)
	delete(out.Values, fillMarkKey)
	return out
}

// dropCopy removes a cached copy that must not be served.
func (s *Store) dropCopy(ctx context.Context, d session.Digest) {
	if _, err := s.cache.Delete(ctx, d); err != nil {
		s.logger.ErrorContext(ctx, "tieredstore: cannot remove a stale cached copy", "error", err)
	}
}
