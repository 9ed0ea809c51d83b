package django

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/sessionkit/session/internal/pyjson"
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

// remove deletes k, keeping the order of the other keys.
func (d *dict) remove(k string) {
	if _, ok := d.vals[k]; !ok {
		return
	}
	delete(d.vals, k)
	d.keys = slices.DeleteFunc(d.keys, func(key string) bool { return key == k })
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

// decodeObject parses a JSON object keeping its keys' order; a repeated
// key keeps its last value, as Python's json does.
func decodeObject(data []byte) (*dict, error) {
	d := newDict()
	if err := pyjson.DecodeMembers(data, d.set); err != nil {
		if errors.Is(err, pyjson.ErrNonStandardJSON) {
			return nil, ErrNonStandardJSON
		}
		return nil, fmt.Errorf("django: invalid session JSON: %w", err)
	}
	return d, nil
}

// encodeSession writes d as Django's JSONSerializer does: compact, keys in
// order, every non-ASCII character escaped as \uXXXX (astral ones as
// surrogate pairs), since Django decodes the bytes as latin-1.
func encodeSession(d *dict) []byte { return pyjson.EncodeOrdered(d.keys, d.vals, false) }

// encodeSpaced writes d as Python's json.dumps does by default (", " and
// ": " between members and inside values), as django-redis'
// JSONSerializer writes. Both write what Python writes for the same values
// (pyjson.AppendPython).
func encodeSpaced(d *dict) []byte { return pyjson.EncodeOrdered(d.keys, d.vals, true) }

// jsonString decodes a JSON string value into *s.
func jsonString(raw []byte, s *string) bool {
	return raw != nil && json.Unmarshal(raw, s) == nil
}

// quote encodes s as a JSON string.
func quote(s string) []byte {
	b, _ := json.Marshal(s) // a string always encodes
	return b
}
