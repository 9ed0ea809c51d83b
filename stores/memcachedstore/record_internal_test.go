package memcachedstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

// jsonRecord is the JSON form this store used before the binary one, kept
// here as the reference the binary form is compared with (FuzzRecordCodecs)
// and measured against (BenchmarkDecodeRecord).
type jsonRecord struct {
	Values    json.RawMessage `json:"v"`
	User      string          `json:"u,omitempty"`
	Auth      int64           `json:"a,omitempty"`
	Created   int64           `json:"c"`
	Seen      int64           `json:"l"`
	IdleMS    int64           `json:"t,omitempty"`
	Idle      int64           `json:"i"`
	Abs       int64           `json:"x"`
	OnClose   bool            `json:"o,omitempty"`
	Version   int64           `json:"n"`
	IP        string          `json:"ip,omitempty"`
	UserAgent string          `json:"ua,omitempty"`
}

func encodeJSON(r *session.Record) ([]byte, error) {
	values, err := session.EncodeValues(r.Values)
	if err != nil {
		return nil, err
	}
	return json.Marshal(jsonRecord{
		Values: values, User: r.UserID, Auth: ms(r.AuthTime), Created: ms(r.Created), Seen: ms(r.LastSeen),
		IdleMS: r.IdleTimeout.Milliseconds(), Idle: ms(r.IdleExpiry), Abs: ms(r.AbsExpiry), OnClose: r.ExpireOnClose,
		Version: r.Version, IP: r.IP, UserAgent: r.UserAgent,
	})
}

func decodeJSON(data []byte) (*session.Record, error) {
	var st jsonRecord
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, err
	}
	values, err := session.DecodeValues(st.Values)
	if err != nil {
		return nil, err
	}
	return &session.Record{
		Values: values, UserID: st.User, AuthTime: fromMS(st.Auth), Created: fromMS(st.Created), LastSeen: fromMS(st.Seen),
		IdleTimeout: time.Duration(st.IdleMS) * time.Millisecond, IdleExpiry: fromMS(st.Idle), AbsExpiry: fromMS(st.Abs),
		ExpireOnClose: st.OnClose, Version: st.Version, IP: st.IP, UserAgent: st.UserAgent,
	}, nil
}

// benchRecord is a logged-in session with the benchmarks' three values.
func benchRecord() *session.Record {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return &session.Record{
		Values: map[string][]byte{"user_id": []byte("42"), "csrf": []byte(`"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"`), "name": []byte(`"Ada Lovelace"`)},
		UserID: "user-42", AuthTime: now, Created: now, LastSeen: now, IdleExpiry: now.Add(30 * time.Minute), AbsExpiry: now.Add(12 * time.Hour),
		Version: 3, IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
	}
}

func TestRecordRoundTrip(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	records := []*session.Record{
		benchRecord(),
		{Values: map[string][]byte{}, Created: now, LastSeen: now, IdleExpiry: now, AbsExpiry: now, Version: 1},
		{Values: map[string][]byte{"k": []byte(`{"nested":[1,2,"\u00e9"]}`), "ключ": []byte(`"значение"`)},
			Created: time.UnixMilli(1).UTC(), LastSeen: time.UnixMilli(-5).UTC(), IdleExpiry: now, AbsExpiry: now.Add((1 << 40) * time.Millisecond),
			IdleTimeout: 720 * time.Hour, ExpireOnClose: true, Version: 1 << 62,
			UserID: strings.Repeat("u", 300), UserAgent: strings.Repeat("a", 1000)},
	}
	for i, rec := range records {
		data, err := encodeRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeRecord(data)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, rec) {
			t.Errorf("record %d came back as\n%+v\nwant\n%+v", i, got, rec)
		}
	}
}

// TestDecodeRecordRejects: the JSON form of earlier versions, every
// truncation of a record and flags or numbers out of range are
// session.ErrCorrupt, never a record.
func TestDecodeRecordRejects(t *testing.T) {
	data, err := encodeRecord(benchRecord())
	if err != nil {
		t.Fatal(err)
	}
	old, err := encodeJSON(benchRecord())
	if err != nil {
		t.Fatal(err)
	}
	bad := [][]byte{nil, {}, old, {recordFormat, 2}, {recordFormat, 0x80}}
	for i := range len(data) { // the values' "}" ends the record
		bad = append(bad, data[:i])
	}
	idle := append([]byte{recordFormat, 0}, 0, 0, 0, 0, 0, 1 /* idle timeout -1 */, 0, 0, 0, 0, '{', '}')
	bad = append(bad, idle)
	for _, b := range bad {
		if rec, err := decodeRecord(b); !errors.Is(err, session.ErrCorrupt) {
			t.Errorf("decodeRecord(%q) = %+v, %v; want ErrCorrupt", b, rec, err)
		}
	}
}

// FuzzRecordCodecs: no input makes decodeRecord panic; what it decodes
// encodes back to the same record; and a record built from the input
// comes back from the binary form as from the JSON form this store used
// before (see sameRecord).
func FuzzRecordCodecs(f *testing.F) {
	data, err := encodeRecord(benchRecord())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data, "user", "k", []byte(`"v"`), int64(1764500000000), int64(5), true)
	f.Add([]byte{recordFormat, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '{', '}'}, "", "", []byte("1"), int64(0), int64(-1), false)
	f.Fuzz(func(t *testing.T, data []byte, user, key string, value []byte, at, version int64, onClose bool) {
		if rec, err := decodeRecord(data); err == nil {
			again, err := encodeRecord(rec)
			if err != nil {
				t.Fatalf("a decoded record does not encode: %v", err)
			}
			back, err := decodeRecord(again)
			if err != nil || !reflect.DeepEqual(back, rec) {
				t.Fatalf("decoded %+v, re-encoded and decoded %+v, %v", rec, back, err)
			}
		}
		rec := &session.Record{Values: map[string][]byte{key: value}, UserID: user, Created: fromMS(at), AuthTime: fromMS(at / 2),
			LastSeen: fromMS(at), IdleExpiry: fromMS(at + version), AbsExpiry: fromMS(at ^ version), ExpireOnClose: onClose,
			IdleTimeout: time.Duration(max(version, 0)%(1<<40)) * time.Millisecond, Version: version, IP: key, UserAgent: user}
		bin, berr := encodeRecord(rec)
		js, jerr := encodeJSON(rec)
		if (berr == nil) != (jerr == nil) {
			t.Fatalf("binary encoding error %v, JSON encoding error %v", berr, jerr)
		}
		if berr != nil {
			return
		}
		fromBin, err := decodeRecord(bin)
		if err != nil {
			t.Fatalf("binary record does not decode: %v", err)
		}
		fromJSON, err := decodeJSON(js)
		if err != nil {
			return // strings that are not UTF-8 do not survive JSON: nothing to compare
		}
		if fromJSON.UserID != user || fromJSON.IP != key {
			return // the same: JSON replaced invalid UTF-8
		}
		if !sameRecord(fromBin, fromJSON) {
			t.Fatalf("binary form decodes to\n%+v\nthe JSON form to\n%+v", fromBin, fromJSON)
		}
	})
}

// sameRecord compares a record from the binary form (a) with one from the
// JSON form (b): encoding/json rewrote b's values as it wrote them
// (compacted, "&" as "\u0026"), where the binary form keeps them as they
// were, so a's values go through the same rewriting first.
func sameRecord(a, b *session.Record) bool {
	ac, bc := *a, *b
	ac.Values, bc.Values = nil, nil
	if !reflect.DeepEqual(ac, bc) || len(a.Values) != len(b.Values) {
		return false
	}
	for k, av := range a.Values {
		rewritten, err := json.Marshal(json.RawMessage(av))
		if bv, ok := b.Values[k]; !ok || err != nil || !bytes.Equal(rewritten, bv) {
			return false
		}
	}
	return true
}

// BenchmarkDecodeRecord: one read's decoding, the binary form against the
// JSON form this store used before.
func BenchmarkDecodeRecord(b *testing.B) {
	rec := benchRecord()
	bin, err := encodeRecord(rec)
	if err != nil {
		b.Fatal(err)
	}
	js, err := encodeJSON(rec)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("binary", func(b *testing.B) {
		b.ReportAllocs()
		b.ReportMetric(float64(len(bin)), "bytes")
		for b.Loop() {
			if _, err := decodeRecord(bin); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		b.ReportMetric(float64(len(js)), "bytes")
		for b.Loop() {
			if _, err := decodeJSON(js); err != nil {
				b.Fatal(err)
			}
		}
	})
}
