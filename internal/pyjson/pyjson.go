// Package pyjson reads and writes the JSON objects Python's json module
// exchanges with the session formats of package interop/flask and
// interop/starlette: values kept as compact JSON, integers exact, Python's
// NaN and Infinity refused, output in ASCII with \u escapes
// (ensure_ascii), keys sorted.
package pyjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrNonStandardJSON reports Python's float specials (NaN, Infinity,
// -Infinity), which Python writes but JSON does not have.
var ErrNonStandardJSON = errors.New("NaN or Infinity, which is not JSON")

// DecodeObject parses a JSON object into its keys' compact JSON values; a
// repeated key keeps its last value, as Python's json does.
func DecodeObject(data []byte) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := DecodeMembers(data, func(key string, value []byte) { out[key] = value })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DecodeMembers parses a JSON object and calls member with each key and
// its value as compact JSON, in the order of the text (numbers are kept
// exactly as written). Text that is not valid UTF-8 is refused, as Python
// refuses it.
func DecodeMembers(data []byte, member func(key string, value []byte)) error {
	if !utf8.Valid(data) {
		// Python decodes the bytes before parsing and fails on them
		// (UnicodeDecodeError); encoding/json would keep them raw in a
		// value.
		return errors.New("pyjson: invalid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return jsonError(data, err)
	}
	if tok != json.Delim('{') {
		return errors.New("pyjson: not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonError(data, err)
		}
		key, ok := tok.(string)
		if !ok {
			return errors.New("pyjson: non-string key")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return jsonError(data, err)
		}
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return jsonError(data, err)
		}
		member(key, b.Bytes())
	}
	if _, err := dec.Token(); err != nil {
		return jsonError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("pyjson: data after the object")
	}
	return nil
}

func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) && (bytes.Contains(data, []byte("NaN")) || bytes.Contains(data, []byte("Infinity"))) {
		return ErrNonStandardJSON
	}
	return fmt.Errorf("pyjson: invalid JSON: %w", err)
}

// EncodeObject writes values as one JSON object with sorted keys, in ASCII
// (EncodeOrdered).
func EncodeObject(values map[string][]byte, spaced bool) []byte {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return EncodeOrdered(keys, values, spaced)
}

// EncodeOrdered writes the members keys of values, in that order, as one
// JSON object in ASCII. spaced uses Python's default separators (", " and
// ": "), between the object's members and inside its values; each key and
// value is written as Python writes it (AppendPython).
func EncodeOrdered(keys []string, values map[string][]byte, spaced bool) []byte {
	comma, colon := ",", ":"
	if spaced {
		comma, colon = ", ", ": "
	}
	b := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			b = append(b, comma...)
		}
		key, _ := json.Marshal(k) // a string always encodes
		b = AppendPython(b, key, spaced)
		b = append(b, colon...)
		b = AppendPython(b, values[k], spaced)
	}
	return append(b, '}')
}

// AppendPython appends the JSON value src (as Go's encoding/json writes
// it) as Python's json.dumps writes the same value with ensure_ascii:
// separators ", " and ": " when spaced (json.dumps' default), "," and ":"
// otherwise (separators=(",", ":"), Django's and Flask's); no blanks
// between tokens; in strings "<", ">" and "&" as themselves (Go writes
// \u003c, \u003e, \u0026), DEL as \u007f and every non-ASCII character
// as a \u escape (astral ones as surrogate pairs); a number with a
// fraction or an exponent as Python's repr of that float (Go's 0.00001 is
// Python's 1e-05, Go's 1.5 stays 1.5; digits beyond a float64's are lost,
// as Python loses them when it reads the number), and Go's -0 (a negative
// zero float) as Python's int 0. Literals, the other integers and the
// other escapes are written alike by both.
func AppendPython(dst, src []byte, spaced bool) []byte {
	inString := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inString {
			switch {
			case c == '\\' && i+1 < len(src):
				if src[i+1] == 'u' && i+5 < len(src) {
					switch string(src[i+2 : i+6]) {
					case "003c", "003C":
						dst = append(dst, '<')
						i += 5
						continue
					case "003e", "003E":
						dst = append(dst, '>')
						i += 5
						continue
					case "0026":
						dst = append(dst, '&')
						i += 5
						continue
					}
				}
				dst = append(dst, c, src[i+1])
				i++
			case c == '"':
				dst = append(dst, c)
				inString = false
			case c == 0x7f:
				dst = appendEscape(dst, 0x7f)
			case c < utf8.RuneSelf:
				dst = append(dst, c)
			default:
				r, n := utf8.DecodeRune(src[i:])
				i += n - 1
				if r > 0xffff {
					r1, r2 := utf16.EncodeRune(r)
					dst = appendEscape(appendEscape(dst, r1), r2)
				} else {
					dst = appendEscape(dst, r)
				}
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
		case '"':
			dst = append(dst, c)
			inString = true
		case ',', ':':
			dst = append(dst, c)
			if spaced {
				dst = append(dst, ' ')
			}
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			end := i + 1
			for end < len(src) && strings.IndexByte("0123456789+-.eE", src[end]) >= 0 {
				end++
			}
			dst = appendNumber(dst, src[i:end])
			i = end - 1
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendNumber appends a JSON number as Python's json.dumps writes the
// value it reads from it: an integer as written (Python's int is exact;
// JSON's only other spelling of one is -0), a
// number with a fraction or an exponent as repr(float) does: the shortest
// digits that read back as the same float64, fixed notation with at least
// one digit after the point when the decimal exponent is from -4 to 15,
// and otherwise d.ddde±XX with at least two exponent digits.
func appendNumber(dst, num []byte) []byte {
	if !bytes.ContainsAny(num, ".eE") {
		if string(num) == "-0" {
			return append(dst, '0') // Python's int("-0")
		}
		return append(dst, num...)
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil {
		// Out of float64's range: written as it came (Go's encoder
		// never writes such a number).
		return append(dst, num...)
	}
	var buf [32]byte
	sci := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	exp, _ := strconv.Atoi(string(sci[bytes.IndexByte(sci, 'e')+1:]))
	if exp < -4 || exp >= 16 {
		return append(dst, sci...)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
	if bytes.IndexByte(dst[start:], '.') < 0 {
		dst = append(dst, '.', '0')
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
