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

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/interop/django"
)

// djangoParams are the parameters a django+ URL takes; they never reach
// the database driver.
var djangoParams = []string{"secret_key_env", "secret_key_file", "fallbacks_file", "table", "user_table", "store_class", "cookie_age", "accept_sha1"}

// openDjango opens the django_session table of a Django project's
// database: django+sqlite:PATH, django+postgres://..., django+mysql://....
// The secret comes by reference (secret_key_env=NAME or
// secret_key_file=PATH), never in the URL. Django's migrations own the
// tables, so the database and the tables must exist, whatever existing
// says; a probe query checks them before the store is returned.
func openDjango(ctx context.Context, rawURL string) (*Store, error) {
	inner := strings.TrimPrefix(rawURL, "django+")
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
	scheme, _, _ := strings.Cut(inner, ":")
	var db *sql.DB
	switch scheme {
	case "sqlite":
		cfg.Vendor = django.SQLite
		path := strings.TrimPrefix(strings.TrimPrefix(inner, "sqlite:"), "//")
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("storeurl: Django's SQLite database: %w", err)
		}
		// mode=rw: never create a database where Django's should be. The
		// path is escaped so that a "?", "#" or "%" in it cannot end it
		// early (dropping mode=rw) or name another file.
		db, err = sql.Open("sqlite", "file:"+sqliteURIPath(path)+"?mode=rw&_pragma=busy_timeout(10000)")
	case "postgres", "postgresql":
		cfg.Vendor = django.PostgreSQL
		db, err = sql.Open("pgx", inner)
	case "mysql":
		cfg.Vendor = django.MySQL
		var dsn string
		if dsn, err = mysqlDSN(inner); err == nil {
			db, err = sql.Open("mysql", dsn)
		}
	default:
		return nil, fmt.Errorf("%w %q (want django+sqlite:, django+postgres:// or django+mysql://)", ErrUnknownScheme, "django+"+scheme)
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", Redact(rawURL), err)
	}
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
	age := cfg.CookieAge
	if age <= 0 {
		age = djangoCookieAge
	}
	return &Store{
		FullStore: djangoFull{st},
		Kind:      "django-" + cfg.Vendor.String(),
		// A Django session lives its set_expiry, else
		// SESSION_COOKIE_AGE, past its last save and has no absolute
		// deadline. The store reads it with that idle timeout whatever
		// the manager's, and dates its creation and login no earlier than
		// expire_date minus SESSION_COOKIE_AGE, so an absolute timeout of
		// SESSION_COOKIE_AGE never ends a session Django still accepts
		// (a longer set_expiry included); shorter timeouts would be
		// written into the sessions Go creates, and the absolute one would
		// end Django's sessions that long after their last save.
		Options: []session.Option{session.WithTokenScheme(django.Keys{}), session.WithCookieName("sessionid"),
			session.WithIdleTimeout(age), session.WithAbsoluteTimeout(age)},
		close: db.Close,
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
type djangoFull struct{ *django.Store }

var errNoUserIndex = fmt.Errorf("%w: Django's session table has no user index (log a user out from Django, or delete the session by its key)", session.ErrUnsupported)

func (d djangoFull) store() session.Store { return d.Store }

func (djangoFull) reason(capability string) error {
	if capability == "UserIndex" || capability == "LineageDeleter" {
		return errNoUserIndex
	}
	return nil
}

func (djangoFull) ListByUser(context.Context, string, time.Time) ([]session.Entry, error) {
	return nil, errNoUserIndex
}

func (djangoFull) DeleteByUser(context.Context, string, session.Digest) (int, error) {
	return 0, errNoUserIndex
}

func (djangoFull) DeleteLineage(context.Context, string, time.Time) (int, error) {
	return 0, errNoUserIndex
}
