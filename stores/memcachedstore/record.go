package memcachedstore

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/sessionkit/session"
)

// stored is a session item: the record's fields under short names (times
// in Unix milliseconds) and its values as one JSON object.
type stored struct {
	Values    json.RawMessage `json:"v"`
	User      string          `json:"u,omitempty"`
	Auth      int64           `json:"a,omitempty"`
	Created   int64           `json:"c"`
	Seen      int64           `json:"l"`
	IdleMS    int64           `json:"t,omitempty"`
	Idle      int64           `json:"i"`
	Abs       int64           `json:"x"`
	OnClose   bool            `json:"o,omitempty"`
	Version   int64           `json:"n"`
	IP        string          `json:"ip,omitempty"`
	UserAgent string          `json:"ua,omitempty"`
}

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
	return json.Marshal(stored{
		Values: values, User: r.UserID, Auth: ms(r.AuthTime), Created: ms(r.Created), Seen: ms(r.LastSeen),
		IdleMS: r.IdleTimeout.Milliseconds(), Idle: ms(r.IdleExpiry), Abs: ms(r.AbsExpiry), OnClose: r.ExpireOnClose,
		Version: r.Version, IP: r.IP, UserAgent: r.UserAgent,
	})
}

// decodeRecord decodes an item; anything unreadable is session.ErrCorrupt
// (the manager deletes it and treats the request as anonymous).
func decodeRecord(data []byte) (*session.Record, error) {
	var st stored
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%w: %v", session.ErrCorrupt, err)
	}
	values, err := session.DecodeValues(st.Values)
	if err != nil {
		return nil, err
	}
	return &session.Record{
		Values: values, UserID: st.User, AuthTime: fromMS(st.Auth), Created: fromMS(st.Created), LastSeen: fromMS(st.Seen),
		IdleTimeout: time.Duration(st.IdleMS) * time.Millisecond, IdleExpiry: fromMS(st.Idle), AbsExpiry: fromMS(st.Abs),
		ExpireOnClose: st.OnClose, Version: st.Version, IP: st.IP, UserAgent: st.UserAgent,
	}, nil
}
