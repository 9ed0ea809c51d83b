package sqlitestore_test

import (
	"bytes"
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"modernc.org/sqlite"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/sqlitestore"
	"github.com/sessionkit/session/stores/sqlstore/sqlcount"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newStore(t testing.TB, opts ...sqlitestore.Option) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "sessions.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
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
// any other error) reaches the caller.
func TestFiftyConcurrentWritersNoBusy(t *testing.T) {
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
	errs := make(chan error, 50*40)
	for g := range 50 {
		wg.Go(func() {
			user := fmt.Sprintf("user%d", g%5)
			for i := range 40 {
				d := sessiontest.NewDigest()
				var err error
				switch i % 8 {
				case 0:
					err = s.Create(ctx, d, rec(user))
				case 1:
					err = s.Update(ctx, shared, &session.Change{Set: map[string][]byte{fmt.Sprintf("g%d_%d", g, i): []byte(`1`)}, LastSeen: now, IdleExpiry: now.Add(time.Hour)})
				case 2:
					_, err = s.Load(ctx, shared)
				case 3:
					err = s.Touch(ctx, shared, now, now.Add(time.Hour))
				case 4:
					if err = s.Create(ctx, d, rec(user)); err == nil {
						err = s.Renew(ctx, d, sessiontest.NewDigest(), rec(user))
					}
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
	n := 0
	for err := range errs {
		n++
		if n < 5 {
			t.Errorf("surfaced error: %v", err)
		}
	}
	if n > 0 {
		t.Fatalf("%d errors surfaced under 50 concurrent goroutines", n)
	}
	got, err := s.Load(ctx, shared)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + 50*5; len(got.Values) != want { // 5 updates of distinct keys per goroutine
		t.Fatalf("shared session has %d keys, want %d: concurrent updates were lost", len(got.Values), want)
	}
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
	clock := time.Now()
	m, err := session.New(st, session.WithClock(func() time.Time { return clock }))
	if err != nil {
		t.Fatal(err)
	}
	sessiontest.CheckRequestCosts(t, sessiontest.Handler(m), func(d time.Duration) { clock = clock.Add(d) },
		func() int64 { return counter.Statements() + counter.Transactions() }, sessiontest.StandardCosts)
}

// A corrupt data column is a security event: the record is deleted and the
// request is anonymous, never a 5xx loop or a panic.
func TestCorruptDataColumn(t *testing.T) {
	st := newStore(t)
	var logs bytes.Buffer
	m, err := session.New(st, session.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if r.URL.Path == "/set" {
			s.Set("a", "1")
			return
		}
		v, ok, err := session.Get[string](s, "a")
		fmt.Fprint(w, v, ok, err)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/set", nil))
	cookie := w.Result().Cookies()[0]
	for _, corrupt := range []string{"{not json", "[1,2]", "42", `"str"`, ""} {
		if _, err := st.DB().Exec(`UPDATE sessions SET data = ?`, corrupt); err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/get", nil)
		r.AddCookie(cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		body, _ := io.ReadAll(w.Body)
		if w.Code != 200 || string(body) != "false <nil>" {
			t.Fatalf("data %q: %d %q", corrupt, w.Code, body)
		}
		var n int
		st.DB().QueryRow(`SELECT count(*) FROM sessions`).Scan(&n)
		if n != 0 {
			t.Fatalf("data %q: corrupt record not deleted", corrupt)
		}
		// Put the row back for the next case.
		w = httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/set", nil))
		cookie = w.Result().Cookies()[0]
	}
	if !strings.Contains(logs.String(), "reason=corrupt") {
		t.Fatalf("not logged: %s", logs.String())
	}
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
