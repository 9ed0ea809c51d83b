// Command webapp is the demo of the session library: log in (the token is
// renewed), a dashboard, "your devices" with revoke buttons, logout that
// deletes the session, timeouts, and a small JSON API. It runs on the
// embedded SQLite store by default:
//
//	go run ./examples/webapp
//
// Flags:
//
//	--addr 127.0.0.1:8080             listen address
//	--store sqlite:webapp-sessions.db store URL (sqlite:, postgres://, mysql://, redis://, redis-sentinel://, redis-cluster://, memcached://, django+...)
//	--idle-timeout 30m                sliding idle timeout
//	--absolute-timeout 12h            absolute lifetime of a session
//	--users alice:wonderland,bob:builder  accounts (passwords hashed with bcrypt in memory)
//	--insecure-cookie                 send the cookie without Secure (plain HTTP on a non-loopback address)
//	--anon-key HEX                    key sealing anonymous sessions in the cookie ($WEBAPP_ANON_KEY; default random per start)
//
// Anonymous visitors' sessions (preferences set before logging in) live
// sealed in the cookie (session.WithAnonymousInCookie): the store holds
// logged-in sessions only, so anonymous traffic cannot fill it.
//
// On a Django project's database (--store
// 'django+postgres://app@db/mysite?secret_key_env=DJANGO_SECRET_KEY', or
// django+sqlite:, django+mysql://; see package storeurl) the demo shares
// Django's sessions: its users log in with their Django passwords, the
// cookie is Django's sessionid, a login or logout on either side holds for
// both, and "your devices" is not available (Django's table keeps no
// list of a user's sessions).
//
// The cookie is __Host-sid with Secure: browsers accept Secure cookies from
// http://127.0.0.1 and http://localhost, so the demo works over plain HTTP on
// loopback. Serve it over HTTPS anywhere else.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/cookiestore"
	"github.com/sessionkit/session/stores/storeurl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "webapp:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

type config struct {
	addr, store, users string
	idle, absolute     time.Duration
	insecure           bool
	bcryptCost         int
	anonKey            string
}

func parseFlags(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("webapp", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&c.store, "store", "sqlite:webapp-sessions.db", "session store URL")
	fs.DurationVar(&c.idle, "idle-timeout", session.DefaultIdleTimeout, "idle (sliding) timeout")
	fs.DurationVar(&c.absolute, "absolute-timeout", session.DefaultAbsoluteTimeout, "absolute timeout")
	fs.StringVar(&c.users, "users", "alice:wonderland,bob:builder", "name:password pairs, comma-separated")
	fs.BoolVar(&c.insecure, "insecure-cookie", false, "drop the cookie's Secure attribute (plain HTTP beyond loopback)")
	fs.IntVar(&c.bcryptCost, "bcrypt-cost", 10, "bcrypt cost of the in-memory password hashes")
	// The key from the environment is not the flag's default: -h and
	// every usage error print the defaults.
	fs.StringVar(&c.anonKey, "anon-key", "", "64 hex digits: the key sealing anonymous sessions in the cookie (default: $WEBAPP_ANON_KEY, else a random key per start)")
	if err := fs.Parse(args); err != nil {
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	if c.anonKey == "" {
		c.anonKey = os.Getenv("WEBAPP_ANON_KEY")
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return c, nil
}

// run starts the app and serves until ctx is done. ready, if not nil,
// receives the listening address.
func run(ctx context.Context, args []string, out io.Writer, ready chan<- string) error {
	c, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	users, err := ParseUsers(c.users, c.bcryptCost)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	st, err := storeurl.Open(openCtx, c.store)
	cancel()
	if err != nil {
		return err
	}
	defer st.Close()
	anon, err := anonymousStore(c.anonKey)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	opts := []session.Option{
		session.WithIdleTimeout(c.idle), session.WithAbsoluteTimeout(c.absolute),
		session.WithLogger(logger),
	}
	var accounts Accounts = users
	django, onDjango := st.FullStore.(Accounts)
	onDjango = onDjango && strings.HasPrefix(st.Kind, "django-")
	if onDjango && (st.Kind == "django-cache" || st.Kind == "django-redis_sessions") {
		// The Redis backends' stores read Django's user table only when
		// the URL names it; without it nobody could log in.
		if u, err := url.Parse(c.store); err != nil || u.Query().Get("user_db_env") == "" {
			return fmt.Errorf("%w: on Django's sessions in Redis the demo's logins need Django's user table: add user_db_env= to --store, naming the environment variable that holds the URL of its database", errUsage)
		}
	}
	if onDjango {
		// A Django project's sessions: its users log in (auth_user, Django's
		// password hashes), its session keys and cookie name come with the
		// store (st.Options), and Django keeps no index of a user's sessions.
		accounts = django
		logger.Info("webapp: on a Django project's sessions: logins are its auth_user accounts; --users is not used")
	} else {
		opts = append(opts,
			// "Remember me" may keep a session for 30 days
			// (Session.SetLifetime). Not on Django's table, whose timeouts
			// are its SESSION_COOKIE_AGE (st.Options).
			session.WithMaxLifetime(max(rememberFor, c.absolute)),
			// Visitors who never log in cost the store nothing: their
			// session lives sealed in the cookie until Login moves it
			// server-side.
			session.WithAnonymousInCookie(anon),
			// A login loop cannot pile up sessions for one account: the
			// least recently active ones beyond 10 are ended.
			session.WithMaxSessionsPerUser(10))
	}
	if c.insecure {
		opts = append(opts, session.WithInsecureCookie()) // the cookie is then "sid" (session.InsecureCookieName)
	}
	sessions, err := session.New(st, append(opts, st.Options...)...)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	app, err := NewApp(sessions, accounts, logger)
	if err != nil {
		return err
	}
	app.noRemember = onDjango
	// Redis expires sessions itself; the SQL stores need the cleaner. It is
	// harmless on Redis (it removes index entries of expired sessions).
	// Memcached drops expired items itself and has no cleanup at all.
	cleaner, err := sessions.StartCleaner(5 * time.Minute)
	switch {
	case errors.Is(err, session.ErrUnsupported):
		logger.Info("webapp: no cleaner: the store removes expired sessions itself", "store", st.Kind)
	case err != nil:
		return err
	default:
		defer cleaner.Stop()
	}

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           app.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	url := "http://" + ln.Addr().String()
	hint := "log in as alice / wonderland"
	if onDjango {
		hint = "log in as a user of the Django project"
	}
	fmt.Fprintf(out, "session demo: open %s (store %s; %s)\n", url, storeurl.Redact(c.store), hint)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Graceful shutdown: stop accepting, let in-flight requests finish.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	<-errc
	fmt.Fprintln(out, "session demo: stopped")
	return err
}

// anonymousStore returns the cookie store sealing anonymous sessions, with
// the key given in hex, or a random one (anonymous sessions then end when
// the demo restarts; logged-in sessions are in the store and survive).
func anonymousStore(hexKey string) (*cookiestore.Store, error) {
	key := make([]byte, 32)
	if hexKey == "" {
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	} else {
		k, err := hex.DecodeString(hexKey)
		if err != nil || len(k) != 32 {
			return nil, errors.New("--anon-key must be 64 hex digits (32 bytes)")
		}
		key = k
	}
	return cookiestore.New([][]byte{key})
}
