package storeurl

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", for Django's PostgreSQL database
	_ "modernc.org/sqlite"             // database/sql driver "sqlite", for Django's SQLite database

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/urlredact"
	"github.com/sessionkit/session/interop/django"
	"github.com/sessionkit/session/stores/redisstore"
)

// djangoParams are the parameters a django+ URL takes; they never reach
// the database driver.
var djangoParams = []string{"secret_key_env", "secret_key_file", "fallbacks_file", "table", "user_table", "store_class", "cookie_age", "accept_sha1",
	// cached_db on a database URL: the environment variable holding the
	// Redis URL of CACHES["default"], its KEY_PREFIX and VERSION.
	"cache_url_env", "cache_key_prefix", "cache_version",
	// The sessions on Redis (django+redis://): the backend (Django's
	// cache through django-redis, or django-redis-sessions), the key
	// prefix (the cache's KEY_PREFIX, or SESSION_REDIS["prefix"]), the
	// cache's VERSION, serializer and compressor, and the environment
	// variable holding the URL of the database with auth_user.
	"backend", "key_prefix", "version", "serializer", "compressor", "user_db_env"}

// cacheOnlyParams and dbOnlyParams are the parameters of one kind of
// django+ URL only.
var (
	cacheOnlyParams = []string{"backend", "key_prefix", "version", "serializer", "compressor", "user_db_env"}
	dbOnlyParams    = []string{"table", "store_class", "cache_url_env", "cache_key_prefix", "cache_version"}
)

// openDjango opens the sessions of a Django project: its django_session
// table (django+sqlite:PATH, django+postgres://..., django+mysql://...,
// with cache_url_env=NAME the cached_db backend over it) or its cache
// backend on Redis (django+redis://..., django+rediss://...). The secret
// comes by reference (secret_key_env=NAME or secret_key_file=PATH), never
// in the URL; so do the URLs of a second server (cache_url_env,
// user_db_env: the name of an environment variable holding the URL), so
// that neither needs escaping inside this one nor shows its password in
// it. Django's migrations own the tables, so the database and the tables
// must exist, whatever existing says; a probe query checks them before the
// store is returned.
func openDjango(ctx context.Context, rawURL string) (*Store, error) {
	inner := strings.TrimPrefix(rawURL, "django+")
	switch scheme, _, _ := strings.Cut(inner, ":"); scheme {
	case "sqlite", "postgres", "postgresql", "mysql", "redis", "rediss":
	default:
		// Before the secret is looked for: a mistyped scheme is a usage
		// error whatever else the URL lacks.
		return nil, fmt.Errorf("%w %q (want django+sqlite:, django+postgres://, django+mysql://, django+redis:// or django+rediss://)", ErrUnknownScheme, "django+"+scheme)
	}
	params := map[string]string{}
	for _, name := range djangoParams {
		inner, params[name] = takeParam(inner, name)
	}
	if name := secretInQuery(inner); name != "" {
		return nil, fmt.Errorf("storeurl: django URLs take the secret by reference (the parameter secret_key_env or secret_key_file), never in the URL (parameter %q)", name)
	}
	cfg := django.Config{Table: params["table"], UserTable: params["user_table"], StoreClass: params["store_class"]}
	var err error
	if cfg.Secret, err = djangoSecret(params["secret_key_env"], params["secret_key_file"]); err != nil {
		return nil, err
	}
	if path := params["fallbacks_file"]; path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("storeurl: fallbacks_file: %w", err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimRight(line, "\r"); line != "" {
				cfg.Fallbacks = append(cfg.Fallbacks, line)
			}
		}
	}
	if v := params["cookie_age"]; v != "" {
		if cfg.CookieAge, err = time.ParseDuration(v); err != nil || cfg.CookieAge <= 0 {
			return nil, fmt.Errorf("storeurl: cookie_age=%q is not a positive duration", v)
		}
	}
	if v := params["accept_sha1"]; v != "" {
		if cfg.AcceptSHA1, err = strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("storeurl: accept_sha1=%q is not a boolean", v)
		}
	}
	age := cfg.CookieAge
	if age <= 0 {
		age = djangoCookieAge
	}
	// A Django session lives its set_expiry, else SESSION_COOKIE_AGE, past
	// its last save and has no absolute deadline. The stores read it with
	// that idle timeout whatever the manager's, and date its creation and
	// login no earlier than expire_date minus SESSION_COOKIE_AGE, so an
	// absolute timeout of SESSION_COOKIE_AGE never ends a session Django
	// still accepts (a longer set_expiry included); shorter timeouts would
	// be written into the sessions Go creates, and the absolute one would
	// end Django's sessions that long after their last save.
	options := []session.Option{session.WithTokenScheme(django.Keys{}), session.WithCookieName("sessionid"),
		session.WithIdleTimeout(age), session.WithAbsoluteTimeout(age)}

	scheme, _, _ := strings.Cut(inner, ":")
	if scheme == "redis" || scheme == "rediss" {
		for _, name := range dbOnlyParams {
			if name == "store_class" && params["backend"] == "redis_sessions" {
				continue // django-redis-sessions signs its data as the db backend does
			}
			if params[name] != "" {
				return nil, fmt.Errorf("storeurl: %s= is for django+ database URLs, not the cache backend's django+%s://", name, scheme)
			}
		}
		st, err := openDjangoCache(ctx, inner, params, cfg)
		if err != nil {
			return nil, err
		}
		st.Options = options
		return st, nil
	}
	for _, name := range cacheOnlyParams {
		if params[name] != "" {
			return nil, fmt.Errorf("storeurl: %s= is for the cache backend's django+redis:// URLs, not django+%s", name, scheme)
		}
	}
	db, vendor, err := openDjangoDB(inner)
	if err != nil {
		return nil, err
	}
	cfg.Vendor = vendor
	st, err := django.NewStore(db, cfg)
	if err == nil {
		// The table is Django's: a missing one is a wrong URL, never
		// something to create.
		_, err = st.CountActive(ctx, time.Now())
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening %s: %w", Redact(rawURL), err)
	}
	if params["cache_url_env"] == "" {
		if params["cache_key_prefix"] != "" || params["cache_version"] != "" {
			db.Close()
			return nil, errors.New("storeurl: cache_key_prefix= and cache_version= need cache_url_env= (the cached_db backend)")
		}
		return &Store{FullStore: djangoFull{Store: st}, Kind: "django-" + vendor.String(), Options: options, close: db.Close}, nil
	}
	version, err := cacheVersion("cache_version", params["cache_version"])
	if err != nil {
		db.Close()
		return nil, err
	}
	client, err := cacheClient(params["cache_url_env"])
	if err != nil {
		db.Close()
		return nil, err
	}
	cached, err := django.NewCachedDB(st, client, params["cache_key_prefix"], version)
	if err == nil {
		// The cache's URL is not the one Open redacts for.
		if err = client.Ping(ctx).Err(); err != nil {
			err = redactedError{os.Getenv(params["cache_url_env"]), err}
		}
	}
	if err != nil {
		client.Close()
		db.Close()
		return nil, fmt.Errorf("opening the cache (cache_url_env) of %s: %w", Redact(rawURL), err)
	}
	return &Store{
		FullStore: cachedDBFull{CachedDB: cached},
		Kind:      "django-cached_db-" + vendor.String(),
		Options:   options,
		close:     func() error { return errors.Join(client.Close(), db.Close()) },
	}, nil
}

// openDjangoDB opens a Django project's database from its URL without the
// django+ prefix: sqlite:PATH (which must exist), postgres:// or mysql://.
func openDjangoDB(dbURL string) (*sql.DB, django.Vendor, error) {
	scheme, _, _ := strings.Cut(dbURL, ":")
	var (
		db     *sql.DB
		vendor django.Vendor
		err    error
	)
	switch scheme {
	case "sqlite":
		vendor = django.SQLite
		path := strings.TrimPrefix(strings.TrimPrefix(dbURL, "sqlite:"), "//")
		if _, err := os.Stat(path); err != nil {
			return nil, 0, fmt.Errorf("storeurl: Django's SQLite database: %w", err)
		}
		// mode=rw: never create a database where Django's should be. The
		// path is escaped so that a "?", "#" or "%" in it cannot end it
		// early (dropping mode=rw) or name another file.
		db, err = sql.Open("sqlite", "file:"+sqliteURIPath(path)+"?mode=rw&_pragma=busy_timeout(10000)")
	case "postgres", "postgresql":
		vendor = django.PostgreSQL
		db, err = sql.Open("pgx", dbURL)
	case "mysql":
		vendor = django.MySQL
		var dsn string
		if dsn, err = mysqlDSN(dbURL); err == nil {
			db, err = sql.Open("mysql", dsn)
		}
	default:
		return nil, 0, fmt.Errorf("%w %q (want django+sqlite:, django+postgres://, django+mysql://, django+redis:// or django+rediss://)", ErrUnknownScheme, "django+"+scheme)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("opening %s: %w", Redact(dbURL), err)
	}
	return db, vendor, nil
}

// cacheVersion parses a cache VERSION given in the parameter name: 0 when
// it is not given (Django's default, 1, to the stores).
func cacheVersion(name, value string) (int, error) {
	if value == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(value)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("storeurl: %s=%q is not a positive integer", name, value)
	}
	return n, nil
}

// cacheClient makes the Redis client of the cached_db backend's cache, from
// the URL in the environment variable env (cache_url_env).
func cacheClient(env string) (redis.UniversalClient, error) {
	redisURL := os.Getenv(env)
	if redisURL == "" {
		return nil, fmt.Errorf("storeurl: cache_url_env: the environment variable %s is empty or unset", env)
	}
	// The value is never quoted: a variable named by mistake may hold
	// another secret (SECRET_KEY itself).
	scheme, _, _ := strings.Cut(redisURL, "://")
	switch scheme {
	case "redis", "rediss", "redis-sentinel", "rediss-sentinel":
	default:
		// Cluster included: a renewal deletes the old and the new key
		// of Django's cache in one command, which Cluster refuses
		// across slots (django-redis itself runs on one node or behind
		// Sentinel).
		return nil, fmt.Errorf("storeurl: cache_url_env: the environment variable %s does not hold a redis://, rediss://, redis-sentinel:// or rediss-sentinel:// URL", env)
	}
	client, err := redisstore.NewClient(redisURL)
	if err != nil {
		return nil, fmt.Errorf("storeurl: cache_url_env: %s", urlredact.RedactFor(redisURL, err.Error()))
	}
	return client, nil
}

// openDjangoCache opens the sessions of the cache backend on Redis (a
// redis:// or rediss:// URL, the LOCATION of CACHES["default"]), or with
// backend=redis_sessions those of django-redis-sessions, with
// user_db_env naming the environment variable that holds the URL of the
// database with auth_user (sqlite:PATH, postgres://, mysql://): without
// it a Django login reads as anonymous and a Go login fails, as
// django.CacheConfig says.
func openDjangoCache(ctx context.Context, redisURL string, params map[string]string, cfg django.Config) (*Store, error) {
	cc := django.CacheConfig{KeyPrefix: params["key_prefix"], Secret: cfg.Secret, Fallbacks: cfg.Fallbacks,
		AcceptSHA1: cfg.AcceptSHA1, UserTable: cfg.UserTable, CookieAge: cfg.CookieAge}
	kind := "django-cache"
	switch params["backend"] {
	case "", "cache":
	case "redis_sessions":
		kind = "django-redis_sessions"
		for _, name := range []string{"version", "serializer", "compressor"} {
			if params[name] != "" {
				return nil, fmt.Errorf("storeurl: %s= is for the cache backend, not backend=redis_sessions (signed JSON, as in django_session)", name)
			}
		}
	default:
		return nil, fmt.Errorf("storeurl: backend=%q: want cache (Django's cache backend through django-redis, the default) or redis_sessions (django-redis-sessions)", params["backend"])
	}
	switch params["serializer"] {
	case "", "json":
	case "msgpack":
		cc.Msgpack = true
	default:
		return nil, fmt.Errorf("storeurl: serializer=%q: want json (django-redis' JSONSerializer) or msgpack (MSGPackSerializer); pickle is never read", params["serializer"])
	}
	switch params["compressor"] {
	case "":
	case "zlib":
		cc.Zlib = true
	default:
		return nil, fmt.Errorf("storeurl: compressor=%q: want zlib or none", params["compressor"])
	}
	var err error
	if cc.Version, err = cacheVersion("version", params["version"]); err != nil {
		return nil, err
	}
	var (
		db    *sql.DB
		dbURL string
	)
	if env := params["user_db_env"]; env != "" {
		dbURL = os.Getenv(env)
		if dbURL == "" {
			return nil, fmt.Errorf("storeurl: user_db_env: the environment variable %s is empty or unset", env)
		}
		// The value is never quoted: a variable named by mistake may
		// hold another secret (SECRET_KEY itself).
		scheme, _, _ := strings.Cut(dbURL, ":")
		switch scheme {
		case "sqlite", "postgres", "postgresql", "mysql":
		default:
			return nil, fmt.Errorf("storeurl: user_db_env: the environment variable %s does not hold a sqlite:, postgres:// or mysql:// URL", env)
		}
		var err error
		if db, cc.Vendor, err = openDjangoDB(dbURL); err != nil {
			return nil, fmt.Errorf("storeurl: user_db_env: %w", redactedError{dbURL, err})
		}
	}
	cc.DB = db
	closeDB := func() error {
		if db == nil {
			return nil
		}
		return db.Close()
	}
	client, err := redisstore.NewClient(redisURL)
	if err != nil {
		closeDB()
		return nil, err
	}
	cc.Client = client
	var st *django.CacheStore
	if kind == "django-redis_sessions" {
		st, err = django.NewRedisSessionsStore(django.RedisSessionsConfig{Client: client, Prefix: cc.KeyPrefix,
			Secret: cc.Secret, Fallbacks: cc.Fallbacks, StoreClass: cfg.StoreClass, AcceptSHA1: cc.AcceptSHA1,
			DB: db, Vendor: cc.Vendor, UserTable: cc.UserTable, CookieAge: cc.CookieAge})
	} else {
		st, err = django.NewCacheStore(cc)
	}
	if err == nil {
		err = client.Ping(ctx).Err()
	}
	if err == nil && db != nil {
		// The database's URL is not the one Open redacts for.
		if err = db.PingContext(ctx); err != nil {
			err = fmt.Errorf("user_db_env: %w", redactedError{dbURL, err})
		}
	}
	if err != nil {
		client.Close()
		closeDB()
		return nil, fmt.Errorf("opening %s: %w", Redact("django+"+redisURL), err)
	}
	return &Store{
		FullStore: cacheFull{st},
		Kind:      kind,
		close:     func() error { return errors.Join(client.Close(), closeDB()) },
	}, nil
}

// secretInQuery returns the name of a query parameter of rawURL that looks
// like it carries Django's secret (its name holds "secret", in any case,
// percent-encoded or not), other than the references secret_key_env and
// secret_key_file; "" when there is none. Only names are looked at: a
// value may not even unescape. (The database's own password= goes to the
// driver, redacted as in any store URL.)
func secretInQuery(rawURL string) string {
	_, query, ok := strings.Cut(rawURL, "?")
	if !ok {
		return ""
	}
	for _, kv := range strings.Split(query, "&") {
		name, _, _ := strings.Cut(kv, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		lower := strings.ToLower(name)
		if lower == "secret_key_env" || lower == "secret_key_file" {
			continue
		}
		if strings.Contains(lower, "secret") {
			return name
		}
	}
	return ""
}

// sqliteURIPath escapes a file path for a SQLite URI filename ("file:"
// followed by the path), where "%" starts an escape and "?" and "#" end
// the path.
func sqliteURIPath(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// djangoCookieAge is Django's default SESSION_COOKIE_AGE: two weeks.
const djangoCookieAge = 14 * 24 * time.Hour

// djangoSecret reads SECRET_KEY from the environment variable or the file
// named (exactly one of them); a file's trailing newline is not part of
// it.
func djangoSecret(env, file string) (string, error) {
	switch {
	case env != "" && file != "":
		return "", errors.New("storeurl: give secret_key_env or secret_key_file, not both")
	case env != "":
		v := os.Getenv(env)
		if v == "" {
			return "", fmt.Errorf("storeurl: secret_key_env: the environment variable %s is empty or unset", env)
		}
		return v, nil
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("storeurl: secret_key_file: %w", err)
		}
		v := strings.TrimRight(string(data), "\r\n")
		if v == "" {
			return "", fmt.Errorf("storeurl: secret_key_file: %s is empty", file)
		}
		return v, nil
	}
	return "", errors.New("storeurl: django URLs need Django's SECRET_KEY by reference: the parameter secret_key_env (an environment variable's name) or secret_key_file (a file's path)")
}

// djangoFull gives the Django store the capabilities Django's table cannot
// have: it has no user column, so listing and revoking a user's sessions
// are unsupported (a Django login is in the signed data, which a query
// cannot select by).
type djangoFull struct {
	*django.Store
	noUserIndex
}

func (d djangoFull) store() session.Store { return d.Store }

var errNoUserIndex = fmt.Errorf("%w: Django's session table has no user index (log a user out from Django, or delete the session by its key)", session.ErrUnsupported)

// noUserIndex is the user index Django's table lacks (the db and cached_db
// backends): every call answers errNoUserIndex.
type noUserIndex struct{}

func (noUserIndex) reason(capability string) error {
	if capability == "UserIndex" || capability == "LineageDeleter" {
		return errNoUserIndex
	}
	return nil
}

func (noUserIndex) ListByUser(context.Context, string, time.Time) ([]session.Entry, error) {
	return nil, errNoUserIndex
}

func (noUserIndex) DeleteByUser(context.Context, string, session.Digest) (int, error) {
	return 0, errNoUserIndex
}

func (noUserIndex) DeleteLineage(context.Context, string, time.Time) (int, error) {
	return 0, errNoUserIndex
}

// cacheFull gives the cache backend's store the capabilities a cache
// cannot have: its sessions are keys that Redis expires itself, found by
// session key only, so nothing counts them, cleans them up or lists a
// user's (django-redis keeps no index).
type cacheFull struct{ *django.CacheStore }

var errCacheNoIndex = fmt.Errorf("%w: Django's sessions on Redis (the cache backend, django-redis-sessions) are keys found by session key only (no index of a user's sessions, nothing to count without a scan, expiry by Redis TTL)", session.ErrUnsupported)

func (c cacheFull) store() session.Store { return c.CacheStore }

func (cacheFull) reason(capability string) error {
	switch capability {
	case "UserIndex", "LineageDeleter", "Counter", "ExpiredDeleter":
		return errCacheNoIndex
	}
	return nil
}

func (cacheFull) ListByUser(context.Context, string, time.Time) ([]session.Entry, error) {
	return nil, errCacheNoIndex
}

func (cacheFull) DeleteByUser(context.Context, string, session.Digest) (int, error) {
	return 0, errCacheNoIndex
}

func (cacheFull) DeleteLineage(context.Context, string, time.Time) (int, error) {
	return 0, errCacheNoIndex
}

func (cacheFull) CountActive(context.Context, time.Time) (int64, error) { return 0, errCacheNoIndex }

func (cacheFull) DeleteExpired(context.Context, time.Time, int) (int, error) {
	return 0, errCacheNoIndex
}

// cachedDBFull is the cached_db store: counting and cleanup are its
// table's (the rows are the truth; clearsessions deletes expired rows and
// Django's cache copies expire by their TTL), and it has no user index, as
// for the db backend.
type cachedDBFull struct {
	*django.CachedDB
	noUserIndex
}

func (c cachedDBFull) store() session.Store { return c.CachedDB }
