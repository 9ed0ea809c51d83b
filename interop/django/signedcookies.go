package django

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sessionkit/session"
)

// CookieConfig describes a Django project whose sessions live in signed
// cookies (SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies").
type CookieConfig struct {
	// Secret is SECRET_KEY (required); Fallbacks, AcceptSHA1 and
	// MaxPayload are as in Config.
	Secret     string
	Fallbacks  []string
	AcceptSHA1 bool
	MaxPayload int
	// CookieAge is SESSION_COOKIE_AGE (default two weeks): a cookie signed
	// longer ago is refused, as Django refuses it.
	CookieAge time.Duration
	// DB, Vendor and UserTable locate the user table that logins are
	// checked against (as in Config); without DB no login in a cookie is
	// honoured (the session is anonymous for Go) and Go logins fail.
	// Backends is as in Config.
	DB        *sql.DB
	Vendor    Vendor
	UserTable string
	Backends  []string
}

// SignedCookies is the session.ClientStore of Django's signed_cookies
// backend: the session is the cookie, signed by django.core.signing with
// the salt "django.contrib.sessions.backends.signed_cookies". Build a
// manager on it with session.NewClientSide and the cookie name "sessionid".
// As on the Django side, a logout only clears the browser's cookie: a
// copied cookie stays valid until CookieAge after it was signed.
type SignedCookies struct {
	signer Signer
	age    time.Duration
	users  users
	// Now is the clock of signatures (time.Now unless set).
	Now func() time.Time
}

// NewSignedCookies returns the store of cfg.
func NewSignedCookies(cfg CookieConfig) (*SignedCookies, error) {
	if cfg.Secret == "" {
		return nil, errors.New("django: CookieConfig.Secret (SECRET_KEY) is required")
	}
	if cfg.CookieAge <= 0 {
		cfg.CookieAge = 14 * 24 * time.Hour
	}
	u, err := newUsers(cfg.DB, cfg.Vendor, cfg.UserTable, append([]string{cfg.Secret}, cfg.Fallbacks...), cfg.AcceptSHA1, cfg.Backends)
	if err != nil {
		return nil, err
	}
	return &SignedCookies{
		signer: Signer{Secret: cfg.Secret, Fallbacks: cfg.Fallbacks, Salt: "django.contrib.sessions.backends.signed_cookies", AcceptSHA1: cfg.AcceptSHA1, MaxPayload: cfg.MaxPayload},
		age:    cfg.CookieAge,
		users:  u,
	}, nil
}

// Seal writes the session as Django's signed cookie (compressed when that
// is shorter, as Django does), with the login keys of its user. A session
// without a user for Go keeps the login keys it carries in its values (a
// login Go does not honour, see Open), so that a Go write does not end it
// for Django.
func (c *SignedCookies) Seal(ctx context.Context, _ string, _ session.Digest, rec *session.Record) (string, error) {
	var base *dict
	if rec.UserID == "" {
		base = newDict()
		for _, k := range []string{KeyUserID, KeyUserBackend, KeyUserHash} {
			if v, ok := rec.Values[k]; ok {
				base.set(k, v)
			}
		}
	}
	out, err := rebuild(ctx, &c.users, base, rec, true, nil)
	if err != nil {
		return "", err
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	return c.signer.Sign(encodeSession(out), true, now()), nil
}

// Open verifies the cookie (signature, then its age against CookieAge),
// decodes it and checks its login as Django does. A cookie that does not
// verify or decode, or whose user's password changed since, is
// session.ErrInvalidCookie (the manager then clears it); a pickled one
// too, and a user table that cannot be read is an error of its own. A
// login Go does not honour (no CookieConfig.DB, a backend not in
// Backends, a user gone or inactive) reads as anonymous, its data kept:
// its login keys (_auth_user_id, _auth_user_backend, _auth_user_hash) stay
// among the values, where Seal finds them again, since the cookie is the
// only place they live (Django decides on them itself; a Go Login replaces
// them, a Clear removes them, as Django's clear does).
func (c *SignedCookies) Open(ctx context.Context, _, value string, now time.Time) (session.Digest, *session.Record, bool, error) {
	id := session.Digest(sha256.Sum256([]byte(value)))
	payload, signed, err := c.signer.UnsignTime(value, c.age, now)
	if err != nil {
		return id, nil, false, fmt.Errorf("%w: %v", session.ErrInvalidCookie, err)
	}
	d, err := decodeSession(payload)
	if err != nil {
		return id, nil, false, fmt.Errorf("%w: %v", session.ErrInvalidCookie, err)
	}
	user, flush, err := c.users.verify(ctx, d)
	if err != nil {
		return id, nil, false, err
	}
	if flush {
		return id, nil, false, fmt.Errorf("%w: its user's password changed", session.ErrInvalidCookie)
	}
	rec := &session.Record{Values: make(map[string][]byte, len(d.keys)), UserID: user, Created: signed, LastSeen: signed,
		IdleExpiry: signed.Add(c.age), AbsExpiry: noDeadline, Version: 1}
	if user != "" {
		rec.AuthTime = signed
	} else if rec.ClaimedUser, err = c.users.claim(ctx, d); err != nil {
		return id, nil, false, err
	}
	for _, k := range d.keys {
		if !authKey(k) || user == "" {
			rec.Values[k] = d.vals[k]
		}
	}
	return id, rec, false, nil
}

var _ session.ClientStore = (*SignedCookies)(nil)
