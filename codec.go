package session

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
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
// JSON null decodes as no values. The returned values share data's memory.
//
// It validates data with json.Valid and then splits the object itself:
// decoding into map[string]json.RawMessage costs several times more and sits
// on the path of every request.
func DecodeValues(data []byte) (map[string][]byte, error) {
	if !json.Valid(data) {
		return nil, fmt.Errorf("%w: data is not valid JSON", ErrCorrupt)
	}
	i := skipSpace(data, 0)
	if bytes.HasPrefix(data[i:], []byte("null")) {
		return map[string][]byte{}, nil
	}
	if data[i] != '{' {
		return nil, fmt.Errorf("%w: data is not a JSON object", ErrCorrupt)
	}
	values := make(map[string][]byte, 8)
	i = skipSpace(data, i+1)
	if data[i] == '}' {
		return values, nil
	}
	for {
		// data is valid JSON, so a string key, a colon and a value follow.
		ks := i
		ke := skipString(data, i)
		var key string
		if bytes.IndexByte(data[ks:ke], '\\') >= 0 || !utf8.Valid(data[ks:ke]) {
			// Escapes, or invalid UTF-8 that encoding/json replaces with
			// U+FFFD: let encoding/json decode the key.
			if err := json.Unmarshal(data[ks:ke], &key); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
		} else {
			key = string(data[ks+1 : ke-1])
		}
		i = skipSpace(data, ke)
		i = skipSpace(data, i+1) // the colon
		ve := skipValue(data, i)
		values[key] = data[i:ve:ve]
		i = skipSpace(data, ve)
		if data[i] == '}' {
			return values, nil
		}
		i = skipSpace(data, i+1) // the comma
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the index after the valid JSON value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default:
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}
