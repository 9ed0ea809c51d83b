package cookiestore

import (
	"bytes"
	"encoding/binary"
	"maps"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

func samplePayload() (session.Digest, *session.Record) {
	var id session.Digest
	for i := range id {
		id[i] = byte(255 - i)
	}
	t := time.Date(2026, 11, 26, 1, 2, 3, 4e6, time.UTC)
	return id, &session.Record{
		Values: map[string][]byte{"cart": []byte(`[1,2,3]`), "name": []byte(`"Ada"`), "": []byte(`0`)},
		UserID: "ada", AuthTime: t, Created: t.Add(-time.Hour + 123456), LastSeen: t, // created to the nanosecond
		IdleTimeout: 90 * time.Minute, IdleExpiry: t.Add(time.Hour), AbsExpiry: t.Add(24 * time.Hour),
		ExpireOnClose: true, Version: 1<<40 + 3, IP: "2001:db8::1", UserAgent: "Mozilla/5.0",
	}
}

func sameRecord(t *testing.T, got, want *session.Record) {
	t.Helper()
	if got.UserID != want.UserID || !got.AuthTime.Equal(want.AuthTime) || got.AuthTime.IsZero() != want.AuthTime.IsZero() ||
		!got.Created.Equal(want.Created) || !got.LastSeen.Equal(want.LastSeen) || got.IdleTimeout != want.IdleTimeout ||
		!got.IdleExpiry.Equal(want.IdleExpiry) || !got.AbsExpiry.Equal(want.AbsExpiry) || got.ExpireOnClose != want.ExpireOnClose ||
		got.Version != want.Version || got.IP != want.IP || got.UserAgent != want.UserAgent ||
		!maps.EqualFunc(got.Values, want.Values, bytes.Equal) {
		t.Fatalf("record\n got %+v\nwant %+v", got, want)
	}
}

func TestPayloadRoundTrip(t *testing.T) {
	id, rec := samplePayload()
	b := encodePayload(nil, id, rec)
	if len(b) > payloadSize(rec) {
		t.Fatalf("payload of %d bytes, bound %d", len(b), payloadSize(rec))
	}
	var got session.Digest
	out, err := decodePayload(b, &got)
	if err != nil {
		t.Fatal(err)
	}
	if got != id {
		t.Fatalf("id %x", got)
	}
	sameRecord(t, out, rec)

	anon := &session.Record{Created: rec.Created.Truncate(time.Millisecond), LastSeen: rec.LastSeen, IdleExpiry: rec.IdleExpiry, AbsExpiry: rec.AbsExpiry}
	out, err = decodePayload(encodePayload(nil, id, anon), &got)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, out, anon)
	if out.Values == nil || !out.AuthTime.IsZero() {
		t.Fatalf("anonymous record: %+v", out)
	}
}

// Every malformed payload is refused: truncated anywhere, extended, with
// unknown flags, repeated keys, lengths past the end or counts that do not
// fit.
func TestPayloadRefused(t *testing.T) {
	id, rec := samplePayload()
	good := encodePayload(nil, id, rec)
	var d session.Digest
	for n := range len(good) {
		if _, err := decodePayload(good[:n], &d); err == nil {
			t.Fatalf("payload truncated to %d of %d bytes accepted", n, len(good))
		}
	}
	uv := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }
	bad := map[string][]byte{
		"extended":      append(append([]byte(nil), good...), 0),
		"unknown flags": func() []byte { b := append([]byte(nil), good...); b[len(id)] |= 4; return b }(),
	}
	// The creation time's nanoseconds: present only with the flag, and
	// then within a millisecond and not 0 (one encoding per time).
	plain := encodePayload(nil, id, &session.Record{Created: time.UnixMilli(5)})
	at := len(id) + 1 + 1 + 1 // flags, version 0, created 5
	withNanos := func(flag byte, sub ...byte) []byte {
		b := append([]byte(nil), plain[:at]...)
		b[len(id)] |= flag
		b = append(b, sub...)
		return append(b, plain[at:]...)
	}
	if rec, err := decodePayload(withNanos(2, uv(7)...), &d); err != nil || rec.Created.Sub(time.UnixMilli(5)) != 7 {
		t.Fatalf("created with 7 ns: %v, %v", rec, err)
	}
	bad["nanoseconds 0"] = withNanos(2, uv(0)...)
	bad["a millisecond of nanoseconds"] = withNanos(2, uv(1e6)...)
	bad["nanoseconds without the flag"] = withNanos(0, uv(7)...)
	// A hand-built tail after the fixed fields: user, ip, ua, then values.
	head := encodePayload(nil, id, &session.Record{})
	head = head[:len(head)-4] // drop the three empty strings and the count
	tail := func(parts ...[]byte) []byte { return append(append([]byte(nil), head...), bytes.Join(parts, nil)...) }
	str := func(s string) []byte { return appendString(nil, s) }
	bad["repeated key"] = tail(str(""), str(""), str(""), uv(2), str("k"), str("1"), str("k"), str("2"))
	bad["length past the end"] = tail(str(""), str(""), uv(100), []byte("short"))
	bad["huge count"] = tail(str(""), str(""), str(""), uv(1<<62))
	bad["count beyond the bytes"] = tail(str(""), str(""), str(""), uv(3), str("k"), str("1"))
	bad["overlong varint"] = tail(bytes.Repeat([]byte{0xff}, 11))
	for name, b := range bad {
		if _, err := decodePayload(b, &d); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// The hand-built tail itself is well formed when it is.
	if _, err := decodePayload(tail(str("u"), str(""), str(""), uv(1), str("k"), str("1")), &d); err != nil {
		t.Fatalf("well-formed hand-built payload: %v", err)
	}
}

// FuzzDecodePayload feeds both payload readers arbitrary plaintext (what a
// holder of a key could seal): they must not panic, and whatever the
// current reader accepts must survive an encode and decode unchanged.
func FuzzDecodePayload(f *testing.F) {
	id, rec := samplePayload()
	f.Add(encodePayload(nil, id, rec))
	f.Add(encodePayload(nil, id, &session.Record{}))
	f.Add([]byte(`{"i":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","v":{"a":1},"c":1,"s":2,"ie":3,"ae":4,"n":1}`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var d session.Digest
		decodePayloadV1(append([]byte(nil), b...), &d)
		rec, err := decodePayload(append([]byte(nil), b...), &d)
		if err != nil {
			return
		}
		var d2 session.Digest
		again, err := decodePayload(encodePayload(nil, d, rec), &d2)
		if err != nil {
			t.Fatalf("re-encoded payload refused: %v", err)
		}
		if d2 != d {
			t.Fatal("id changed")
		}
		sameRecord(t, again, rec)
	})
}
