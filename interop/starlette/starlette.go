// Package starlette shares sessions with Starlette and FastAPI apps
// (SessionMiddleware), byte for byte: Go reads the session cookies they
// write and writes cookies they read. Build a manager on it with
// session.NewClientSide(starlette.New(cfg), session.WithCookieName("session")).
//
// The cookie is the session itself: JSON in padded standard base64 (not
// URL-safe: Starlette's decoder fails with a 500 on every request for
// anything else), signed by an itsdangerous TimestampSigner (SHA-1, salt
// "itsdangerous.Signer", key derivation "django-concat"). Like any cookie
// session it cannot be revoked on the server: a copied cookie stays valid
// until its age runs out (MaxAge), whichever side logs out.
//
// Go writes Starlette's bytes (json.dumps spacing, nested values
// included, \u escapes, "<", ">" and "&" unescaped, padding, timestamp,
// signature) with one difference: the keys in sorted order, where
// Starlette keeps the order in which the app set them (a session's values
// do not carry it). Each side reads either order. A value Go set is
// written as Go holds it (a float64 holding 1 is 1 where Python would
// write 1.0).
package starlette

import (
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"time"

	"github.com/sessionkit/session/internal/itsdangerous"
	"github.com/sessionkit/session/internal/pycookie"
	"github.com/sessionkit/session/internal/pyjson"
)

// Config describes the app's SessionMiddleware.
type Config struct {
	// Secret is SessionMiddleware's secret_key (required).
	Secret string
	// MaxAge is its max_age (default 14 days, Starlette's); cookies older
	// than that, or stamped in the future, are refused.
	MaxAge time.Duration
	// UserKey is the session key holding the logged-in user's id (default
	// "_user_id"); Manager.Login writes it, UserID reads it.
	UserKey string
	// Skew is how far back signatures are dated (default 5 s), so that a Go
	// host whose clock runs a little ahead does not write cookies that
	// Python, which refuses future timestamps, drops.
	Skew time.Duration
}

// Store is the session.ClientStore of Starlette's session cookie.
type Store struct{ *pycookie.Store }

// New returns the store of cfg.
func New(cfg Config) (*Store, error) {
	if cfg.Secret == "" {
		return nil, errors.New("starlette: Config.Secret is required")
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 14 * 24 * time.Hour
	}
	if cfg.UserKey == "" {
		cfg.UserKey = "_user_id"
	}
	if cfg.Skew <= 0 {
		cfg.Skew = 5 * time.Second
	}
	return &Store{&pycookie.Store{
		Signer:       itsdangerous.New([]string{cfg.Secret}, "itsdangerous.Signer", itsdangerous.DjangoConcat, sha1.New),
		Codec:        codec{},
		MaxAge:       cfg.MaxAge,
		Skew:         cfg.Skew,
		UserKey:      cfg.UserKey,
		DecodeObject: pyjson.DecodeObject,
		EncodeObject: func(v map[string][]byte) []byte { return pyjson.EncodeObject(v, true) },
	}}, nil
}

// codec is Starlette's payload: the JSON in padded standard base64.
type codec struct{}

func (codec) Encode(object []byte) string { return base64.StdEncoding.EncodeToString(object) }

func (codec) Decode(payload string) ([]byte, error) {
	return base64.StdEncoding.Strict().DecodeString(payload)
}
