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
	if unmarshalPlain(data, v) {
		return nil
	}
	return json.Unmarshal(data, v)
}

// unmarshalPlain decodes the common cases without encoding/json: a string
// that needs no unescaping into *string, an integer into *int. It reports
// false, leaving v untouched, for anything else. It does not keep v, so a
// caller's variable behind v can stay on the stack.
func unmarshalPlain(data []byte, v any) bool {
	switch p := v.(type) {
	case *string:
		if len(data) >= 2 && data[0] == '"' && data[len(data)-1] == '"' && plainString(string(data[1:len(data)-1])) {
			*p = string(data[1 : len(data)-1])
			return true
		}
	case *int:
		if len(data) > 0 && scanNumber(data, 0) == len(data) && !bytes.ContainsAny(data, ".eE") {
			if i, err := strconv.ParseInt(string(data), 10, strconv.IntSize); err == nil {
				*p = int(i)
				return true
			}
		}
	}
	return false
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
		if !validMember(v) {
			return nil, fmt.Errorf("session: the value of %q is not JSON (does the codec produce JSON?), or is nested more than %d levels deep", k, maxJSONDepth-1)
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
// JSON null decodes as no values. The returned values share data's memory;
// the keys share one allocation.
func DecodeValues(data []byte) (map[string][]byte, error) {
	var stack [16]member
	members, err := scanObject(data, stack[:0])
	if err != nil {
		return nil, err
	}
	size := 0
	for _, m := range members {
		if m.plain {
			size += m.ke - m.ks
		}
	}
	var sb strings.Builder
	sb.Grow(size)
	for _, m := range members {
		if m.plain {
			sb.Write(data[m.ks:m.ke])
		}
	}
	keys := sb.String()
	values := make(map[string][]byte, max(len(members), 1))
	for _, m := range members {
		var key string
		if m.plain {
			key, keys = keys[:m.ke-m.ks], keys[m.ke-m.ks:]
		} else if key, err = m.key(data); err != nil {
			return nil, err
		}
		values[key] = data[m.vs:m.ve:m.ve]
	}
	return values, nil
}

// ForEachValue calls fn with each member of the JSON object data, in
// order, and stops at the first error fn returns. It accepts exactly what
// encoding/json accepts (JSON null being an object without members); on
// anything else it returns an error wrapping ErrCorrupt before fn sees any
// member. The values share data's memory; a key with escapes or invalid
// UTF-8 is decoded as encoding/json decodes it.
func ForEachValue(data []byte, fn func(key string, value []byte) error) error {
	var stack [16]member
	members, err := scanObject(data, stack[:0])
	if err != nil {
		return err
	}
	for _, m := range members {
		key, err := m.key(data)
		if err != nil {
			return err
		}
		if err := fn(key, data[m.vs:m.ve:m.ve]); err != nil {
			return err
		}
	}
	return nil
}

// member locates one member of a JSON object: the key's bytes between its
// quotes, data[ks:ke], and the value, data[vs:ve]. plain reports a key
// without escapes and of valid UTF-8, whose bytes are the key itself.
type member struct {
	ks, ke, vs, ve int
	plain          bool
}

// key returns the member's key as encoding/json decodes it.
func (m member) key(data []byte) (string, error) {
	if m.plain {
		return string(data[m.ks:m.ke]), nil
	}
	var key string
	if err := json.Unmarshal(data[m.ks-1:m.ke+1], &key); err != nil {
		return "", fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return key, nil
}

// scanObject validates the JSON object data and appends its members to
// members, in order, in one pass: this sits on the path of every request.
// JSON null is an object without members.
func scanObject(data []byte, members []member) ([]member, error) {
	i := skipSpace(data, 0)
	switch {
	case i < len(data) && data[i] == '{':
	case i+4 <= len(data) && string(data[i:i+4]) == "null" && skipSpace(data, i+4) == len(data):
		return members, nil
	case validJSON(data):
		return nil, fmt.Errorf("%w: data is not a JSON object", ErrCorrupt)
	default:
		return nil, errInvalidJSON
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		i++
	} else {
		for {
			if i >= len(data) || data[i] != '"' {
				return nil, errInvalidJSON
			}
			ke := scanString(data, i)
			if ke < 0 {
				return nil, errInvalidJSON
			}
			raw := data[i+1 : ke-1]
			m := member{ks: i + 1, ke: ke - 1, plain: bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw)}
			i = skipSpace(data, ke)
			if i >= len(data) || data[i] != ':' {
				return nil, errInvalidJSON
			}
			m.vs = skipSpace(data, i+1)
			m.ve = scanJSON(data, m.vs, 1)
			if m.ve < 0 {
				return nil, errInvalidJSON
			}
			members = append(members, m)
			i = skipSpace(data, m.ve)
			if i < len(data) && data[i] == '}' {
				i++
				break
			}
			if i >= len(data) || data[i] != ',' {
				return nil, errInvalidJSON
			}
			i = skipSpace(data, i+1)
		}
	}
	if skipSpace(data, i) != len(data) {
		return nil, errInvalidJSON
	}
	return members, nil
}

var errInvalidJSON = fmt.Errorf("%w: data is not valid JSON", ErrCorrupt)
