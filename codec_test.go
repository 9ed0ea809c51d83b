package session_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/sessionkit/session"
)

// reference decodes with encoding/json: the behaviour DecodeValues must match.
func reference(data []byte) (map[string][]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for k, v := range obj {
		out[k] = []byte(v)
	}
	return out, nil
}

func TestDecodeValues(t *testing.T) {
	cases := []string{
		`{}`, ` { } `, `null`, `{"a":1}`, `{"a":1,"b":"x"}`,
		`{ "a" : [1, {"x": "}"}] , "b\"q" : "va\\l\"" , "c":null,"d":true,"e":-1.5e3 }`,
		`{"ключ":"значение","🙂":"\u0000"}`, `{"a":1,"a":2}`, `{"\u0041":{"n":[[[]]]}}`,
	}
	// More members than the decoder's stack buffer holds, with escaped keys
	// among plain ones.
	var many strings.Builder
	many.WriteString("{")
	for i := range 40 {
		if i > 0 {
			many.WriteString(",")
		}
		if i%7 == 0 {
			fmt.Fprintf(&many, `"k\u00e9%d":%d`, i, i)
		} else {
			fmt.Fprintf(&many, `"key%d":"v%d"`, i, i)
		}
	}
	cases = append(cases, many.String()+"}")
	for _, c := range cases {
		got, err := session.DecodeValues([]byte(c))
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		want, _ := reference([]byte(c))
		if !sameValues(got, want) {
			t.Fatalf("%s: got %q, want %q", c, got, want)
		}
	}
	for _, bad := range []string{``, `{`, `[1,2]`, `42`, `"s"`, `{"a":}`, `{"a":1,}`, `{a:1}`, "\xff", `true`} {
		if _, err := session.DecodeValues([]byte(bad)); !errors.Is(err, session.ErrCorrupt) {
			t.Fatalf("%q: err %v, want ErrCorrupt", bad, err)
		}
	}
	enc, err := session.EncodeValues(map[string][]byte{"a": []byte(`1`), "k\"ey": []byte(`{"x":[1]}`)})
	if err != nil {
		t.Fatal(err)
	}
	back, err := session.DecodeValues(enc)
	if err != nil || string(back["k\"ey"]) != `{"x":[1]}` || string(back["a"]) != "1" {
		t.Fatalf("round trip %s -> %q %v", enc, back, err)
	}
	if _, err := session.EncodeValues(map[string][]byte{"a": []byte(`not json`)}); err == nil {
		t.Fatal("EncodeValues accepted a value that is not JSON")
	}
}

func sameValues(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		var x, y any
		if json.Unmarshal(v, &x) != nil || json.Unmarshal(b[k], &y) != nil || !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

// FuzzDecodeValues: the stored-record decoder never panics and agrees with
// encoding/json on every input.
func FuzzDecodeValues(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":"\"}"}`, `[1]`, `null`, `{"a":{"b":[1,"]"]}}`, "\xff", ``, `{"\u00e9":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := session.DecodeValues(data)
		want, werr := reference(data)
		if werr != nil {
			if err == nil {
				t.Fatalf("accepted %q which encoding/json rejects: %v", data, werr)
			}
			return
		}
		if err != nil {
			t.Fatalf("rejected %q, which encoding/json accepts: %v", data, err)
		}
		if !sameValues(got, want) {
			t.Fatalf("%q: got %q, want %q", data, got, want)
		}
	})
}

func TestEncodeValuesRoundTrip(t *testing.T) {
	in := map[string][]byte{"a": []byte(`1`), "k\"ey\n": []byte(`{"x":[1, 2]}`), "": []byte(`""`), "é": []byte(` null `)}
	enc, err := session.EncodeValues(in)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := reference(enc)
	got, err := session.DecodeValues(enc)
	if err != nil || !sameValues(got, want) || !sameValues(got, in) {
		t.Fatalf("EncodeValues(%q) = %s, decoded %q, %v", in, enc, got, err)
	}
	if enc, err := session.EncodeValues(nil); err != nil || string(enc) != "{}" {
		t.Fatalf("EncodeValues(nil) = %s, %v", enc, err)
	}
}

// FuzzJSONCodec: the codec's fast paths for strings, ints and bools give
// exactly encoding/json's bytes, values and errors.
func FuzzJSONCodec(f *testing.F) {
	for _, s := range []string{`"plain"`, `"a<b"`, `"\u00e9"`, "\"\xff\"", `42`, `-0`, `01`, `1e3`, `4.2`, `99999999999999999999`, ``, `-`, `null`, `true`, ` 7`} {
		f.Add([]byte(s), s, int64(len(s)))
	}
	f.Fuzz(func(t *testing.T, data []byte, str string, n int64) {
		c := session.JSONCodec{}
		for _, v := range []any{str, int(n), n%2 == 0} {
			got, err := c.Marshal(v)
			want, werr := json.Marshal(v)
			if string(got) != string(want) || (err == nil) != (werr == nil) {
				t.Fatalf("Marshal(%#v) = %q, %v; encoding/json: %q, %v", v, got, err, want, werr)
			}
		}
		var gs, ws string
		gerr, werr := c.Unmarshal(data, &gs), json.Unmarshal(data, &ws)
		if gs != ws || (gerr == nil) != (werr == nil) {
			t.Fatalf("Unmarshal(%q, *string) = %q, %v; encoding/json: %q, %v", data, gs, gerr, ws, werr)
		}
		var gi, wi int
		gerr, werr = c.Unmarshal(data, &gi), json.Unmarshal(data, &wi)
		if gi != wi || (gerr == nil) != (werr == nil) {
			t.Fatalf("Unmarshal(%q, *int) = %d, %v; encoding/json: %d, %v", data, gi, gerr, wi, werr)
		}
	})
}

// reversingCodec stores strings as JSON strings with their characters
// reversed: a codec whose encoding the JSON fast path would misread.
type reversingCodec struct{}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

func (reversingCodec) Marshal(v any) ([]byte, error) {
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("reversingCodec: %T", v)
	}
	return json.Marshal(reverse(s))
}

func (reversingCodec) Unmarshal(data []byte, v any) error {
	p, ok := v.(*string)
	if !ok {
		return fmt.Errorf("reversingCodec: %T", v)
	}
	if err := json.Unmarshal(data, p); err != nil {
		return err
	}
	*p = reverse(*p)
	return nil
}

// Get decodes with the manager's codec, never with the JSON codec's
// shortcuts when another codec is configured.
func TestGetUsesTheConfiguredCodec(t *testing.T) {
	e := newEnv(t, session.WithCodec(reversingCodec{}))
	m := e.m
	var got string
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if r.URL.Path == "/set" {
			if err := s.Set("name", "Ada"); err != nil {
				t.Error(err)
			}
			return
		}
		v, ok, err := session.Get[string](s, "name")
		if err != nil || !ok {
			t.Errorf("Get = %q, %v, %v", v, ok, err)
		}
		got = v
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/set", nil))
	r := httptest.NewRequest("GET", "/get", nil)
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got != "Ada" {
		t.Fatalf("Get with the reversing codec = %q, want %q", got, "Ada")
	}
}

// A value nested as deep as the values object can hold is stored and reads
// back; one level deeper is refused when encoded, instead of being stored
// and then read as a corrupt session (review of issue 24's record codec).
func TestEncodeValuesNestingLimit(t *testing.T) {
	deep := func(n int) []byte { return []byte(strings.Repeat("[", n) + strings.Repeat("]", n)) }
	data, err := session.EncodeValues(map[string][]byte{"k": deep(9999)})
	if err != nil {
		t.Fatal(err)
	}
	if back, err := session.DecodeValues(data); err != nil || len(back["k"]) != 2*9999 {
		t.Fatalf("a value 9,999 levels deep does not read back: %v", err)
	}
	if _, err := session.EncodeValues(map[string][]byte{"k": deep(10000)}); err == nil {
		t.Fatal("a value 10,000 levels deep was encoded; the object holding it is 10,001 deep and reads as corrupt")
	}
}
