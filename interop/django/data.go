package django

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// PickleError is returned for data written by Python's pickle, which this
// package never decodes (unpickling runs code chosen by the data). Source
// names the Python setting that produced it.
type PickleError struct {
	Source string // e.g. "django SESSION_SERIALIZER"
	Hint   string // the setting to change on the Python side
}

func (e *PickleError) Error() string {
	return "django: " + e.Source + " data is a Python pickle, which is never decoded; " + e.Hint
}

// ErrNonStandardJSON: the payload holds what Python's json module writes
// for float specials (NaN, Infinity, -Infinity), which is not JSON.
var ErrNonStandardJSON = errors.New("django: payload holds NaN or Infinity, which is not JSON")

// ErrNotASCII: a payload Django's JSONSerializer wrote is pure ASCII; bytes
// above 0x7f mean another writer, and Django itself would misread them as
// latin-1, so they are refused rather than guessed at.
var ErrNotASCII = errors.New("django: session payload holds non-ASCII bytes, which Django would misread")

// dict is a session dictionary in its keys' insertion order, each value
// held as compact JSON.
type dict struct {
	keys []string
	vals map[string][]byte
}

func newDict() *dict { return &dict{vals: map[string][]byte{}} }

// set stores v under k, appending k when it is new (Python's dict order).
func (d *dict) set(k string, v []byte) {
	if _, ok := d.vals[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.vals[k] = v
}

func (d *dict) get(k string) ([]byte, bool) {
	v, ok := d.vals[k]
	return v, ok
}

// decodeSession parses the JSON object Django's JSONSerializer wrote.
func decodeSession(data []byte) (*dict, error) {
	if len(data) > 0 && data[0] == 0x80 {
		return nil, &PickleError{Source: "django SESSION_SERIALIZER", Hint: `set SESSION_SERIALIZER = "django.contrib.sessions.serializers.JSONSerializer" (the default)`}
	}
	for _, c := range data {
		if c >= 0x80 {
			return nil, ErrNotASCII
		}
	}
	return decodeObject(data)
}

// decodeObject parses a JSON object keeping its keys' order; a repeated key
// keeps its last value, as Python's json does.
func decodeObject(data []byte) (*dict, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(data, err)
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("django: session payload is not a JSON object")
	}
	d := newDict()
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(data, err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("django: session payload has a non-string key")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, jsonError(data, err)
		}
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return nil, jsonError(data, err)
		}
		d.set(key, b.Bytes())
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("django: data after the session object")
	}
	return d, nil
}

// jsonError names Python's float specials, which encoding/json only calls
// invalid characters.
func jsonError(data []byte, err error) error {
	if bytes.Contains(data, []byte("NaN")) || bytes.Contains(data, []byte("Infinity")) {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return ErrNonStandardJSON
		}
	}
	return fmt.Errorf("django: invalid session JSON: %w", err)
}

// encodeSession writes d as Django's JSONSerializer does: compact, keys in
// order, every non-ASCII character escaped as \uXXXX (astral ones as
// surrogate pairs), since Django decodes the bytes as latin-1.
func encodeSession(d *dict) []byte { return encodeObject(d, ",", ":") }

// encodeSpaced writes d as Python's json.dumps does by default (", " and
// ": " between members; values as held), as django-redis' JSONSerializer
// writes.
func encodeSpaced(d *dict) []byte { return encodeObject(d, ", ", ": ") }

func encodeObject(d *dict, comma, colon string) []byte {
	b := []byte{'{'}
	for i, k := range d.keys {
		if i > 0 {
			b = append(b, comma...)
		}
		key, _ := json.Marshal(k) // a string always encodes
		b = appendASCII(b, key)
		b = append(b, colon...)
		b = appendASCII(b, d.vals[k])
	}
	return append(b, '}')
}

// appendASCII appends JSON text with every non-ASCII character written as
// a \u escape; in valid JSON such characters occur only inside strings,
// where the escape means the same character.
func appendASCII(dst, src []byte) []byte {
	for len(src) > 0 {
		c := src[0]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			src = src[1:]
			continue
		}
		r, n := utf8.DecodeRune(src)
		src = src[n:]
		if r > 0xffff {
			r1, r2 := utf16.EncodeRune(r)
			dst = appendEscape(appendEscape(dst, r1), r2)
			continue
		}
		dst = appendEscape(dst, r)
	}
	return dst
}

func appendEscape(dst []byte, r rune) []byte {
	dst = append(dst, '\\', 'u')
	h := strconv.FormatInt(int64(r), 16)
	for range 4 - len(h) {
		dst = append(dst, '0')
	}
	return append(dst, h...)
}

// jsonString decodes a JSON string value into *s.
func jsonString(raw []byte, s *string) bool {
	return raw != nil && json.Unmarshal(raw, s) == nil
}

// quote encodes s as a JSON string.
func quote(s string) []byte {
	b, _ := json.Marshal(s) // a string always encodes
	return b
}
