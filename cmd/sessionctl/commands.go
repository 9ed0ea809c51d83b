package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/termtext"
	"github.com/sessionkit/session/stores/redisstore"
	"github.com/sessionkit/session/stores/sqlitestore"
	"github.com/sessionkit/session/stores/storeurl"
)

type globals struct {
	store    string
	idle     time.Duration
	absolute time.Duration
	timeout  time.Duration
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by run, with the usage
	return fs
}

func execute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	g := globals{}
	fs := newFlagSet("sessionctl")
	fs.StringVar(&g.store, "store", os.Getenv("SESSIONCTL_STORE"), "store URL")
	fs.DurationVar(&g.idle, "idle-timeout", session.DefaultIdleTimeout, "idle timeout")
	fs.DurationVar(&g.absolute, "absolute-timeout", session.DefaultAbsoluteTimeout, "absolute timeout")
	fs.DurationVar(&g.timeout, "timeout", time.Minute, "overall timeout")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usagef("missing command")
	}
	cmd, cmdArgs := rest[0], rest[1:]
	if cmd == "help" {
		return flag.ErrHelp
	}
	run, ok := commands[cmd]
	if !ok {
		return usagef("unknown command %q", cmd)
	}
	// Parse the command's flags before touching the store, so usage errors
	// never wait for a connection.
	action, err := run(cmdArgs)
	if err != nil {
		return err
	}
	if g.store == "" {
		return usagef("--store is required")
	}
	if g.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.timeout)
		defer cancel()
	}
	st, err := storeurl.OpenExisting(ctx, g.store)
	if errors.Is(err, storeurl.ErrUnknownScheme) {
		return usagef("--store: %v", err)
	}
	if err != nil {
		return fmt.Errorf("cannot open the store: %w", err)
	}
	defer st.Close()
	opts := append([]session.Option{session.WithIdleTimeout(g.idle), session.WithAbsoluteTimeout(g.absolute),
		session.WithLogger(discardLogger())}, st.Options...)
	m, err := session.New(st, opts...)
	if err != nil {
		return usagef("%v", err)
	}
	e := &env{m: m, st: st, stdout: stdout, stderr: stderr, counting: cmd == "count" || cmd == "stats"}
	e.warnEviction(ctx)
	return action(ctx, e)
}

// warnEviction tells the administrator, on stderr, when the store's
// figures cannot be trusted: a Redis whose maxmemory-policy may evict the
// user indexes and expiry shards of live sessions (counts then
// over-report, and a force-logout misses sessions). Revoking a user's
// sessions then needs --force.
func (e *env) warnEviction(ctx context.Context) {
	rs, ok := e.st.FullStore.(*redisstore.Store)
	if !ok {
		return
	}
	unsafe, err := rs.UnsafeEviction(ctx)
	if err != nil {
		// A policy it cannot read may be one that evicts indexes:
		// revoking a user then needs --force as well.
		e.unreliable = true
		fmt.Fprintf(e.stderr, "sessionctl: warning: cannot check Redis's maxmemory-policy (%s); counts and revocations are right only if it never evicts indexes (noeviction or volatile-ttl)\n", termtext.Printable(err.Error(), 0))
		return
	}
	for node, policy := range unsafe {
		e.unreliable = true
		fmt.Fprintf(e.stderr, "sessionctl: warning: Redis %s evicts with maxmemory-policy %s: user indexes and expiry shards of live sessions may be gone, so counts can over-report and a force-logout can miss sessions (use noeviction or volatile-ttl, then rebuild-index)\n",
			termtext.Printable(node, 0), termtext.Printable(policy, 0))
	}
	if !e.counting {
		return
	}
	evicting, err := rs.EvictingNodes(ctx)
	if err != nil {
		return // reported above: the same CONFIG GET
	}
	for node, policy := range evicting {
		if _, said := unsafe[node]; said {
			continue
		}
		fmt.Fprintf(e.stderr, "sessionctl: warning: Redis %s may evict sessions (maxmemory set, maxmemory-policy %s): a session evicted before its expiry is counted until that expiry, so the count can over-report (it never under-reports)\n",
			termtext.Printable(node, 0), termtext.Printable(policy, 0))
	}
}

type env struct {
	m      *session.Manager
	st     *storeurl.Store
	stdout io.Writer
	stderr io.Writer
	// unreliable is set when the store may have lost index data (see
	// warnEviction).
	unreliable bool
	// counting is set for the commands that print a count of active
	// sessions, for which any evicting policy is worth a warning.
	counting bool
}

// A command parses its flags and returns the action to run on the store.
type command func(args []string) (func(ctx context.Context, e *env) error, error)

var commands = map[string]command{
	"count":         cmdCount,
	"clear-expired": cmdClearExpired,
	"list":          cmdList,
	"revoke":        cmdRevoke,
	"stats":         cmdStats,
	"rebuild-index": cmdRebuildIndex,
	"check":         cmdCheck,
}

func noArgs(name string, fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usagef("%s: %v", name, err)
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", name, fs.Arg(0))
	}
	return nil
}

// explain replaces the manager's error for a capability the store lacks
// (it only names the interface) by the store's own reason, when storeurl
// knows one.
func (e *env) explain(err error, capability string) error {
	if errors.Is(err, session.ErrUnsupported) {
		if reason := e.st.Unsupported(capability); reason != nil {
			return reason
		}
	}
	return err
}

// noteEmpty tells the administrator, on stderr, when a command found
// nothing because the store holds no live session at all: on Redis a
// mistyped ?prefix= opens an empty key space without error (SQL stores
// refuse a missing table). Stores that cannot count are not checked.
func (e *env) noteEmpty(ctx context.Context) {
	n, err := e.m.CountActive(ctx)
	if err != nil || n > 0 {
		return
	}
	where := ""
	if e.st.Kind == "redis" {
		where = " (on Redis, the URL's ?prefix=)"
	}
	fmt.Fprintf(e.stderr, "sessionctl: note: the store holds no live session at all; if that is unexpected, check --store%s\n", where)
}

// count counts the live sessions through the manager.
func (e *env) count(ctx context.Context) (int64, error) {
	n, err := e.m.CountActive(ctx)
	return n, e.explain(err, "Counter")
}

func cmdCount(args []string) (func(context.Context, *env) error, error) {
	if err := noArgs("count", newFlagSet("count"), args); err != nil {
		return nil, err
	}
	return func(ctx context.Context, e *env) error {
		n, err := e.count(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, n)
		if n == 0 {
			e.noteEmpty(ctx)
		}
		return nil
	}, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func cmdClearExpired(args []string) (func(context.Context, *env) error, error) {
	fs := newFlagSet("clear-expired")
	batch := fs.Int("batch", session.DefaultCleanupBatch, "rows per statement")
	if err := noArgs("clear-expired", fs, args); err != nil {
		return nil, err
	}
	if *batch <= 0 {
		return nil, usagef("clear-expired: --batch must be positive")
	}
	return func(ctx context.Context, e *env) error {
		var progress func(int)
		if isTerminal(e.stderr) {
			progress = func(total int) { fmt.Fprintf(e.stderr, "\rdeleted %d expired sessions...", total) }
		}
		n, err := e.m.DeleteExpired(ctx, *batch, progress)
		if progress != nil {
			fmt.Fprint(e.stderr, "\r\033[K")
		}
		if errors.Is(err, session.ErrUnsupported) {
			return e.explain(err, "ExpiredDeleter")
		}
		if err != nil {
			return fmt.Errorf("%w (deleted %d before the failure)", err, n)
		}
		fmt.Fprintf(e.stdout, "deleted %d expired sessions\n", n)
		return nil
	}, nil
}

func cmdList(args []string) (func(context.Context, *env) error, error) {
	fs := newFlagSet("list")
	user := fs.String("user", "", "user id")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := noArgs("list", fs, args); err != nil {
		return nil, err
	}
	if *user == "" {
		return nil, usagef("list: --user is required")
	}
	return func(ctx context.Context, e *env) error {
		list, err := e.m.UserSessions(ctx, *user)
		if err != nil {
			return e.explain(err, "UserIndex")
		}
		if *asJSON {
			type item struct {
				Handle    string    `json:"handle"`
				User      string    `json:"user"`
				Created   time.Time `json:"created"`
				LastSeen  time.Time `json:"last_seen"`
				AuthTime  time.Time `json:"auth_time"`
				ExpiresAt time.Time `json:"expires_at"`
				IP        string    `json:"ip"`
				UserAgent string    `json:"user_agent"`
			}
			out := make([]item, 0, len(list))
			for _, s := range list {
				out = append(out, item{s.Handle, s.UserID, s.Created, s.LastSeen, s.AuthTime, s.ExpiresAt, s.IP, s.UserAgent})
			}
			b, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				return err
			}
			// encoding/json leaves C1 controls and bidirectional
			// overrides raw: escaped here, the same strings.
			_, err = fmt.Fprintf(e.stdout, "%s\n", termtext.EscapeJSONControls(b))
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "HANDLE\tCREATED\tLAST SEEN\tEXPIRES\tIP\tUSER AGENT")
		for _, s := range list {
			// Client-supplied text: escaped (no terminal control
			// sequences), cut at a character boundary.
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Handle, s.Created.Format(time.DateTime), s.LastSeen.Format(time.DateTime),
				s.ExpiresAt.Format(time.DateTime), termtext.Printable(s.IP, 45), termtext.Printable(s.UserAgent, 40))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "%d sessions\n", len(list))
		if len(list) == 0 {
			e.noteEmpty(ctx)
		}
		return nil
	}, nil
}

func cmdRevoke(args []string) (func(context.Context, *env) error, error) {
	fs := newFlagSet("revoke")
	user := fs.String("user", "", "user id: end all of the user's sessions")
	handle := fs.String("session", "", "handle: end one session")
	force := fs.Bool("force", false, "revoke --user even when the store's eviction policy makes it unreliable")
	if err := noArgs("revoke", fs, args); err != nil {
		return nil, err
	}
	if (*user == "") == (*handle == "") {
		return nil, usagef("revoke: give exactly one of --user or --session")
	}
	if *handle != "" {
		if _, err := session.ParseHandle(*handle); err != nil {
			return nil, usagef("revoke: %v", err)
		}
	}
	return func(ctx context.Context, e *env) error {
		if *user != "" {
			if e.unreliable && !*force {
				return fmt.Errorf("revoke --user: the store's eviction policy (unknown, or one that evicts) may have lost the index of %s's sessions, so a revocation could miss live ones; fix the policy and run rebuild-index, or pass --force", termtext.Printable(*user, 0))
			}
			n, err := e.m.RevokeUser(ctx, *user)
			if err != nil {
				return e.explain(err, "UserIndex")
			}
			fmt.Fprintf(e.stdout, "revoked %d sessions of %s\n", n, termtext.Printable(*user, 0))
			if n == 0 {
				e.noteEmpty(ctx)
			}
			return nil
		}
		existed, err := e.m.AdminRevokeSession(ctx, *handle)
		if err != nil {
			return err
		}
		if !existed {
			return fmt.Errorf("no session with handle %s", *handle)
		}
		fmt.Fprintln(e.stdout, "revoked 1 session")
		return nil
	}, nil
}

func cmdStats(args []string) (func(context.Context, *env) error, error) {
	if err := noArgs("stats", newFlagSet("stats"), args); err != nil {
		return nil, err
	}
	return func(ctx context.Context, e *env) error {
		inner := e.st.Unwrap() // the store itself, without storeurl's stand-ins
		fmt.Fprintf(e.stdout, "store:        %s (%T)\n", e.st.Kind, inner)
		var caps []string
		for _, c := range []struct {
			name string
			ok   bool
		}{
			{"touch", is[session.Toucher](inner)},
			{"renew", is[session.Renewer](inner)},
			{"user-index", is[session.UserIndex](inner)},
			{"count", is[session.Counter](inner)},
			{"cleanup", is[session.ExpiredDeleter](inner)},
		} {
			if c.ok {
				caps = append(caps, c.name)
			}
		}
		fmt.Fprintf(e.stdout, "capabilities: %s\n", strings.Join(caps, ", "))
		n, err := e.count(ctx)
		if errors.Is(err, session.ErrUnsupported) {
			fmt.Fprintf(e.stdout, "active:       unknown (%s)\n", termtext.Printable(err.Error(), 0))
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "active:       %d\n", n)
		return nil
	}, nil
}

func is[T any](v any) bool { _, ok := v.(T); return ok }

// indexRebuilder is implemented by stores whose user index lives apart from
// the sessions and can be lost (redisstore).
type indexRebuilder interface {
	RebuildUserIndex(ctx context.Context, batch int) (int, error)
}

func cmdRebuildIndex(args []string) (func(context.Context, *env) error, error) {
	fs := newFlagSet("rebuild-index")
	batch := fs.Int("batch", 1000, "entries read per call")
	if err := noArgs("rebuild-index", fs, args); err != nil {
		return nil, err
	}
	if *batch <= 0 {
		return nil, usagef("rebuild-index: --batch must be positive")
	}
	return func(ctx context.Context, e *env) error {
		r, ok := e.st.FullStore.(indexRebuilder)
		if !ok {
			return fmt.Errorf("rebuild-index: the %s store has no separate index to rebuild (SQL stores keep the user id in each session's row; a Memcached index lost logs its sessions out)", e.st.Kind)
		}
		n, err := r.RebuildUserIndex(ctx, *batch)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "added %d missing user-index entries\n", n)
		return nil
	}, nil
}

// cmdCheck verifies the integrity of a SQLite store file (PRAGMA
// quick_check): a damaged file can otherwise answer with zero sessions.
// The database servers check their own storage.
func cmdCheck(args []string) (func(context.Context, *env) error, error) {
	if err := noArgs("check", newFlagSet("check"), args); err != nil {
		return nil, err
	}
	return func(ctx context.Context, e *env) error {
		st, ok := e.st.FullStore.(*sqlitestore.Store)
		if !ok && strings.HasSuffix(e.st.Kind, "sqlite") {
			return fmt.Errorf("check: only the session stores' own SQLite files are checked here; check a Django project's database with: sqlite3 FILE 'PRAGMA quick_check'")
		}
		if !ok {
			return fmt.Errorf("check: only SQLite files are checked here; the %s server checks its own storage", e.st.Kind)
		}
		rows, err := st.DB().QueryContext(ctx, "PRAGMA quick_check")
		if err != nil {
			return fmt.Errorf("check: %w", err)
		}
		defer rows.Close()
		var problems []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return fmt.Errorf("check: %w", err)
			}
			if line != "ok" {
				problems = append(problems, termtext.Printable(line, 200))
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("check: the database file is damaged: %w", err)
		}
		if len(problems) > 0 {
			return fmt.Errorf("check: the database file is damaged: %s", strings.Join(problems, "; "))
		}
		fmt.Fprintln(e.stdout, "ok")
		return nil
	}, nil
}
