package redisstore

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

// FuzzDecode: the stored-record decoder never panics, and what it accepts
// round-trips through fields.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{"1764124000000", "1764124000000,0", "1764124000000,-5", "1,", ",1", "1,2,3", "9223372036854775807,1",
		"", "0", "-1", "x", "🙂", "9223372036854775808", "-9223372036854775808"} {
		for _, version := range []string{"3", "", "-1", "x", "9223372036854775808"} {
			f.Add(seed, version, "_o", "1800000", `"v"`)
			f.Add("1764124000000", version, "_o", seed, `"v"`)
			f.Add("1764124000000", "1", "v:k", seed, "")
		}
	}
	f.Fuzz(func(t *testing.T, created, version, field, value, ua string) {
		h := map[string]string{"_m": created, "_l": created, "_i": "1764125800000", "_a": "1764167200000", "_v": version,
			field: value, "_u": "u", "_ua": ua, "v:x": value}
		rec, err := decode(h)
		if err != nil {
			if !errors.Is(err, session.ErrCorrupt) && !errors.Is(err, errTombstone) {
				t.Fatalf("error class %v", err)
			}
			return
		}
		again, err := decode(stringsOf(fields(rec)))
		if err != nil || !reflect.DeepEqual(again, rec) {
			t.Fatalf("round trip of %q: %+v / %+v, %v", h, rec, again, err)
		}
	})
}

func stringsOf(fs []any) map[string]string {
	h := map[string]string{}
	for i := 0; i+1 < len(fs); i += 2 {
		switch v := fs[i+1].(type) {
		case string:
			h[fs[i].(string)] = v
		case []byte:
			h[fs[i].(string)] = string(v)
		case int64:
			h[fs[i].(string)] = strconv.FormatInt(v, 10)
		default:
			panic(fmt.Sprintf("field %v has type %T", fs[i], v))
		}
	}
	return h
}

// The decoded values share one buffer; appending to one must not change
// another.
func TestDecodedValuesAreSeparate(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	rec := &session.Record{Values: map[string][]byte{"a": []byte(`"aa"`), "b": []byte(`"bb"`), "c": []byte(`1`)},
		Created: now, LastSeen: now, IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(time.Hour), Version: 1}
	got, err := decode(stringsOf(fields(rec)))
	if err != nil {
		t.Fatal(err)
	}
	for k := range got.Values {
		_ = append(got.Values[k], 'X')
	}
	for k, v := range rec.Values {
		if string(got.Values[k]) != string(v) {
			t.Fatalf("value %q is %q after appends to the others, want %q", k, got.Values[k], v)
		}
	}
}

// BenchmarkDecode measures decoding the standard session's HGETALL reply.
func BenchmarkDecode(b *testing.B) {
	h := map[string]string{"_m": "1764124000000", "_l": "1764124000000", "_i": "1764125800000", "_a": "1764167200000", "_h": "1764124000000", "_v": "1", "_s": "69", "_u": "42",
		"v:user_id": "42", "v:csrf": `"vz8Dq3Hh1mKjK0sR4tQe7wYb2xN5cL9aP6fG0uI3oZs"`, "v:name": `"Ada Lovelace"`}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decode(h); err != nil {
			b.Fatal(err)
		}
	}
}

// parseInt accepts exactly the decimal int64s strconv.ParseInt accepts
// in base 10, except a leading plus sign, and nothing longer than 19
// digits.
func TestParseInt(t *testing.T) {
	cases := []string{"0", "-0", "7", "-7", "00012", "1795661025939", "-62135596800000",
		"9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809",
		"99999999999999999999", "00000000000000000001", "", "-", "+1", "1-", "1,2", " 1", "1 ", "0x10", "1_000", "١"}
	for i := range 2000 { // and a spread of magnitudes and signs
		n := int64(1) << (i % 63)
		n += int64(i) * 7919
		if i%2 == 1 {
			n = -n
		}
		cases = append(cases, strconv.FormatInt(n, 10))
	}
	for _, s := range cases {
		got, ok := parseInt(s)
		want, err := strconv.ParseInt(s, 10, 64)
		wantOK := err == nil && !strings.HasPrefix(s, "+") && len(strings.TrimPrefix(s, "-")) <= 19
		if ok != wantOK || (ok && got != want) {
			t.Errorf("parseInt(%q) = %d, %v; strconv gives %d, %v", s, got, ok, want, err)
		}
	}
}
