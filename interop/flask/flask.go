// Package flask shares sessions with Flask apps using Flask's built-in
// cookie sessions (SecureCookieSessionInterface), byte for byte: Go reads
// the session cookies Flask writes and writes cookies Flask reads. Build a
// manager on it with
// session.NewClientSide(flask.New(cfg), session.WithCookieName("session")).
//
// The cookie is the session itself: Flask's tagged JSON (keys sorted,
// ASCII), zlib-compressed when that is shorter, signed by itsdangerous'
// URLSafeTimedSerializer (salt "cookie-session", HMAC key derivation,
// SHA-1). Flask's typed values keep their tagged form in Go: a tuple reads
// as {" t": [...]}, bytes as {" b": "<base64>"}, Markup as {" m": ...}, a
// UUID as {" u": "<hex>"}, a datetime as {" d": "<HTTP date>"}, and a dict
// whose one key is a tag as {" di": {"<key>__": ...}}; written back
// unchanged they stay those types in Python, and Go writes a value of such
// a form to give Python that type. Like any cookie session it cannot be
// revoked on the server: a copied cookie stays valid until its age runs out
// (MaxAge), whichever side logs out.
package flask

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sessionkit/session/internal/itsdangerous"
	"github.com/sessionkit/session/internal/pycookie"
	"github.com/sessionkit/session/internal/pyjson"
)

// Config describes the Flask app.
type Config struct {
	// Secret is the app's SECRET_KEY (required).
	Secret string
	// MaxAge is PERMANENT_SESSION_LIFETIME (default 31 days, Flask's),
	// which Flask applies to every session cookie, permanent or not;
	// cookies older than that, or stamped in the future, are refused.
	MaxAge time.Duration
	// UserKey is the session key of the logged-in user's id (default
	// "_user_id", Flask-Login's); Manager.Login writes it, UserID reads it.
	UserKey string
	// Skew is how far back signatures are dated (default 5 s), so that a Go
	// host whose clock runs a little ahead does not write cookies that
	// Flask, which refuses future timestamps, drops.
	Skew time.Duration
	// MaxPayload bounds a decompressed cookie (default 64 KiB; a browser
	// sends at most 4 KiB, so a larger one is a decompression bomb).
	MaxPayload int
}

// Store is the session.ClientStore of Flask's session cookie.
type Store struct{ *pycookie.Store }

// New returns the store of cfg.
func New(cfg Config) (*Store, error) {
	if cfg.Secret == "" {
		return nil, errors.New("flask: Config.Secret is required")
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 31 * 24 * time.Hour
	}
	if cfg.UserKey == "" {
		cfg.UserKey = "_user_id"
	}
	if cfg.Skew <= 0 {
		cfg.Skew = 5 * time.Second
	}
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = 64 << 10
	}
	return &Store{&pycookie.Store{
		Signer:       itsdangerous.New([]string{cfg.Secret}, "cookie-session", itsdangerous.HMAC, sha1.New),
		Codec:        codec{max: cfg.MaxPayload},
		MaxAge:       cfg.MaxAge,
		Skew:         cfg.Skew,
		UserKey:      cfg.UserKey,
		DecodeObject: pyjson.DecodeObject,
		EncodeObject: func(v map[string][]byte) []byte { return pyjson.EncodeObject(v, false) },
	}}, nil
}

// ErrTooLarge reports a compressed cookie that inflates beyond MaxPayload.
var ErrTooLarge = errors.New("flask: session cookie inflates beyond the limit")

// codec is URLSafeSerializer's payload: base64url of the JSON, or "." and
// base64url of its zlib compression when that is at least two bytes
// shorter.
type codec struct{ max int }

func (codec) Encode(object []byte) string {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write(object)
	w.Close()
	if b.Len() < len(object)-1 {
		return "." + base64.RawURLEncoding.EncodeToString(b.Bytes())
	}
	return base64.RawURLEncoding.EncodeToString(object)
}

func (c codec) Decode(payload string) ([]byte, error) {
	compressed := strings.HasPrefix(payload, ".")
	data, err := base64.RawURLEncoding.Strict().DecodeString(strings.TrimPrefix(payload, "."))
	if err != nil {
		return nil, fmt.Errorf("flask: payload is not base64url")
	}
	if !compressed {
		return data, nil
	}
	r, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("flask: invalid compressed payload: %v", err)
	}
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, int64(c.max)+1))
	if err != nil {
		return nil, fmt.Errorf("flask: invalid compressed payload: %v", err)
	}
	if len(out) > c.max {
		return nil, ErrTooLarge
	}
	return out, nil
}
