package session

import "fmt"

// Pop returns the value under key decoded into T and removes it, in one
// step (scs's Pop*, Django's pop): for values read once, such as a
// redirect target or a one-time code. It reports whether the key was
// present; like Delete, it returns ErrCommitted after the response header
// was written. A value that cannot be decoded into T is removed all the
// same (the error says so): read-once values are read once.
func Pop[T any](s *Session, key string) (T, bool, error) {
	var v T
	if s == nil {
		return v, false, ErrNoSession
	}
	var raw []byte
	var ok bool
	if err := s.modify(func() error {
		raw, ok = s.take(key)
		return nil
	}); err != nil || !ok {
		return v, false, err
	}
	if err := s.m.codec.Unmarshal(raw, &v); err != nil {
		return v, true, fmt.Errorf("session: decoding key %q as %T: %w", key, v, err)
	}
	return v, true, nil
}

// FlashKey is the session key under which AddFlash keeps the messages not
// yet shown.
const FlashKey = "_flashes"

// A Flash is a one-shot message for the next page the user sees (Django's
// messages, gorilla's flashes): set before a redirect, shown once by the
// page the redirect leads to. Kind is the application's choice of level or
// style ("success", "error", ...); both fields are plain text, escaped by
// html/template like any value:
//
//	{{range .Flashes}}<p class="{{.Kind}}">{{.Text}}</p>{{end}}
type Flash struct {
	Kind string `json:"kind"`
	Text string `json:"text"`
}

// AddFlash queues a message for the next page that calls Flashes. Several
// messages queue in order. They count towards the session's size limit
// (ErrTooLarge) and live as long as the session; a visitor without a
// session gets one (an anonymous session, in the cookie with
// WithAnonymousInCookie).
func (s *Session) AddFlash(kind, text string) error {
	if s == nil {
		return ErrNoSession
	}
	return s.modify(func() error {
		var queued []Flash
		if raw, ok := s.values[FlashKey]; ok {
			if err := s.m.codec.Unmarshal(raw, &queued); err != nil {
				return fmt.Errorf("session: decoding the flash messages: %w", err)
			}
		}
		enc, err := s.m.codec.Marshal(append(queued, Flash{Kind: kind, Text: text}))
		if err != nil {
			return fmt.Errorf("session: encoding the flash messages: %w", err)
		}
		return s.setEncoded(FlashKey, enc)
	})
}

// Flashes returns the queued messages, oldest first, and removes them: each
// is shown once. It returns nil, and writes nothing, when none is queued.
func (s *Session) Flashes() ([]Flash, error) {
	out, _, err := Pop[[]Flash](s, FlashKey)
	return out, err
}
