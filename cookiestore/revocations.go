package cookiestore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sessionkit/session"
)

// Revocations is the server-side revocation hook of cookie sessions, kept in
// any session.Store (memory, SQL, Redis): revoked session ids until their
// absolute deadline, and per-user "not before" times. Records are keyed by
// digests in their own namespace, so the store can be shared with other
// sessions.
type Revocations struct {
	store    session.Store
	lifetime time.Duration
}

// NewRevocations returns a hook on store. maxLifetime is the longest a
// session can live (the manager's absolute timeout, or longer); per-user
// revocations are kept that long.
func NewRevocations(store session.Store, maxLifetime time.Duration) (*Revocations, error) {
	if store == nil || maxLifetime <= 0 {
		return nil, errors.New("cookiestore: revocations need a store and a positive maximum session lifetime")
	}
	return &Revocations{store: store, lifetime: maxLifetime}, nil
}

func sessionKey(id session.Digest) session.Digest {
	return sha256.Sum256(append([]byte("sessionkit cookiestore revoked session\x00"), id[:]...))
}

func userKey(user string) session.Digest {
	return sha256.Sum256([]byte("sessionkit cookiestore user not before\x00" + user))
}

func marker(now, until time.Time, values map[string][]byte) *session.Record {
	return &session.Record{Values: values, Created: now, LastSeen: now, IdleExpiry: until, AbsExpiry: until, Version: 1}
}

func (r *Revocations) revokeSession(ctx context.Context, id session.Digest, until time.Time) error {
	now := time.Now().UTC().Truncate(time.Millisecond)
	if !until.After(now) {
		return nil // the session cannot be used any more anyway
	}
	err := r.store.Create(ctx, sessionKey(id), marker(now, until, nil))
	if err != nil && !errors.Is(err, session.ErrExists) {
		return fmt.Errorf("cookiestore: recording a revoked session: %w", err)
	}
	return nil
}

func (r *Revocations) revokeUser(ctx context.Context, user string, at time.Time) error {
	now := time.Now().UTC().Truncate(time.Millisecond)
	until := now.Add(r.lifetime)
	v := map[string][]byte{"nb": []byte(strconv.FormatInt(at.UnixMilli(), 10))}
	d := userKey(user)
	err := r.store.Create(ctx, d, marker(now, until, v))
	if errors.Is(err, session.ErrExists) {
		err = r.store.Update(ctx, d, &session.Change{Set: v, LastSeen: now, IdleExpiry: until})
	}
	if err != nil {
		return fmt.Errorf("cookiestore: recording a user revocation: %w", err)
	}
	return nil
}

// check rejects a revoked session or one of a user revoked after it began.
func (r *Revocations) check(ctx context.Context, id session.Digest, rec *session.Record) error {
	_, err := r.store.Load(ctx, sessionKey(id))
	switch {
	case err == nil:
		return session.ErrRevoked
	case !errors.Is(err, session.ErrNotFound):
		return fmt.Errorf("cookiestore: checking revocations: %w", err)
	}
	if rec.UserID == "" {
		return nil
	}
	m, err := r.store.Load(ctx, userKey(rec.UserID))
	if errors.Is(err, session.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cookiestore: checking revocations: %w", err)
	}
	nb, err := strconv.ParseInt(string(m.Values["nb"]), 10, 64)
	if err != nil {
		return fmt.Errorf("cookiestore: revocation record of a user: %w", err)
	}
	start := rec.AuthTime
	if start.IsZero() {
		start = rec.Created
	}
	if start.UnixMilli() <= nb {
		return session.ErrRevoked
	}
	return nil
}
