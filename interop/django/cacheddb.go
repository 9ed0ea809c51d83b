package django

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
)

// CachedDB is the Store for a project on Django's cached_db backend
// (SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"): the
// django_session row is the truth and is all it reads (Django's cache copy
// is a pickle under django-redis' default serializer); every write and
// delete also deletes Django's cache copy,
// "<KEY_PREFIX>:<VERSION>:django.contrib.sessions.cached_db<session key>",
// before and after the row changes, or Django would keep serving its stale
// copy (a Go logout would not log the user out of Django).
type CachedDB struct {
	*Store
	client redis.UniversalClient
	prefix string
}

// cachedDBKeyPrefix is what Django's cached_db backend puts before a
// session key in the cache.
const cachedDBKeyPrefix = "django.contrib.sessions.cached_db"

// NewCachedDB returns the cached_db store over store (the django_session
// table) and the Redis of the project's cache, with its KEY_PREFIX and
// VERSION (0 means 1).
func NewCachedDB(store *Store, client redis.UniversalClient, keyPrefix string, version int) (*CachedDB, error) {
	if store == nil || client == nil {
		return nil, errors.New("django: NewCachedDB needs the table's store and a Redis client")
	}
	if version == 0 {
		version = 1
	}
	return &CachedDB{Store: store, client: client, prefix: keyPrefix + ":" + strconv.Itoa(version) + ":" + cachedDBKeyPrefix}, nil
}

// forget deletes Django's cache copies of the sessions.
func (c *CachedDB) forget(ctx context.Context, ds ...session.Digest) error {
	keys := make([]string, len(ds))
	for i, d := range ds {
		keys[i] = c.prefix + string(d[:])
	}
	if err := c.client.Del(ctx, keys...).Err(); err != nil {
		return fmt.Errorf("django cached_db: deleting the cache copy: %w", err)
	}
	return nil
}

// around deletes the cache copies, runs write, and deletes them again
// (a Django request may have cached the old row meanwhile).
func (c *CachedDB) around(ctx context.Context, write func() error, ds ...session.Digest) error {
	if err := c.forget(ctx, ds...); err != nil {
		return err
	}
	if err := write(); err != nil {
		return err
	}
	return c.forget(ctx, ds...)
}

// Load reads the row, the truth, every time (Django's cache copy is never
// read); when there is no live row it also deletes Django's copy, which
// may still hold a session the row no longer has.
func (c *CachedDB) Load(ctx context.Context, d session.Digest) (*session.Record, error) {
	rec, err := c.Store.Load(ctx, d)
	if errors.Is(err, session.ErrNotFound) {
		// The row may have been deleted (a flush on a failed login check):
		// Django's copy must go too.
		if ferr := c.forget(ctx, d); ferr != nil {
			return nil, ferr
		}
	}
	return rec, err
}

// Create inserts the row (no cache copy exists for a new key).
func (c *CachedDB) Create(ctx context.Context, d session.Digest, rec *session.Record) error {
	return c.Store.Create(ctx, d, rec)
}

// Update updates the row and deletes Django's copy.
func (c *CachedDB) Update(ctx context.Context, d session.Digest, ch *session.Change) error {
	return c.around(ctx, func() error { return c.Store.Update(ctx, d, ch) }, d)
}

// Touch moves the row's expiry and deletes Django's copy.
func (c *CachedDB) Touch(ctx context.Context, d session.Digest, lastSeen, idleExpiry time.Time) error {
	return c.around(ctx, func() error { return c.Store.Touch(ctx, d, lastSeen, idleExpiry) }, d)
}

// Delete deletes the row and Django's copy.
func (c *CachedDB) Delete(ctx context.Context, d session.Digest) (bool, error) {
	var deleted bool
	err := c.around(ctx, func() error {
		var err error
		deleted, err = c.Store.Delete(ctx, d)
		return err
	}, d)
	return deleted, err
}

// Renew moves the row to the new key and deletes Django's copies of both.
func (c *CachedDB) Renew(ctx context.Context, old, new session.Digest, rec *session.Record) error {
	return c.around(ctx, func() error { return c.Store.Renew(ctx, old, new, rec) }, old, new)
}

var (
	_ session.Store   = (*CachedDB)(nil)
	_ session.Toucher = (*CachedDB)(nil)
	_ session.Renewer = (*CachedDB)(nil)
	_ session.Counter = (*CachedDB)(nil)
)
