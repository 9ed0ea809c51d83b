// Package storeurl opens any store of this repository from a URL, for tools
// and applications that take the store as configuration (sessionctl, the
// demo app):
//
//	sqlite:PATH                                      (sqlite:sessions.db, sqlite:/var/lib/app/s.db)
//	postgres://user:pass@host:5432/db?sslmode=...    (also postgresql://)
//	mysql://user:pass@host:3306/db?param=value       (MySQL 8, MariaDB)
//	redis://[user:pass@]host:6379/0                  (also rediss://)
//	redis-sentinel://[user:pass@]host:26379,host:26380/mastername   (rediss-sentinel:// for TLS)
//	redis-cluster://[user:pass@]host:7000,host:7001                  (rediss-cluster:// for TLS)
//	memcached://host:11211[,host:11211...]?prefix=...&timeout=500ms&max_idle=N&distribution=rendezvous|modulo
//	django+sqlite:PATH?secret_key_env=NAME            (a Django project's django_session table)
//	django+postgres://user@host/db?secret_key_file=PATH
//	django+mysql://user@host/db?secret_key_env=NAME
//	django+sqlite:PATH?secret_key_env=NAME&cache_url_env=NAME2      (cached_db: the table, and Django's cache copies dropped on every write)
//	django+redis://host:6379/1?secret_key_env=NAME&key_prefix=P&user_db_env=NAME3   (the cache backend, django-redis; also django+rediss://)
//	django+redis://host:6379/0?backend=redis_sessions&secret_key_env=NAME&key_prefix=P&user_db_env=NAME3   (django-redis-sessions)
//
// A django+ URL opens the sessions of a Django project (package
// interop/django) in its own database, which must exist with Django's
// tables: Django's SECRET_KEY comes by reference, from an environment
// variable (secret_key_env=NAME) or a file (secret_key_file=PATH), never
// in the URL; fallbacks_file=PATH lists SECRET_KEY_FALLBACKS one per line;
// table=, user_table=, store_class=, cookie_age= (SESSION_COOKIE_AGE, a Go
// duration) and accept_sha1= set the rest of django.Config. Pass
// Store.Options to session.New after the application's own options:
// Django's session keys, its cookie name, and its SESSION_COOKIE_AGE as
// the idle and absolute timeouts (Django has no other deadline).
// Django's table has no user column, so a user's sessions cannot be
// listed or revoked there (ErrUnsupported).
//
// The cached_db backend is a django+ database URL with cache_url_env=NAME,
// the name of an environment variable holding the Redis URL of the
// project's cache (CACHES["default"]), and its cache_key_prefix= and
// cache_version= (KEY_PREFIX and VERSION): the row is read and written,
// and Django's cache copy is deleted around every write, so Django never
// serves a session Go changed or ended. The cache backend on Redis
// (django-redis) is django+redis:// (or django+rediss://) with the cache's
// key_prefix=, version=, serializer=json|msgpack (pickle is never read)
// and compressor=zlib, and user_db_env=NAME naming an environment variable
// that holds the URL of the database with auth_user (sqlite:PATH,
// postgres://..., mysql://...), against which logins are checked (without
// it a Django login reads as anonymous and a Go login fails). With
// backend=redis_sessions the same URL opens the sessions of
// django-redis-sessions: key_prefix= is SESSION_REDIS["prefix"] (none by
// default), the values are signed as in django_session (store_class=
// applies; version=, serializer= and compressor= do not). Neither keeps an
// index: counting, cleanup and a user's sessions are unsupported there. Second servers come by reference, like the secret,
// so that their URLs need no escaping in this one and their passwords
// never show in it.
//
// A memcached:// store counts nothing and has nothing to clean up (items
// expire): CountActive and DeleteExpired are unsupported, saying so; see
// package memcachedstore for what Memcached can and cannot promise. It
// places keys on its servers by rendezvous hashing (memcachedstore.
// NewServers); distribution=modulo places them as gomemcache's
// memcache.New does, for applications that build their client that way
// (every client of the same sessions must place keys alike).
//
// SQL URLs accept a "table" query parameter (default "sessions") and Redis
// URLs a "prefix" one (default "session:"); they are removed before the URL
// reaches the driver. The other parameters are the drivers' own, parsed by
// the drivers: pgx's for postgres://, go-sql-driver/mysql's for mysql://
// (timeout, tls, ...), go-redis's for the Redis URLs (dial_timeout,
// pool_size, skip_verify, ...); an unknown one is an error naming it. Redis URLs (one node or Sentinel) also accept
// "wait=N" and "wait_timeout=DURATION" (default 1s): every logout,
// revocation and renewal then waits until N replicas have it, and fails
// when fewer acknowledge in time (redisstore.WithWait); Cluster refuses
// them. "wait_writes=1" makes creations and writes wait too
// (redisstore.WithWaitOnWrites): for the store of cookie sessions'
// revocation markers (cookiestore.NewRevocations), whose writes are
// logouts.
package storeurl

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/urlredact"
	"github.com/sessionkit/session/stores/mysqlstore"
	"github.com/sessionkit/session/stores/pgstore"
	"github.com/sessionkit/session/stores/redisstore"
	"github.com/sessionkit/session/stores/sqlitestore"
)

// ErrUnknownScheme reports a URL of no store this package opens: a mistake
// in the configuration (tools report it as a usage error).
var ErrUnknownScheme = errors.New("storeurl: unknown store URL scheme")

// Store is an opened store and the function that releases it. It embeds
// the store as a session.FullStore, for tools that call every capability
// (counting, cleanup, a user's sessions) directly: where the store lacks
// one (Memcached cannot count or clean up; Django's table has no user
// index), a stand-in's method returns an error wrapping
// session.ErrUnsupported that says why (see Unsupported). session.New(st)
// builds its manager on the store itself (Store is a session.Unwrapper),
// so the manager has exactly the store's capabilities: a configuration
// that needs one the store lacks (WithMaxSessionsPerUser on Django's
// table) is refused by New, as on the store itself. The concrete store
// (*sqlitestore.Store, *pgstore.Store, ...) is st.Unwrap().
type Store struct {
	session.FullStore
	// Kind names the backend: sqlite, postgres, mysql, redis, memcached,
	// django-sqlite, django-postgres, django-mysql, django-cached_db-sqlite
	// (-postgres, -mysql), django-cache, django-redis_sessions.
	Kind string
	// Options are the manager options the store needs, to pass to
	// session.New after the application's own: for Django's table, its
	// token scheme, cookie name and timeouts. Empty for this repository's
	// stores.
	Options []session.Option
	close   func() error
}

// standIn is a FullStore that adds to a store the capabilities it lacks,
// each answering ErrUnsupported with the reason.
type standIn interface {
	session.FullStore
	store() session.Store           // the store itself
	reason(capability string) error // why it lacks capability, or nil
}

// Unwrap returns the store itself: FullStore, or the store inside the
// stand-in that adds the capabilities it lacks (see session.Unwrapper).
// session.New builds its manager on it and never calls Store's own
// methods.
func (s *Store) Unwrap() session.Store {
	if s == nil || s.FullStore == nil {
		return nil
	}
	if si, ok := s.FullStore.(standIn); ok {
		return si.store()
	}
	return s.FullStore
}

// Unsupported returns why the store lacks a capability (the name of its
// interface in package session: "Counter", "ExpiredDeleter", "UserIndex",
// "LineageDeleter", ...) as an error wrapping session.ErrUnsupported, or
// nil when the store has it or no reason is known. It calls nothing.
func (s *Store) Unsupported(capability string) error {
	if si, ok := s.FullStore.(standIn); ok {
		return si.reason(capability)
	}
	return nil
}

// Close releases the store's connections or file.
func (s *Store) Close() error { return s.close() }

// Open opens the store a URL describes, creating its schema if needed. Errors
// never contain the URL's password: their text is redacted, and errors.Is
// sees the errors they wrap, but errors.As and errors.Unwrap do not reach
// them (a driver's or parser's error may quote the password).
func Open(ctx context.Context, rawURL string) (*Store, error) {
	return openURL(ctx, rawURL, false)
}

// OpenExisting is Open for tools: it opens an existing store only. A
// missing SQLite file or SQL table is an error naming it, where Open would
// create it (a mistyped path or table= must not look like an empty store).
// It opens a Redis whose eviction policy Open refuses
// (redisstore.ErrUnsafeEviction), so that a tool can report the risk.
func OpenExisting(ctx context.Context, rawURL string) (*Store, error) {
	return openURL(ctx, rawURL, true)
}

func openURL(ctx context.Context, rawURL string, existing bool) (*Store, error) {
	st, err := open(ctx, rawURL, existing)
	if err != nil {
		// Drivers and URL parsers may quote the URL, password included.
		return nil, redactedError{rawURL, err}
	}
	return st, nil
}

func open(ctx context.Context, rawURL string, existing bool) (*Store, error) {
	scheme, _, _ := strings.Cut(rawURL, ":")
	if strings.HasPrefix(scheme, "django+") {
		return openDjango(ctx, rawURL)
	}
	rawURL, table := takeParam(rawURL, "table")
	rawURL, prefix := takeParam(rawURL, "prefix")
	rawURL, wait := takeParam(rawURL, "wait")
	rawURL, waitTimeout := takeParam(rawURL, "wait_timeout")
	rawURL, waitWrites := takeParam(rawURL, "wait_writes")
	isRedis := false
	switch scheme {
	case "redis", "rediss", "redis-sentinel", "rediss-sentinel", "redis-cluster", "rediss-cluster":
		isRedis = true
	}
	if scheme == "memcached" {
		if table != "" || wait != "" || waitTimeout != "" || waitWrites != "" {
			return nil, fmt.Errorf("storeurl: memcached URLs take prefix=, timeout= and max_idle=, not table=, wait=, wait_timeout= or wait_writes=")
		}
		return openMemcached(rawURL, prefix)
	}
	if isRedis {
		if table != "" {
			return nil, fmt.Errorf("storeurl: Redis URLs take prefix=, not table=")
		}
	} else if prefix != "" || wait != "" || waitTimeout != "" || waitWrites != "" {
		return nil, fmt.Errorf("storeurl: SQL URLs take table=, not prefix=, wait=, wait_timeout= or wait_writes=")
	}
	switch scheme {
	case "sqlite":
		path := strings.TrimPrefix(strings.TrimPrefix(rawURL, "sqlite:"), "//")
		var opts []sqlitestore.Option
		if table != "" {
			opts = append(opts, sqlitestore.WithTable(table))
		}
		if existing {
			opts = append(opts, sqlitestore.WithExistingTable())
		}
		st, err := sqlitestore.Open(ctx, path, opts...)
		if err != nil {
			return nil, err
		}
		return &Store{FullStore: st, Kind: "sqlite", close: st.Close}, nil
	case "postgres", "postgresql":
		var opts []pgstore.Option
		if table != "" {
			opts = append(opts, pgstore.WithTable(table))
		}
		if existing {
			opts = append(opts, pgstore.WithExistingTable())
		}
		st, err := pgstore.Open(ctx, rawURL, opts...)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", Redact(rawURL), err)
		}
		return &Store{FullStore: st, Kind: "postgres", close: st.Close}, nil
	case "mysql":
		dsn, err := mysqlDSN(rawURL)
		if err != nil {
			return nil, err
		}
		var opts []mysqlstore.Option
		if table != "" {
			opts = append(opts, mysqlstore.WithTable(table))
		}
		if existing {
			opts = append(opts, mysqlstore.WithExistingTable())
		}
		st, err := mysqlstore.Open(ctx, dsn, opts...)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", Redact(rawURL), err)
		}
		return &Store{FullStore: st, Kind: "mysql", close: st.Close}, nil
	case "redis", "rediss", "redis-sentinel", "rediss-sentinel", "redis-cluster", "rediss-cluster":
		client, err := redisstore.NewClient(rawURL)
		if err != nil {
			return nil, err
		}
		var opts []redisstore.Option
		if prefix != "" {
			opts = append(opts, redisstore.WithPrefix(prefix))
		}
		if existing {
			// Tools report an allkeys-* policy themselves (sessionctl
			// warns and asks for --force); applications are refused.
			opts = append(opts, redisstore.WithUnsafeEviction())
		}
		if wait != "" || waitTimeout != "" {
			o, err := waitOption(wait, waitTimeout)
			if err != nil {
				client.Close()
				return nil, err
			}
			opts = append(opts, o)
		}
		switch waitWrites {
		case "":
		case "1", "true":
			if wait == "" {
				client.Close()
				return nil, fmt.Errorf("storeurl: wait_writes= needs wait=N (the replicas to wait for)")
			}
			opts = append(opts, redisstore.WithWaitOnWrites())
		default:
			client.Close()
			return nil, fmt.Errorf("storeurl: wait_writes=%q: want 1 (true) or leave it out", waitWrites)
		}
		st, err := redisstore.New(ctx, client, opts...)
		if err != nil {
			client.Close()
			return nil, fmt.Errorf("opening %s: %w", Redact(rawURL), err)
		}
		return &Store{FullStore: st, Kind: "redis", close: client.Close}, nil
	}
	return nil, fmt.Errorf("%w %q (want sqlite:, postgres://, mysql://, redis://, rediss://, redis-sentinel://, rediss-sentinel://, redis-cluster://, rediss-cluster://, memcached:// or django+sqlite:, django+postgres://, django+mysql://, django+redis://, django+rediss://)", ErrUnknownScheme, scheme)
}

// mysqlDSN turns mysql://user:pass@host:port/db?params into the driver's
// DSN. The parameters are the driver's (parsed by its ParseDSN: timeout,
// readTimeout, tls, parseTime, ...); any other one the driver sends as a
// server variable, which the server refuses by name when it does not know
// it. The user and password go into the driver's Config as they are, so
// no character of theirs can change the DSN's meaning.
func mysqlDSN(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse's errors quote the bad part, which may be a secret.
		return "", fmt.Errorf("storeurl: %s is not a valid URL", Redact(rawURL))
	}
	host := u.Host
	if u.Port() == "" {
		host += ":3306"
	}
	dsn := "tcp(" + host + ")" + u.EscapedPath()
	if dsn == "tcp("+host+")" {
		dsn += "/"
	}
	if u.RawQuery != "" {
		// Re-encoded: the driver's DSN takes its database name after the
		// last "/", so a raw "/" in a value (loc=Europe/Paris) must be
		// escaped; the driver unescapes the values.
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return "", fmt.Errorf("storeurl: the query of %s is not valid", Redact(rawURL))
		}
		dsn += "?" + q.Encode()
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "", fmt.Errorf("storeurl: %s: %s", Redact(rawURL), Redact(err.Error()))
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
		if strings.Contains(cfg.User, ":") {
			return "", fmt.Errorf("storeurl: a MySQL user name cannot contain ':' (%s)", Redact(rawURL))
		}
	}
	return cfg.FormatDSN(), nil
}

// Redact replaces every credential in a store URL (or in any text quoting
// one, such as an error message) with "xxxxx": the userinfo, even when the
// password holds unescaped "/", "@" or "?", and the value of every
// password-like query parameter (password, sentinel_password, sslpassword,
// secret, token, ...). Every error, banner and command output of this
// repository that mentions a store URL goes through it.
func Redact(rawURL string) string { return urlredact.Redact(rawURL) }

// redactedError is an error whose text is redacted (urlredact.RedactFor:
// the credentials and every piece of the URL's passwords a parser may have
// quoted). errors.Is sees every error it wraps (ErrUnknownScheme,
// context.DeadlineExceeded, redisstore.ErrUnsafeEviction, ...), but it
// hands none of them out: it has no Unwrap, so errors.Unwrap and errors.As
// cannot reach a driver's or parser's error whose own text quotes the
// password (a *url.Error holds the whole URL).
type redactedError struct {
	rawURL string
	err    error
}

func (e redactedError) Error() string { return urlredact.RedactFor(e.rawURL, e.err.Error()) }

// Is reports whether target is in the wrapped chain; it returns a bool
// only, never the wrapped error.
func (e redactedError) Is(target error) bool { return errors.Is(e.err, target) }

// takeParam removes the query parameter name from rawURL and returns its
// value.
func takeParam(rawURL, name string) (string, string) {
	base, query, ok := strings.Cut(rawURL, "?")
	if !ok {
		return rawURL, ""
	}
	var kept []string
	value := ""
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k == name {
			if uv, err := url.QueryUnescape(v); err == nil {
				value = uv
			}
			continue
		}
		kept = append(kept, kv)
	}
	if len(kept) == 0 {
		return base, value
	}
	return base + "?" + strings.Join(kept, "&"), value
}

// DefaultWaitTimeout is how long a Redis deletion waits for its replicas
// when a URL gives wait= without wait_timeout=.
const DefaultWaitTimeout = time.Second

// waitOption reads ?wait=N&wait_timeout=DURATION (redisstore.WithWait).
func waitOption(wait, timeout string) (redisstore.Option, error) {
	n, err := strconv.Atoi(wait)
	if err != nil || n < 1 {
		return nil, fmt.Errorf("storeurl: wait=%q: want the number of replicas that must acknowledge a logout (1 or more)", wait)
	}
	d := DefaultWaitTimeout
	if timeout != "" {
		if d, err = time.ParseDuration(timeout); err != nil || d <= 0 {
			return nil, fmt.Errorf("storeurl: wait_timeout=%q: want a positive duration such as 500ms", timeout)
		}
	}
	return redisstore.WithWait(n, d), nil
}
