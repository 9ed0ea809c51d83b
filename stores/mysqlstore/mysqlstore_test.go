package mysqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"go.uber.org/goleak"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/mysqlstore"
	"github.com/sessionkit/session/stores/sqlstore/sqlcount"
)

// DSN of the test server; the tests fail (never skip) when it is down.
func dsn() string {
	if v := os.Getenv("SESSION_TEST_MYSQL_DSN"); v != "" {
		return v
	}
	return "root@tcp(127.0.0.1:3306)/test"
}

var (
	dbOnce sync.Once
	db     *sql.DB
	dbErr  error
)

func testDB(t testing.TB) *sql.DB {
	t.Helper()
	dbOnce.Do(func() {
		full, err := mysqlstore.DSN(dsn())
		if err != nil {
			dbErr = err
			return
		}
		db, dbErr = sql.Open("mysql", full)
		if dbErr == nil {
			// As an application sizes its pool: below the server's
			// max_connections (151 by default), which tests running 200
			// requests at once would otherwise exceed.
			db.SetMaxOpenConns(64)
			dbErr = db.Ping()
		}
	})
	if dbErr != nil {
		t.Fatalf("MySQL/MariaDB at %s is required (set SESSION_TEST_MYSQL_DSN): %v", dsn(), dbErr)
	}
	return db
}

func TestMain(m *testing.M) {
	code := m.Run()
	if db != nil {
		db.Close()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

func tableName() string {
	var b [6]byte
	rand.Read(b[:])
	return "sessions_test_" + hex.EncodeToString(b[:])
}

func newStore(t testing.TB, opts ...mysqlstore.Option) *mysqlstore.Store {
	t.Helper()
	d := testDB(t)
	table := tableName()
	s, err := mysqlstore.New(context.Background(), d, append([]mysqlstore.Option{mysqlstore.WithTable(table)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := d.Exec("DROP TABLE IF EXISTS `" + table + "`"); err != nil {
			t.Errorf("dropping %s: %v", table, err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T) session.Store { return newStore(t) })
}

//go:embed schema.sql
var schemaSQL string

func TestPublishedSchema(t *testing.T) {
	d := testDB(t)
	table := tableName()
	stmt := strings.ReplaceAll(schemaSQL, "`sessions", "`"+table)
	if _, err := d.Exec(stmt); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Exec("DROP TABLE IF EXISTS `" + table + "`") })
	st, err := mysqlstore.New(context.Background(), d, mysqlstore.WithTable(table), mysqlstore.WithoutSchema())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	d1 := sessiontest.NewDigest()
	rec := &session.Record{Values: map[string][]byte{"ключ": []byte(`"🙂"`)}, UserID: "Alice", Created: now, LastSeen: now, IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(time.Hour), Version: 1}
	if err := st.Create(ctx, d1, rec); err != nil {
		t.Fatal(err)
	}
	got, err := st.Load(ctx, d1)
	if err != nil || string(got.Values["ключ"]) != `"🙂"` {
		t.Fatalf("Load = %+v, %v", got, err)
	}
	// User ids compare byte for byte.
	if l, err := st.ListByUser(ctx, "alice", now); err != nil || len(l) != 0 {
		t.Fatalf("ListByUser(alice) found Alice's session: %d, %v", len(l), err)
	}
	if l, err := st.ListByUser(ctx, "Alice", now); err != nil || len(l) != 1 {
		t.Fatalf("ListByUser(Alice) = %d, %v", len(l), err)
	}
}

// Statements per request, counted by a driver wrapper (a transaction would
// count too): read 1 (+ the throttled touch), write 2, new 1, login 2.
func TestStatementsPerRequest(t *testing.T) {
	full, err := mysqlstore.DSN(dsn())
	if err != nil {
		t.Fatal(err)
	}
	cdb, counter := sqlcount.Open(&mysql.MySQLDriver{}, full)
	defer cdb.Close()
	table := tableName()
	st, err := mysqlstore.New(context.Background(), cdb, mysqlstore.WithTable(table))
	if err != nil {
		t.Fatalf("MySQL/MariaDB is required: %v", err)
	}
	defer cdb.Exec("DROP TABLE IF EXISTS `" + table + "`")
	sessiontest.CheckRequestCosts(t, st, func() int64 { return counter.Statements() + counter.Transactions() }, sessiontest.StandardCosts)
}

// A corrupt data column is a security event: the record is deleted and the
// request is anonymous, never a 5xx loop or a panic.
func TestCorruptDataColumn(t *testing.T) {
	st := newStore(t)
	sessiontest.CheckCorruptRecords(t, st, func(d session.Digest, data string) error {
		_, err := st.DB().Exec("UPDATE `"+st.Table()+"` SET data = ? WHERE digest = ?", data, d[:])
		return err
	}, "{not json", "[1,2]", "42", `"str"`, "")
}

// 50 goroutines of mixed operations: deadlocks and lock waits are retried,
// nothing surfaces, no concurrent update of a distinct key is lost.
func TestFiftyConcurrentGoroutines(t *testing.T) {
	sessiontest.MixedConcurrentOperations(t, newStore(t), 50, 16)
}

func TestUnreachableServerIsAnError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := mysqlstore.Open(ctx, "root@tcp(127.0.0.1:1)/test?timeout=2s"); err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if _, err := mysqlstore.Open(ctx, "::not a dsn::"); err == nil {
		t.Fatal("bad DSN accepted")
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

// Open's pool is bounded: 64 concurrent reads use at most PoolSize
// connections, which stay open when idle.
func TestOpenBoundsItsPool(t *testing.T) {
	table := tableName()
	st, err := mysqlstore.Open(context.Background(), dsn(), mysqlstore.WithTable(table))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	defer st.DB().Exec("DROP TABLE IF EXISTS `" + table + "`")
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			if _, err := st.Load(context.Background(), sessiontest.NewDigest()); !errors.Is(err, session.ErrNotFound) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	stats := st.DB().Stats()
	if stats.MaxOpenConnections != mysqlstore.PoolSize() || stats.OpenConnections > mysqlstore.PoolSize() || stats.Idle != stats.OpenConnections {
		t.Fatalf("pool: %+v, want at most %d connections, kept idle", stats, mysqlstore.PoolSize())
	}
}
