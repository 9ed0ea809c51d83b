package session

import (
	"encoding/json"
	"fmt"
)

// Codec encodes and decodes individual session values. Each key is encoded on
// its own, so a request that changes one key writes only that key, and a
// value is decoded lazily into the type the caller asks for.
//
// A Codec must never decode into types chosen by the encoded data (as gob
// with registered interfaces, or PHP/Java serialization, do): that turns a
// forged or corrupted store record into code execution.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSONCodec is the default Codec: encoding/json, which decodes only into the
// type the caller provides.
type JSONCodec struct{}

// Marshal encodes v as JSON.
func (JSONCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes JSON data into v.
func (JSONCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// EncodeValues encodes a record's values as one JSON object, the form SQL
// stores keep in their data column. Every value must itself be valid JSON,
// which the default codec guarantees.
func EncodeValues(values map[string][]byte) ([]byte, error) {
	if len(values) == 0 {
		return []byte("{}"), nil
	}
	obj := make(map[string]json.RawMessage, len(values))
	for k, v := range values {
		obj[k] = v
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("session: encoding values as a JSON object (does the codec produce JSON?): %w", err)
	}
	return b, nil
}

// DecodeValues decodes the JSON object written by EncodeValues. Anything
// else (invalid JSON, an array, a number) is an error wrapping ErrCorrupt.
func DecodeValues(data []byte) (map[string][]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("%w: data is not a JSON object: %v", ErrCorrupt, err)
	}
	values := make(map[string][]byte, len(obj))
	for k, v := range obj {
		if v == nil {
			continue
		}
		values[k] = []byte(v)
	}
	return values, nil
}
