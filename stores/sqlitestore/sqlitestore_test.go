package sqlitestore_test

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"modernc.org/sqlite"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/sqlitestore"
	"github.com/sessionkit/session/stores/sqlitestore/sqlitetest"
	"github.com/sessionkit/session/stores/sqlstore/sqlcount"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newStore(t testing.TB, opts ...sqlitestore.Option) *sqlitestore.Store {
	t.Helper()
	return sqlitetest.Store(t, opts...)
}

func TestConformance(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T) session.Store { return newStore(t) })
}

//go:embed schema.sql
var schemaSQL string

// The published schema.sql is the schema the store creates: a database set
// up from the file passes the suite with schema creation disabled.
func TestPublishedSchema(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T) session.Store {
		db, err := sql.Open("sqlite", sqlitestore.DSN(filepath.Join(t.TempDir(), "s.db")))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Exec(schemaSQL); err != nil {
			t.Fatal(err)
		}
		s, err := sqlitestore.New(context.Background(), db, sqlitestore.WithoutSchema())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestTableNameOption(t *testing.T) {
	s := newStore(t, sqlitestore.WithTable("app_sessions"))
	var n int
	if err := s.DB().QueryRow(`SELECT count(*) FROM sqlite_master WHERE name IN ('app_sessions', 'app_sessions_user_id_idx', 'app_sessions_expires_at_idx')`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("table and indexes: %d, %v", n, err)
	}
	for _, bad := range []string{"x; DROP TABLE y", "1abc", "a-b", `a"b`, strings.Repeat("a", 64)} {
		if _, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), sqlitestore.WithTable(bad)); err == nil {
			t.Errorf("table name %q accepted", bad)
		}
	}
}

// R36: 50 goroutines of mixed operations on one file: no SQLITE_BUSY (or
// any other error) reaches the caller, and no concurrent update is lost.
func TestFiftyConcurrentWritersNoBusy(t *testing.T) {
	sessiontest.MixedConcurrentOperations(t, newStore(t), 50, 40)
}

// Statements per request through the middleware, counted by a driver
// wrapper (a transaction would count too): read 1 (+ the throttled touch),
// write 2, new session 1, login from an anonymous session 2.
func TestStatementsPerRequest(t *testing.T) {
	db, counter := sqlcount.Open(&sqlite.Driver{}, sqlitestore.DSN(filepath.Join(t.TempDir(), "c.db")))
	defer db.Close()
	st, err := sqlitestore.New(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sessiontest.CheckRequestCosts(t, st, func() int64 { return counter.Statements() + counter.Transactions() }, sessiontest.StandardCosts)
}

// A corrupt data column is a security event: the record is deleted and the
// request is anonymous, never a 5xx loop or a panic.
func TestCorruptDataColumn(t *testing.T) {
	st := newStore(t)
	sessiontest.CheckCorruptRecords(t, st, func(d session.Digest, data string) error {
		_, err := st.DB().Exec(`UPDATE sessions SET data = ? WHERE digest = ?`, data, d[:])
		return err
	}, "{not json", "[1,2]", "42", `"str"`, "", `{"a":1,}`, `{"a":"\ud800"}x`)
}

func TestCleanerOnSQLite(t *testing.T) {
	st := newStore(t)
	now := time.Now()
	clock := func() time.Time { return now }
	m, err := session.New(st, session.WithClock(clock), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 2500 {
		r := &session.Record{Created: now, LastSeen: now, IdleExpiry: now.Add(-time.Minute), AbsExpiry: now.Add(time.Hour), Version: 1}
		if err := st.Create(ctx, sessiontest.NewDigest(), r); err != nil {
			t.Fatal(err)
		}
	}
	var batches []int
	n, err := m.DeleteExpired(ctx, 1000, func(total int) { batches = append(batches, total) })
	if err != nil || n != 2500 || len(batches) != 3 {
		t.Fatalf("DeleteExpired = %d, %v, progress %v", n, err, batches)
	}
	if c, err := m.CountActive(ctx); err != nil || c != 0 {
		t.Fatalf("CountActive = %d, %v", c, err)
	}
	if _, err := sqlitestore.Open(ctx, ""); err == nil {
		t.Fatal("empty path accepted")
	}
	if _, err := sqlitestore.Open(ctx, "/nonexistent-dir/x/y.db"); err == nil || errors.Is(err, session.ErrNotFound) {
		t.Fatalf("unopenable path: %v", err)
	}
}

// Issue 17: once a revocation returns, no session it covered, nor a
// renewed continuation of one, is accepted again.
func TestRevocationRace(t *testing.T) {
	sessiontest.RevocationRaceStore(t, newStore(t), 300)
}

// Issue 18 (5): WithMaxSessionsPerUser holds under concurrent logins of
// one user: once they have answered, at most the limit are logged in.
func TestSessionLimitRace(t *testing.T) {
	sessiontest.SessionLimitRace(t, newStore(t), 3, 20, 30)
}

// Issue 17 (5): a double-submitted login form leaves a working login
// whichever response the browser processes last.
func TestDoubleLogin(t *testing.T) {
	sessiontest.DoubleLoginStore(t, newStore(t), 300)
}

// Issue 17 (3): 200 parallel writes of 1 KB to one session never store more
// than the 64 KiB limit.
func TestConcurrentWritesHoldSizeLimit(t *testing.T) {
	sessiontest.ConcurrentSizeLimit(t, newStore(t), 200, 1000, 64<<10)
}

// Issue 21: header tokens (login, use, renew, logout, revoke) on SQLite.
func TestHeaderTokens(t *testing.T) {
	sessiontest.HeaderTokens(t, newStore(t))
}

// Issue 25: the store keeps durability across crashes. Open's connections
// use WAL with synchronous=NORMAL, and New refuses a handle whose settings
// lose committed sessions in a crash (journal_mode OFF or MEMORY,
// synchronous OFF); stronger settings and in-memory databases pass.
func TestDurableSettings(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	conn, err := st.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	var sync int
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if mode != "wal" || sync != 1 {
		t.Fatalf("Open's connections: journal_mode=%s synchronous=%d, want wal and 1 (NORMAL)", mode, sync)
	}
	open := func(dsn string) error {
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		s, err := sqlitestore.New(ctx, db)
		if err == nil {
			s.Close()
		}
		return err
	}
	for _, c := range []struct {
		pragmas string
		refused string // what the error must name; "" when accepted
	}{
		{"_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)", "synchronous=OFF"},
		{"_pragma=journal_mode(OFF)", "journal_mode=off"},
		{"_pragma=journal_mode(MEMORY)", "journal_mode=memory"},
		{"_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)", ""},
		{"_pragma=journal_mode(DELETE)&_pragma=synchronous(FULL)", ""},
	} {
		err := open("file:" + filepath.Join(t.TempDir(), "d.db") + "?" + c.pragmas)
		switch {
		case c.refused == "" && err != nil:
			t.Errorf("%s refused: %v", c.pragmas, err)
		case c.refused != "" && (err == nil || !strings.Contains(err.Error(), c.refused)):
			t.Errorf("%s: %v, want a refusal naming %s", c.pragmas, err, c.refused)
		}
	}
	if err := open("file::memory:?_pragma=journal_mode(MEMORY)"); err != nil {
		t.Errorf("an in-memory database refused: %v", err)
	}
}
