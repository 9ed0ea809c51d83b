package django

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"github.com/vmihailenco/msgpack/v5"
)

// decodeMsgpack reads the session dictionary django-redis'
// MSGPackSerializer writes (msgpack with str keys), each value turned into
// JSON. Values JSON cannot hold (binary strings, extension types, NaN and
// infinities) are refused.
func decodeMsgpack(data []byte) (*dict, error) {
	if err := checkMsgpack(data); err != nil {
		return nil, err
	}
	dec := msgpack.NewDecoder(bytes.NewReader(data))
	n, err := dec.DecodeMapLen()
	if err != nil || n < 0 {
		return nil, fmt.Errorf("django cache: msgpack value is not a map")
	}
	d := newDict()
	for range n {
		key, err := dec.DecodeString()
		if err != nil {
			return nil, fmt.Errorf("django cache: msgpack key: %w", err)
		}
		v, err := dec.DecodeInterface()
		if err != nil {
			return nil, fmt.Errorf("django cache: msgpack value of %q: %w", key, err)
		}
		if err := jsonable(v); err != nil {
			return nil, fmt.Errorf("django cache: msgpack value of %q: %w", key, err)
		}
		j, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("django cache: msgpack value of %q: %w", key, err)
		}
		d.set(key, j)
	}
	return d, nil
}

// jsonable checks that a decoded msgpack value has a JSON form.
func jsonable(v any) error {
	switch x := v.(type) {
	case nil, bool, string, int8, int16, int32, int64, uint8, uint16, uint32, uint64:
		return nil
	case float32:
		return jsonable(float64(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return ErrNonStandardJSON
		}
		return nil
	case []any:
		for _, e := range x {
			if err := jsonable(e); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		for _, e := range x {
			if err := jsonable(e); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("a %T has no JSON form", v)
}

// encodeMsgpack writes d as MSGPackSerializer would: a map of str keys in
// d's order, JSON integers as msgpack integers, other numbers as floats.
func encodeMsgpack(d *dict) ([]byte, error) {
	var b bytes.Buffer
	enc := msgpack.NewEncoder(&b)
	enc.SetSortMapKeys(true)
	enc.UseCompactInts(true)
	if err := enc.EncodeMapLen(len(d.keys)); err != nil {
		return nil, err
	}
	for _, k := range d.keys {
		dec := json.NewDecoder(bytes.NewReader(d.vals[k]))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("django cache: value of %q: %w", k, err)
		}
		if err := enc.EncodeString(k); err != nil {
			return nil, err
		}
		if err := enc.Encode(numbers(v)); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// numbers turns the json.Numbers of a decoded value into int64 (or uint64)
// when they are integers, float64 otherwise.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		var u uint64
		if _, err := fmt.Sscan(x.String(), &u); err == nil && x.String() == fmt.Sprint(u) {
			return u
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = numbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = numbers(x[k])
		}
	}
	return v
}
