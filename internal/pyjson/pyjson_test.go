package pyjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// SPEC 2.4: the JSON Python's json module writes, read as Python reads it
// and written as it writes it: integers beyond 2^53 exact, float specials
// refused (Python writes NaN and Infinity, JSON has neither), a repeated
// key keeping its last value, non-ASCII text as \u escapes with astral
// characters as surrogate pairs, keys sorted.
func TestDecodeObject(t *testing.T) {
	got, err := DecodeObject([]byte(`{"big": 9007199254740993, "f": [1e+16, 1e-05, -0.0], "s": "Zo\u00eb \ud83d\ude00", "n": {"a": null}, "k": 1, "k": 2}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{
		"big": []byte(`9007199254740993`),
		"f":   []byte(`[1e+16,1e-05,-0.0]`),
		"s":   []byte(`"Zo\u00eb \ud83d\ude00"`),
		"n":   []byte(`{"a":null}`),
		"k":   []byte(`2`),
	}
	if !maps.EqualFunc(got, want, bytes.Equal) {
		t.Fatalf("DecodeObject = %q, want %q", got, want)
	}
	for _, special := range []string{`{"a": NaN}`, `{"a": Infinity}`, `{"a": [-Infinity]}`} {
		if _, err := DecodeObject([]byte(special)); !errors.Is(err, ErrNonStandardJSON) {
			t.Errorf("%s: %v, want ErrNonStandardJSON", special, err)
		}
	}
	for _, bad := range []string{``, `[]`, `"a"`, `{"a": 1} {}`, `{"a": 1`, `{1: 2}`, `{"a": 'b'}`, "{\"a\": \"\xff\"}", "{\"\xc3\": 1}"} {
		if m, err := DecodeObject([]byte(bad)); err == nil {
			t.Errorf("%q accepted: %q", bad, m)
		}
	}
}

func TestEncodeObject(t *testing.T) {
	values := map[string][]byte{"b": []byte(`"Zoë ☃ 😀"`), "a": []byte(`[1,2]`), "é": []byte(`true`)}
	if got, want := string(EncodeObject(values, false)), `{"a":[1,2],"b":"Zo\u00eb \u2603 \ud83d\ude00","\u00e9":true}`; got != want {
		t.Fatalf("compact: %s, want %s", got, want)
	}
	if got, want := string(EncodeObject(values, true)), `{"a": [1, 2], "b": "Zo\u00eb \u2603 \ud83d\ude00", "\u00e9": true}`; got != want {
		t.Fatalf("spaced: %s, want %s", got, want)
	}
}

// FuzzDecodeObject: whatever decodes re-encodes to ASCII that decodes to
// the same members.
func FuzzDecodeObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a": 9007199254740993}`, `{"a": NaN}`, `{"k": 1, "k": 2}`, `{"s": "\ud83d\ude00\u00e9"}`, `{"n": {"x": [1.5e300, -0.0, -0, 1e400]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeObject(data)
		if err != nil {
			return
		}
		out := EncodeObject(m, true)
		for _, c := range out {
			if c >= utf8.RuneSelf {
				t.Fatalf("EncodeObject wrote non-ASCII: %q", out)
			}
		}
		again, err := DecodeObject(out)
		if err != nil {
			t.Fatalf("re-encoded %s: %v", out, err)
		}
		if !maps.EqualFunc(m, again, sameValue) {
			t.Fatalf("round trip of %q: %q, then %q", data, m, again)
		}
		if twice := EncodeObject(again, true); !bytes.Equal(twice, out) {
			t.Fatalf("written again, %s became %s", out, twice)
		}
	})
}

// sameValue reports whether the JSON texts a and b hold the same value as
// Python reads them: strings, keys and literals equal once decoded,
// integers (numbers without a fraction or exponent) equal as written but
// for -0, which is 0, and other numbers equal as float64s.
func sameValue(a, b []byte) bool {
	var x, y any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	if da.Decode(&x) != nil || db.Decode(&y) != nil {
		return false
	}
	return sameDecoded(x, y)
}

func sameDecoded(x, y any) bool {
	switch x := x.(type) {
	case map[string]any:
		y, ok := y.(map[string]any)
		return ok && maps.EqualFunc(x, y, sameDecoded)
	case []any:
		y, ok := y.([]any)
		return ok && slices.EqualFunc(x, y, sameDecoded)
	case json.Number:
		y, ok := y.(json.Number)
		if !ok {
			return false
		}
		intX, intY := !strings.ContainsAny(string(x), ".eE"), !strings.ContainsAny(string(y), ".eE")
		if intX || intY {
			norm := func(n json.Number) string { return strings.Replace(string(n), "-0", "0", 1) }
			return intX && intY && (x == y || norm(x) == "0" && norm(y) == "0")
		}
		fx, errX := strconv.ParseFloat(string(x), 64)
		fy, errY := strconv.ParseFloat(string(y), 64)
		if errX != nil || errY != nil { // beyond float64's range: kept as written
			return x == y
		}
		return fx == fy && math.Signbit(fx) == math.Signbit(fy)
	default:
		return x == y
	}
}

// EncodeObject writes what Python's json.dumps writes for the same values
// (the expected texts are json.dumps' output, with its default separators
// and with separators=(",", ":")): nested values spaced like the top
// level, "<", ">" and "&" as themselves (Go's encoder escapes them), DEL
// and non-ASCII characters as \u escapes. Before, nested values were
// written compact and those characters as Go escaped them.
func TestEncodeObjectAsPython(t *testing.T) {
	values := map[string][]byte{}
	for k, v := range map[string]any{
		"cart": []int{3, 1, 4},
		"m":    map[string]string{"a<b": "x>y&z", "d": "\x7f\x01\n\u2028é😀"},
		"n":    []any{1.5, true, nil},
	} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		values[k] = b
	}
	spaced := `{"cart": [3, 1, 4], "m": {"a<b": "x>y&z", "d": "\u007f\u0001\n\u2028\u00e9\ud83d\ude00"}, "n": [1.5, true, null]}`
	compact := `{"cart":[3,1,4],"m":{"a<b":"x>y&z","d":"\u007f\u0001\n\u2028\u00e9\ud83d\ude00"},"n":[1.5,true,null]}`
	if got := string(EncodeObject(values, true)); got != spaced {
		t.Errorf("spaced:\n got %s\nwant %s", got, spaced)
	}
	if got := string(EncodeObject(values, false)); got != compact {
		t.Errorf("compact:\n got %s\nwant %s", got, compact)
	}
	// A key with those characters too, and a value with blanks between
	// its tokens.
	if got := string(EncodeObject(map[string][]byte{"<&>": []byte(`[ 1 , {"a" : "b"} ]`)}, true)); got != `{"<&>": [1, {"a": "b"}]}` {
		t.Errorf("got %s", got)
	}
}

// Numbers as Python's json.dumps writes them, checked against Debian's
// /usr/bin/python3 on edge cases and random float64s: each number Go's
// encoder writes is written as json.dumps(json.loads(it)) writes it, and
// Python's own text of every float is kept byte for byte. Before, Go's
// 0.00001 went out as Go wrote it (Python writes 1e-05), and Python's
// 1e-05 became Go's text wherever a value was rewritten.
func TestNumbersAsPython(t *testing.T) {
	floats := []float64{0, 1, -1, 0.5, 1.5, 0.1, 1e-4, 1e-5, 1.5e-5, 9.999e-5, 1e15, 1e16, 1.5e16,
		123456789012345.6, 1e20, 1e21, 1.2345678901234568e+20, 5e-324, math.MaxFloat64, -2.5e-7, 100, 3.0,
		math.Copysign(0, -1)}
	rng := rand.New(rand.NewPCG(1, 2))
	for len(floats) < 3000 {
		var f float64
		switch len(floats) % 3 {
		case 0:
			f = math.Float64frombits(rng.Uint64())
		case 1:
			f = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(44)-22))
		default:
			f = float64(rng.IntN(2000000)-1000000) / math.Pow(10, float64(rng.IntN(9)))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		floats = append(floats, f)
	}
	var in bytes.Buffer
	goText := make([][]byte, len(floats))
	for i, f := range floats {
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		goText[i] = b
		in.Write(b)
		in.WriteByte('\n')
	}
	const script = `import json, sys
for line in sys.stdin:
    v = json.loads(line)
    print(json.dumps(v, separators=(",", ":")), json.dumps(float(v)))
`
	cmd := exec.Command("/usr/bin/python3", "-c", script)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("/usr/bin/python3: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(floats) {
		t.Fatalf("python answered %d lines for %d numbers", len(lines), len(floats))
	}
	for i, line := range lines {
		fromGo, pyFloat, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("python line %q", line)
		}
		if got := string(AppendPython(nil, goText[i], false)); got != fromGo {
			t.Errorf("%v: Go wrote %s, AppendPython %s, Python %s", floats[i], goText[i], got, fromGo)
		}
		if got := string(AppendPython(nil, []byte(pyFloat), true)); got != pyFloat {
			t.Errorf("Python's %s became %s", pyFloat, got)
		}
	}
	// Inside containers and next to other tokens.
	if got := string(AppendPython(nil, []byte(`{"a":[0.00001,-1e+21,2],"b":1.0}`), true)); got != `{"a": [1e-05, -1e+21, 2], "b": 1.0}` {
		t.Errorf("got %s", got)
	}
}
