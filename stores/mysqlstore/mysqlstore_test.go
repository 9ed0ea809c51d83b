package mysqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
	clock := time.Now()
	m, err := session.New(st, session.WithClock(func() time.Time { return clock }))
	if err != nil {
		t.Fatal(err)
	}
	sessiontest.CheckRequestCosts(t, sessiontest.Handler(m), func(d time.Duration) { clock = clock.Add(d) },
		func() int64 { return counter.Statements() + counter.Transactions() }, sessiontest.StandardCosts)
}

func TestCorruptDataColumn(t *testing.T) {
	st := newStore(t)
	var mu sync.Mutex
	var logs strings.Builder
	m, err := session.New(st, session.WithLogger(slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if r.URL.Path == "/set" {
			s.Set("a", "1")
			return
		}
		_, ok, err := session.Get[string](s, "a")
		fmt.Fprint(w, ok, err)
	}))
	for _, corrupt := range []string{"{not json", "[1,2]", "42", `"str"`, ""} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/set", nil))
		cookie := w.Result().Cookies()[0]
		if _, err := st.DB().Exec("UPDATE `"+st.Table()+"` SET data = ?", corrupt); err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/get", nil)
		r.AddCookie(cookie)
		w = httptest.NewRecorder()
		h.ServeHTTP(w, r)
		body, _ := io.ReadAll(w.Body)
		if w.Code != 200 || string(body) != "false <nil>" {
			t.Fatalf("data %q: %d %q", corrupt, w.Code, body)
		}
		var n int
		st.DB().QueryRow("SELECT count(*) FROM `" + st.Table() + "`").Scan(&n)
		if n != 0 {
			t.Fatalf("data %q: corrupt record not deleted", corrupt)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "reason=corrupt") {
		t.Fatalf("not logged: %s", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// 50 goroutines of mixed operations: deadlocks and lock waits are retried,
// nothing surfaces, no concurrent update of a distinct key is lost.
func TestFiftyConcurrentGoroutines(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	rec := func(user string) *session.Record {
		return &session.Record{Values: map[string][]byte{"a": []byte(`1`)}, UserID: user, Created: now, LastSeen: now,
			IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(2 * time.Hour), Version: 1}
	}
	shared := sessiontest.NewDigest()
	if err := s.Create(ctx, shared, rec("shared")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 50*16)
	for g := range 50 {
		wg.Go(func() {
			user := fmt.Sprintf("user%d", g%5)
			for i := range 16 {
				var err error
				switch i % 8 {
				case 0, 4:
					d := sessiontest.NewDigest()
					if err = s.Create(ctx, d, rec(user)); err == nil && i == 4 {
						err = s.Renew(ctx, d, sessiontest.NewDigest(), rec(user))
					}
				case 1:
					err = s.Update(ctx, shared, &session.Change{Set: map[string][]byte{fmt.Sprintf("g%d_%d", g, i): []byte(`1`)}, LastSeen: now, IdleExpiry: now.Add(time.Hour)})
				case 2:
					_, err = s.Load(ctx, shared)
				case 3:
					err = s.Touch(ctx, shared, now, now.Add(time.Hour))
				case 5:
					_, err = s.ListByUser(ctx, user, now)
				case 6:
					_, err = s.DeleteExpired(ctx, now, 100)
				case 7:
					_, err = s.CountActive(ctx, now)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("surfaced error: %v", err)
	}
	got, err := s.Load(ctx, shared)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + 50*2; len(got.Values) != want {
		t.Fatalf("shared session has %d keys, want %d", len(got.Values), want)
	}
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
