package session

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
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

// Marshal encodes v as JSON, byte for byte as encoding/json does. Plain
// strings, ints and bools, the usual session values, skip its reflection.
func (JSONCodec) Marshal(v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		if plainString(x) {
			b := make([]byte, 0, len(x)+2)
			return append(append(append(b, '"'), x...), '"'), nil
		}
	case int:
		return strconv.AppendInt(nil, int64(x), 10), nil
	case bool:
		return strconv.AppendBool(nil, x), nil
	}
	return json.Marshal(v)
}

// Unmarshal decodes JSON data into v, exactly as encoding/json does. A
// plain JSON string into a *string, or an integer into an *int, skips its
// reflection.
func (JSONCodec) Unmarshal(data []byte, v any) error {
	switch p := v.(type) {
	case *string:
		if len(data) >= 2 && data[0] == '"' && data[len(data)-1] == '"' && plainString(string(data[1:len(data)-1])) {
			*p = string(data[1 : len(data)-1])
			return nil
		}
	case *int:
		if len(data) > 0 && scanNumber(data, 0) == len(data) && !bytes.ContainsAny(data, ".eE") {
			if i, err := strconv.ParseInt(string(data), 10, strconv.IntSize); err == nil {
				*p = int(i)
				return nil
			}
		}
	}
	return json.Unmarshal(data, v)
}

// plainString reports whether s is printable ASCII that encoding/json
// writes unchanged between quotes (it escapes the quote, the backslash,
// '<', '>' and '&').
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// EncodeValues encodes a record's values as one JSON object, the form SQL
// stores keep in their data column. Every value must itself be valid JSON,
// which the default codec guarantees.
func EncodeValues(values map[string][]byte) ([]byte, error) {
	size := 2
	for k, v := range values {
		size += len(k) + len(v) + 4
	}
	return appendValues(make([]byte, 0, size), values)
}

// appendValues appends values to dst as one JSON object (EncodeValues'
// form), keys in no particular order. A value that is not valid JSON is an
// error naming its key.
func appendValues(dst []byte, values map[string][]byte) ([]byte, error) {
	dst = append(dst, '{')
	first := true
	for k, v := range values {
		if !validJSON(v) {
			return nil, fmt.Errorf("session: the value of %q is not JSON (does the codec produce JSON?)", k)
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		dst = append(dst, v...)
	}
	return append(dst, '}'), nil
}

// appendJSONString appends s to dst as a JSON string. Each run of invalid
// UTF-8 bytes becomes one U+FFFD (encoding/json writes one per byte).
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		if c == '"' || c == '\\' {
			dst = append(dst, '\\', c)
		} else {
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// DecodeValues decodes the JSON object written by EncodeValues. Anything
// else (invalid JSON, an array, a number) is an error wrapping ErrCorrupt.
// JSON null decodes as no values. The returned values share data's memory.
func DecodeValues(data []byte) (map[string][]byte, error) {
	values := make(map[string][]byte, 8)
	err := ForEachValue(data, func(key string, value []byte) error {
		values[key] = value
		return nil
	})
	if err != nil {
		return nil, err
	}
	return values, nil
}

// ForEachValue calls fn with each member of the JSON object data, in
// order, and stops at the first error fn returns. It accepts exactly what
// encoding/json accepts (JSON null being an object without members); on
// anything else it returns an error wrapping ErrCorrupt, possibly after
// fn has seen the members before the fault: the object is validated and
// split in one pass, as this sits on the path of every request. The values
// share data's memory; a key with escapes or invalid UTF-8 is decoded as
// encoding/json decodes it.
func ForEachValue(data []byte, fn func(key string, value []byte) error) error {
	i := skipSpace(data, 0)
	switch {
	case i < len(data) && data[i] == '{':
	case i+4 <= len(data) && string(data[i:i+4]) == "null" && skipSpace(data, i+4) == len(data):
		return nil
	case validJSON(data):
		return fmt.Errorf("%w: data is not a JSON object", ErrCorrupt)
	default:
		return errInvalidJSON
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		i++
	} else {
		for {
			if i >= len(data) || data[i] != '"' {
				return errInvalidJSON
			}
			ke := scanString(data, i)
			if ke < 0 {
				return errInvalidJSON
			}
			var key string
			if raw := data[i+1 : ke-1]; bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
				key = string(raw)
			} else if err := json.Unmarshal(data[i:ke], &key); err != nil {
				return fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
			i = skipSpace(data, ke)
			if i >= len(data) || data[i] != ':' {
				return errInvalidJSON
			}
			vs := skipSpace(data, i+1)
			ve := scanJSON(data, vs, 1)
			if ve < 0 {
				return errInvalidJSON
			}
			if err := fn(key, data[vs:ve:ve]); err != nil {
				return err
			}
			i = skipSpace(data, ve)
			if i < len(data) && data[i] == '}' {
				i++
				break
			}
			if i >= len(data) || data[i] != ',' {
				return errInvalidJSON
			}
			i = skipSpace(data, i+1)
		}
	}
	if skipSpace(data, i) != len(data) {
		return errInvalidJSON
	}
	return nil
}

var errInvalidJSON = fmt.Errorf("%w: data is not valid JSON", ErrCorrupt)
