// Command sessionctl administers the sessions of any store of this
// repository.
//
//	sessionctl --store URL <command> [flags]
//
// Commands:
//
//	count                      print the number of active sessions
//	clear-expired [--batch N]  delete expired sessions (progress on a terminal)
//	list --user ID [--json]    list a user's live sessions
//	revoke --user ID [--force] end every session of a user (force logout)
//	revoke --session HANDLE    end one session (handles come from list)
//	stats                      store kind, capabilities, active sessions
//	rebuild-index [--batch N]  Redis: recreate lost user indexes
//	check                      SQLite: verify the database file
//
// Store URLs: sqlite:PATH, postgres://..., mysql://..., redis://...,
// redis-sentinel://host:port,.../master, redis-cluster://host:port,...,
// memcached://host:port,..., and a Django project's own session table:
// django+sqlite:PATH, django+postgres://..., django+mysql://... with
// Django's SECRET_KEY by reference (?secret_key_env=NAME or
// ?secret_key_file=PATH; see package storeurl).
// The URL can also come from the SESSIONCTL_STORE environment variable.
// sessionctl opens existing stores only: a missing SQLite file or table is
// an error naming it, never a new empty store. Passwords in the URL are
// never printed. Text that came from clients (user agents, addresses) is
// printed with control characters escaped. On a Redis whose
// maxmemory-policy may evict indexes (allkeys-*), every command warns on
// stderr, and revoke --user refuses without --force. A Redis key prefix
// cannot be told missing from empty: when count, list or revoke --user
// finds nothing in a store without any live session, a note on stderr says
// so (a mistyped ?prefix=?); Memcached, which cannot count, gets no note.
//
// Exit status: 0 success, 1 the operation failed (unreachable store,
// missing file or table, damaged file, missing capability, store error), 2
// usage error (including an unknown URL scheme).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sessionkit/session/internal/termtext"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const usage = `usage: sessionctl --store URL <command> [flags]

commands:
  count                      print the number of active sessions
  clear-expired [--batch N]  delete expired sessions
  list --user ID [--json]    list a user's live sessions
  revoke --user ID [--force] end every session of a user (--force: even
                             when Redis's eviction policy makes it unreliable)
  revoke --session HANDLE    end one session
  stats                      store kind, capabilities, active sessions
  rebuild-index [--batch N]  Redis: recreate lost user indexes from the
                             expiry shards (after an allkeys-* eviction,
                             a manual DEL or a partial restore)
  check                      SQLite: verify the database file (quick_check)

global flags:
  --store URL                sqlite:PATH, postgres://, mysql://, redis://,
                             redis-sentinel://, redis-cluster:// (rediss* for TLS),
                             memcached://, django+sqlite:, django+postgres://,
                             django+mysql:// (Django's own table; its SECRET_KEY
                             from ?secret_key_env=VAR or ?secret_key_file=PATH;
                             its timeouts from ?cookie_age=, default 2 weeks;
                             cached_db with ?cache_url_env=VAR), django+redis://
                             (Django's cache backend: no count, list or cleanup)
                             (or $SESSIONCTL_STORE)
  --idle-timeout D           the application's idle timeout (default 30m)
  --absolute-timeout D       the application's absolute timeout (default 12h)
  --timeout D                give up after D (default 1m; 0 = none)
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := execute(ctx, args, stdout, stderr)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "sessionctl: %s\n\n%s", termtext.Printable(err.Error(), 0), usage)
		return 2
	default:
		// An error may quote what a server or the command line said:
		// escaped like the client text of list.
		fmt.Fprintf(stderr, "sessionctl: %s\n", termtext.Printable(err.Error(), 0))
		return 1
	}
}
