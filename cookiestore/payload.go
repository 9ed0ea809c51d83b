package cookiestore

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/sessionkit/session"
)

// The payload of format version 2, binary and length-prefixed:
//
//	id            32 bytes, the session's digest
//	flags         1 byte: bit 0 expire-on-close, bit 1 created has
//	              nanoseconds; the other bits must be 0
//	version       varint
//	created       varint, Unix milliseconds (as every time below), then,
//	              with flag bit 1, a uvarint of the nanoseconds within
//	              that millisecond (1 to 999,999): the creation time names
//	              the session's lineage in the revocation hook's markers,
//	              finer than one millisecond
//	last seen     varint
//	idle timeout  varint, milliseconds (0: the manager's default)
//	idle expiry   varint
//	abs expiry    varint
//	auth time     varint (the zero time.Time's milliseconds when anonymous)
//	user id, ip, user agent
//	              each a uvarint length and the bytes
//	values        a uvarint count, then for each a key and a value, each a
//	              uvarint length and the bytes (the value as the manager's
//	              codec encoded it)
//
// Nothing may follow. Strings round-trip byte for byte. Parsing is a walk
// over lengths, where the previous format (JSON, payload_v1.go) needed a
// validating parse of every field on every request.

const (
	flagExpireOnClose = 1
	flagCreatedNanos  = 2
)

// payloadSize bounds the bytes encodePayload appends for rec.
func payloadSize(rec *session.Record) int {
	n := len(session.Digest{}) + 1 + 8*binary.MaxVarintLen64 +
		4*binary.MaxVarintLen64 + len(rec.UserID) + len(rec.IP) + len(rec.UserAgent)
	for k, v := range rec.Values {
		n += 2*binary.MaxVarintLen64 + len(k) + len(v)
	}
	return n
}

// encodePayload appends the payload of id and rec to b.
func encodePayload(b []byte, id session.Digest, rec *session.Record) []byte {
	b = append(b, id[:]...)
	var flags byte
	if rec.ExpireOnClose {
		flags |= flagExpireOnClose
	}
	sub := rec.Created.Nanosecond() % int(time.Millisecond)
	if sub != 0 {
		flags |= flagCreatedNanos
	}
	b = append(b, flags)
	b = binary.AppendVarint(b, rec.Version)
	b = binary.AppendVarint(b, rec.Created.UnixMilli())
	if sub != 0 {
		b = binary.AppendUvarint(b, uint64(sub))
	}
	b = binary.AppendVarint(b, rec.LastSeen.UnixMilli())
	b = binary.AppendVarint(b, rec.IdleTimeout.Milliseconds())
	b = binary.AppendVarint(b, rec.IdleExpiry.UnixMilli())
	b = binary.AppendVarint(b, rec.AbsExpiry.UnixMilli())
	b = binary.AppendVarint(b, rec.AuthTime.UnixMilli())
	b = appendString(b, rec.UserID)
	b = appendString(b, rec.IP)
	b = appendString(b, rec.UserAgent)
	b = binary.AppendUvarint(b, uint64(len(rec.Values)))
	for k, v := range rec.Values {
		b = appendString(b, k)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

var errPayload = errors.New("malformed payload")

// payloadReader walks a payload. The plaintext has passed authentication,
// but it is parsed as strictly as client input: every length is checked
// against what is left, and the first problem sticks.
type payloadReader struct {
	buf []byte // what is left
	str string // the whole payload as one string, for the record's strings
	off int    // offset of buf in str
	err error
}

func (r *payloadReader) varint() int64 {
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.skip(n)
	return v
}

func (r *payloadReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.skip(n)
	return v
}

// length returns the next length, which must fit in what is left after it.
func (r *payloadReader) length() int {
	v := r.uvarint()
	if v > uint64(len(r.buf)) {
		r.fail()
		return 0
	}
	return int(v)
}

// bytes returns the next length-prefixed field, sharing the payload's
// memory.
func (r *payloadReader) bytes() []byte {
	n := r.length()
	if r.err != nil {
		return nil
	}
	b := r.buf[:n:n]
	r.skip(n)
	return b
}

// string returns the next length-prefixed field as a substring of the one
// string copy of the payload.
func (r *payloadReader) string() string {
	n := r.length()
	if r.err != nil || n == 0 {
		return ""
	}
	s := r.str[r.off : r.off+n]
	r.skip(n)
	return s
}

func (r *payloadReader) skip(n int) { r.buf, r.off = r.buf[n:], r.off+n }

func (r *payloadReader) fail() {
	if r.err == nil {
		r.err = errPayload
	}
	r.buf = nil
}

// millis converts Unix milliseconds to a UTC time.
func millis(v int64) time.Time { return time.UnixMilli(v).UTC() }

// decodePayload parses a version-2 payload. The record's values share the
// memory of plain, and its strings one copy of it.
func decodePayload(plain []byte, id *session.Digest) (*session.Record, error) {
	if len(plain) < len(id)+1 {
		return nil, errPayload
	}
	copy(id[:], plain)
	flags := plain[len(id)]
	if flags&^(flagExpireOnClose|flagCreatedNanos) != 0 {
		return nil, errPayload
	}
	head := len(id) + 1
	r := payloadReader{buf: plain[head:], str: string(plain), off: head}
	rec := &session.Record{ExpireOnClose: flags&flagExpireOnClose != 0}
	rec.Version = r.varint()
	rec.Created = millis(r.varint())
	if flags&flagCreatedNanos != 0 {
		sub := r.uvarint()
		if sub == 0 || sub >= uint64(time.Millisecond) {
			r.fail() // a whole millisecond has no such field
		}
		rec.Created = rec.Created.Add(time.Duration(sub))
	}
	rec.LastSeen = millis(r.varint())
	idle := r.varint()
	if idle < 0 || idle > math.MaxInt64/int64(time.Millisecond) {
		r.fail()
	}
	rec.IdleTimeout = time.Duration(idle) * time.Millisecond
	rec.IdleExpiry = millis(r.varint())
	rec.AbsExpiry = millis(r.varint())
	rec.AuthTime = millis(r.varint())
	if rec.AuthTime.IsZero() {
		rec.AuthTime = time.Time{} // the zero time, location and all
	}
	rec.UserID = r.string()
	rec.IP = r.string()
	rec.UserAgent = r.string()
	n := r.length()
	if r.err != nil {
		return nil, r.err
	}
	// Every entry takes at least two bytes, so n is bounded by what is
	// left before any memory is set aside for it.
	if n > len(r.buf)/2 {
		return nil, errPayload
	}
	rec.Values = make(map[string][]byte, n)
	for range n {
		k := r.string()
		v := r.bytes()
		if r.err != nil {
			return nil, r.err
		}
		if _, dup := rec.Values[k]; dup {
			return nil, errPayload
		}
		rec.Values[k] = v
	}
	if r.err != nil || len(r.buf) != 0 {
		return nil, errPayload
	}
	return rec, nil
}
