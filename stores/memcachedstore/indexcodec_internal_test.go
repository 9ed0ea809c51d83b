package memcachedstore

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
)

func testIndex(n int) *index {
	now := time.Now()
	x := &index{Entries: []entry{}}
	for i := range n {
		x.Entries = append(x.Entries, entry{Digest: sessiontest.NewDigest(), Created: now.UnixMilli() - int64(i), Expires: -int64(i) << 40, Added: int64(i)})
	}
	return x
}

func TestIndexRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 10, 5000} {
		x := testIndex(n)
		data := encodeIndex(x)
		if len(data) != 1+n*entrySize {
			t.Fatalf("%d entries: %d bytes", n, len(data))
		}
		back, ok := decodeIndex(data)
		if !ok || !reflect.DeepEqual(back, x) {
			t.Fatalf("%d entries came back as %+v, %v", n, back, ok)
		}
		for _, e := range x.Entries {
			if !indexLists(data, e.Digest) {
				t.Fatalf("%d entries: a listed digest is not found", n)
			}
		}
		if indexLists(data, sessiontest.NewDigest()) {
			t.Fatalf("%d entries: an unlisted digest is found", n)
		}
	}
}

// TestIndexRejects: the JSON index of earlier versions, a truncated index
// and an unknown format list nobody.
func TestIndexRejects(t *testing.T) {
	x := testIndex(3)
	data := encodeIndex(x)
	old, _ := json.Marshal(map[string]any{"e": []map[string]any{{"d": x.Entries[0].Digest.String(), "c": 1, "x": 2}}})
	for _, bad := range [][]byte{nil, {}, old, data[:len(data)-1], append([]byte{2}, data[1:]...), append(bytes.Clone(data), 0)} {
		if _, ok := decodeIndex(bad); ok {
			t.Errorf("decodeIndex(%q) accepted", bad)
		}
		if indexLists(bad, x.Entries[0].Digest) {
			t.Errorf("indexLists(%q) found an entry", bad)
		}
	}
}

// FuzzIndexCodecs: indexLists, which reads the item in place, answers as
// decoding it and searching the entries does; what decodes encodes back to
// the same bytes; nothing panics.
func FuzzIndexCodecs(f *testing.F) {
	f.Add(encodeIndex(testIndex(2)), []byte{1, 2, 3})
	f.Add([]byte{indexFormat}, []byte{})
	f.Fuzz(func(t *testing.T, data, digest []byte) {
		var d session.Digest
		copy(d[:], digest)
		x, ok := decodeIndex(data)
		if !ok {
			if indexLists(data, d) {
				t.Fatal("an unreadable index lists a session")
			}
			return
		}
		if !bytes.Equal(encodeIndex(x), data) {
			t.Fatal("a decoded index does not encode back to its bytes")
		}
		for _, e := range x.Entries {
			if !indexLists(data, e.Digest) {
				t.Fatal("indexLists misses a decoded entry")
			}
		}
		want := false
		for _, e := range x.Entries {
			want = want || e.Digest == d
		}
		if indexLists(data, d) != want {
			t.Fatalf("indexLists = %v, the decoded index says %v", !want, want)
		}
	})
}

// jsonIndex is the index of earlier versions, the reference of
// BenchmarkIndexLists.
type jsonIndex struct {
	Entries []struct {
		Digest  string `json:"d"`
		Created int64  `json:"c"`
		Expires int64  `json:"x"`
		Added   int64  `json:"a,omitempty"`
	} `json:"e"`
}

// BenchmarkIndexLists: the check every logged-in read makes, for a user
// with 10 sessions: in place, by decoding, and by decoding the JSON index
// of earlier versions.
func BenchmarkIndexLists(b *testing.B) {
	x := testIndex(10)
	d := x.Entries[7].Digest
	data := encodeIndex(x)
	var ji jsonIndex
	for _, e := range x.Entries {
		ji.Entries = append(ji.Entries, struct {
			Digest  string `json:"d"`
			Created int64  `json:"c"`
			Expires int64  `json:"x"`
			Added   int64  `json:"a,omitempty"`
		}{e.Digest.String(), e.Created, e.Expires, e.Added})
	}
	js, _ := json.Marshal(ji)
	b.Run("in-place", func(b *testing.B) {
		b.ReportMetric(float64(len(data)), "bytes")
		for b.Loop() {
			if !indexLists(data, d) {
				b.Fatal("not found")
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			x, _ := decodeIndex(data)
			found := false
			for _, e := range x.Entries {
				found = found || e.Digest == d
			}
			if !found {
				b.Fatal("not found")
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportMetric(float64(len(js)), "bytes")
		h := d.String()
		for b.Loop() {
			var y jsonIndex
			if err := json.Unmarshal(js, &y); err != nil {
				b.Fatal(err)
			}
			found := false
			for _, e := range y.Entries {
				found = found || e.Digest == h
			}
			if !found {
				b.Fatal("not found")
			}
		}
	})
}
