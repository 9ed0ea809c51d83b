package cookiestore

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sessionkit/session"
)

// Format version 1 carried the payload as JSON. This package no longer
// seals it, but still opens such cookies, and Open asks for them to be
// re-sealed in the current format, so sessions survive the upgrade. The
// reader can be removed once every version-1 cookie is past its absolute
// deadline.

// decodePayloadV1 parses a version-1 (JSON) payload. The plaintext has
// passed authentication, but it is parsed as strictly as client input.
func decodePayloadV1(plain []byte, id *session.Digest) (*session.Record, error) {
	rec := &session.Record{}
	var auth int64
	hasID := false
	err := session.ForEachValue(plain, func(k string, raw []byte) error {
		var err error
		switch k {
		case "i":
			hasID = true
			// A quoted base64 string, which never needs JSON escapes.
			var b [len(id) + 1]byte
			n := 0
			if len(raw) != 2+base64.StdEncoding.EncodedLen(len(id)) || raw[0] != '"' {
				err = errors.New("bad id")
			} else if n, err = base64.StdEncoding.Decode(b[:], raw[1:len(raw)-1]); err == nil && n != len(id) {
				err = errors.New("bad id")
			}
			copy(id[:], b[:n])
		case "v":
			rec.Values, err = session.DecodeValues(raw)
		case "u":
			rec.UserID, err = jsonString(raw)
		case "ip":
			rec.IP, err = jsonString(raw)
		case "ua":
			rec.UserAgent, err = jsonString(raw)
		case "oc":
			rec.ExpireOnClose = string(raw) == "true"
		case "a":
			auth, err = strconv.ParseInt(string(raw), 10, 64)
		case "c", "s", "it", "ie", "ae", "n":
			var v int64
			if v, err = strconv.ParseInt(string(raw), 10, 64); err == nil {
				switch k {
				case "c":
					rec.Created = time.UnixMilli(v).UTC()
				case "s":
					rec.LastSeen = time.UnixMilli(v).UTC()
				case "it":
					rec.IdleTimeout = time.Duration(v) * time.Millisecond
				case "ie":
					rec.IdleExpiry = time.UnixMilli(v).UTC()
				case "ae":
					rec.AbsExpiry = time.UnixMilli(v).UTC()
				case "n":
					rec.Version = v
				}
			}
		}
		if err != nil {
			return fmt.Errorf("field %s: %w", k, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !hasID {
		return nil, errors.New("no session id")
	}
	if rec.Values == nil {
		rec.Values = map[string][]byte{}
	}
	if auth != 0 {
		rec.AuthTime = time.UnixMilli(auth).UTC()
	}
	return rec, nil
}

// jsonString decodes a JSON string, without encoding/json when it has no
// escapes.
func jsonString(raw []byte) (string, error) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}
