package memcachedstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/sessionkit/session"
)

// A session item is the record in a compact binary form:
//
//	byte     recordFormat
//	uvarint  flags (flagExpireOnClose)
//	varint   created, auth time, last seen, idle expiry, absolute expiry
//	         (Unix ms, 0 for the zero time), idle timeout (ms), version
//	uvarint  length, then the bytes: user id, IP, user agent
//	rest     the values as one JSON object (session.EncodeValues)
//
// Every read of a session decodes one, so the form is the cheapest to
// decode that keeps the values as the other stores keep them (one JSON
// object): the JSON record of earlier versions took 4.7-7.1 µs to decode
// with encoding/json, more than half of the store's time over the raw get;
// this form takes 0.9-1.3 µs, the values' object included
// (BenchmarkDecodeRecord). FuzzRecordCodecs checks that no input panics,
// that what decodes re-encodes to the same record, and that a record comes
// back from this form as from the JSON one (its values byte for byte as
// they were given, where encoding/json rewrote them). An item in the JSON
// form reads as corrupt (the manager deletes it: its user logs in again).
const recordFormat = 0x01

const flagExpireOnClose = 1

// errBadRecord is what decodeRecord wraps for an item it cannot read.
var errBadRecord = errors.New("not a session record of this store")

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func encodeRecord(r *session.Record) ([]byte, error) {
	values, err := session.EncodeValues(r.Values)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 0, 1+binary.MaxVarintLen64*8+3*binary.MaxVarintLen32+len(r.UserID)+len(r.IP)+len(r.UserAgent)+len(values))
	buf = append(buf, recordFormat)
	var flags uint64
	if r.ExpireOnClose {
		flags |= flagExpireOnClose
	}
	buf = binary.AppendUvarint(buf, flags)
	for _, n := range [...]int64{ms(r.Created), ms(r.AuthTime), ms(r.LastSeen), ms(r.IdleExpiry), ms(r.AbsExpiry),
		r.IdleTimeout.Milliseconds(), r.Version} {
		buf = binary.AppendVarint(buf, n)
	}
	for _, s := range [...]string{r.UserID, r.IP, r.UserAgent} {
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	return append(buf, values...), nil
}

// decodeRecord decodes an item; anything unreadable is session.ErrCorrupt
// (the manager deletes it and treats the request as anonymous).
func decodeRecord(data []byte) (*session.Record, error) {
	rec, err := decodeBinary(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", session.ErrCorrupt, err)
	}
	return rec, nil
}

func decodeBinary(data []byte) (*session.Record, error) {
	if len(data) == 0 || data[0] != recordFormat {
		return nil, errBadRecord
	}
	rest := data[1:]
	flags, n := binary.Uvarint(rest)
	if n <= 0 || flags&^flagExpireOnClose != 0 {
		return nil, errBadRecord
	}
	rest = rest[n:]
	var nums [7]int64
	for i := range nums {
		v, n := binary.Varint(rest)
		if n <= 0 {
			return nil, errBadRecord
		}
		nums[i], rest = v, rest[n:]
	}
	idle := nums[5]
	if idle < 0 || idle > int64(time.Duration(1<<63-1)/time.Millisecond) {
		return nil, fmt.Errorf("%w: idle timeout %d ms out of range", errBadRecord, idle)
	}
	var strs [3]string
	for i := range strs {
		l, n := binary.Uvarint(rest)
		if n <= 0 || l > uint64(len(rest)-n) {
			return nil, errBadRecord
		}
		strs[i], rest = string(rest[n:n+int(l)]), rest[n+int(l):]
	}
	values, err := session.DecodeValues(rest)
	if err != nil {
		return nil, err
	}
	return &session.Record{
		Values: values, UserID: strs[0], AuthTime: fromMS(nums[1]), Created: fromMS(nums[0]), LastSeen: fromMS(nums[2]),
		IdleTimeout: time.Duration(idle) * time.Millisecond, IdleExpiry: fromMS(nums[3]), AbsExpiry: fromMS(nums[4]),
		ExpireOnClose: flags&flagExpireOnClose != 0, Version: nums[6], IP: strs[1], UserAgent: strs[2],
	}, nil
}
