package django

import (
	"encoding/binary"
	"errors"
)

// errMsgpackShape reports msgpack data whose declared lengths exceed the
// data, nest too deeply, or use a type a session value cannot have.
var errMsgpackShape = errors.New("django cache: malformed msgpack")

// checkMsgpack walks data before the decoder sees it: every declared
// length of a string, binary, array or map must fit in the bytes that are
// left (so a few bytes cannot make the decoder allocate gigabytes), and
// nesting stays under 64 levels.
func checkMsgpack(data []byte) error {
	end, err := skipMsgpack(data, 0, 0)
	if err != nil {
		return err
	}
	if end != len(data) {
		return errMsgpackShape
	}
	return nil
}

// skipMsgpack returns the offset after the value at i.
func skipMsgpack(data []byte, i, depth int) (int, error) {
	if depth > 64 || i >= len(data) {
		return 0, errMsgpackShape
	}
	c := data[i]
	i++
	need := func(n int) (int, error) {
		if n < 0 || n > len(data)-i {
			return 0, errMsgpackShape
		}
		return i + n, nil
	}
	length := func(size int) (int, error) {
		if size > len(data)-i {
			return 0, errMsgpackShape
		}
		var n uint64
		switch size {
		case 1:
			n = uint64(data[i])
		case 2:
			n = uint64(binary.BigEndian.Uint16(data[i:]))
		case 4:
			n = uint64(binary.BigEndian.Uint32(data[i:]))
		}
		i += size
		if n > uint64(len(data)-i) {
			return 0, errMsgpackShape
		}
		return int(n), nil
	}
	items := func(n, per int) (int, error) {
		if n*per > len(data)-i {
			return 0, errMsgpackShape
		}
		var err error
		for range n * per {
			if i, err = skipMsgpack(data, i, depth+1); err != nil {
				return 0, err
			}
		}
		return i, nil
	}
	switch {
	case c <= 0x7f || c >= 0xe0: // positive and negative fixint
		return i, nil
	case c >= 0x80 && c <= 0x8f: // fixmap
		return items(int(c&0x0f), 2)
	case c >= 0x90 && c <= 0x9f: // fixarray
		return items(int(c&0x0f), 1)
	case c >= 0xa0 && c <= 0xbf: // fixstr
		return need(int(c & 0x1f))
	}
	switch c {
	case 0xc0, 0xc2, 0xc3: // nil, false, true
		return i, nil
	case 0xcc, 0xd0:
		return need(1)
	case 0xcd, 0xd1:
		return need(2)
	case 0xca, 0xce, 0xd2:
		return need(4)
	case 0xcb, 0xcf, 0xd3:
		return need(8)
	case 0xd9, 0xc4: // str8, bin8
		n, err := length(1)
		if err != nil {
			return 0, err
		}
		return need(n)
	case 0xda, 0xc5: // str16, bin16
		n, err := length(2)
		if err != nil {
			return 0, err
		}
		return need(n)
	case 0xdb, 0xc6: // str32, bin32
		n, err := length(4)
		if err != nil {
			return 0, err
		}
		return need(n)
	case 0xdc, 0xde: // array16, map16
		n, err := length(2)
		if err != nil {
			return 0, err
		}
		return items(n, map[byte]int{0xdc: 1, 0xde: 2}[c])
	case 0xdd, 0xdf: // array32, map32
		n, err := length(4)
		if err != nil {
			return 0, err
		}
		return items(n, map[byte]int{0xdd: 1, 0xdf: 2}[c])
	}
	return 0, errMsgpackShape // extension types and the unused code
}
