package pgstore_test

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/pgstore"
)

// DSN of the test server; the tests fail (never skip) when it is down.
func dsn() string {
	if v := os.Getenv("SESSION_TEST_POSTGRES_URL"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

var (
	poolOnce sync.Once
	pool     *pgxpool.Pool
	poolErr  error
	queries  atomic.Int64
)

// countTracer counts every statement pgx sends (BEGIN and COMMIT included).
type countTracer struct{}

func (countTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	queries.Add(1)
	return ctx
}
func (countTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func testPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	poolOnce.Do(func() {
		cfg, err := pgxpool.ParseConfig(dsn())
		if err != nil {
			poolErr = err
			return
		}
		cfg.ConnConfig.Tracer = countTracer{}
		pool, poolErr = pgxpool.NewWithConfig(context.Background(), cfg)
		if poolErr == nil {
			poolErr = pool.Ping(context.Background())
		}
	})
	if poolErr != nil {
		t.Fatalf("PostgreSQL at %s is required (set SESSION_TEST_POSTGRES_URL): %v", dsn(), poolErr)
	}
	return pool
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pool != nil {
		pool.Close()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// newStore returns a store on a table of its own, dropped after the test.
func newStore(t testing.TB, opts ...pgstore.Option) *pgstore.Store {
	t.Helper()
	p := testPool(t)
	var b [6]byte
	rand.Read(b[:])
	table := "sessions_test_" + hex.EncodeToString(b[:])
	s, err := pgstore.New(context.Background(), p, append([]pgstore.Option{pgstore.WithTable(table)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
		if _, err := p.Exec(context.Background(), `DROP TABLE IF EXISTS "`+table+`"`); err != nil {
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
	p := testPool(t)
	ctx := context.Background()
	if _, err := p.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS pgstore_schema_test`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Exec(ctx, `DROP SCHEMA pgstore_schema_test CASCADE`) })
	conn, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, `SET search_path TO pgstore_schema_test; `+schemaSQL)
	conn.Exec(ctx, `RESET search_path`)
	conn.Release()
	if err != nil {
		t.Fatal(err)
	}
	st, err := pgstore.New(ctx, p, pgstore.WithTable("pgstore_schema_test.sessions"), pgstore.WithoutSchema())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Round trip through the schema-qualified table created from the file.
	d := sessiontest.NewDigest()
	now := time.Now().UTC().Truncate(time.Millisecond)
	rec := &session.Record{Values: map[string][]byte{"a": []byte(`"\u0000x"`)}, UserID: "u", Created: now, LastSeen: now, IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(time.Hour), Version: 1}
	if err := st.Create(ctx, d, rec); err != nil {
		t.Fatal(err)
	}
	got, err := st.Load(ctx, d)
	if err != nil || string(got.Values["a"]) != `"\u0000x"` {
		t.Fatalf("Load = %v, %v", got, err)
	}
	for _, bad := range []string{"x; DROP TABLE y", "a.b.c", `a"b`, "1abc", "a-b"} {
		if _, err := pgstore.New(ctx, p, pgstore.WithTable(bad)); err == nil {
			t.Errorf("table name %q accepted", bad)
		}
	}
}

// Statements per request through the middleware, counted by a pgx tracer
// (BEGIN and COMMIT would count): read 1 (+ the throttled touch), write 2,
// new session 1, login from an anonymous session 2.
func TestStatementsPerRequest(t *testing.T) {
	st := newStore(t)
	sessiontest.CheckRequestCosts(t, st, queries.Load, sessiontest.StandardCosts)
}

// A corrupt data column is a security event: the record is deleted and the
// request is anonymous, never a 5xx loop or a panic.
func TestCorruptDataColumn(t *testing.T) {
	st := newStore(t)
	sessiontest.CheckCorruptRecords(t, st, func(d session.Digest, data string) error {
		_, err := st.Pool().Exec(context.Background(), `UPDATE "`+st.Table()+`" SET data = $1::json WHERE digest = $2`, data, d[:])
		return err
	}, `[1,2]`, `42`, `"str"`, `true`)
}

// 50 goroutines of mixed operations: serialization failures and deadlocks
// are retried, nothing surfaces, no concurrent update is lost.
func TestFiftyConcurrentGoroutines(t *testing.T) {
	sessiontest.MixedConcurrentOperations(t, newStore(t), 50, 16)
}

// Two cleaners on the same table (two servers) with concurrent readers:
// every expired row goes, every live row stays.
func TestConcurrentCleanersAndReaders(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	// Bulk-insert 20,000 expired rows and 200 live ones.
	if _, err := st.Pool().Exec(ctx, `INSERT INTO "`+st.Table()+`" (digest, data, created_at, last_seen_at, idle_expires_at, abs_expires_at, expires_at, version)
		SELECT sha256(i::text::bytea), '{}', $1, $1, $1, $1, $1, 1 FROM generate_series(1, 20000) i`, now.Add(-time.Hour).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	var live []session.Digest
	for range 200 {
		d := sessiontest.NewDigest()
		if err := st.Create(ctx, d, &session.Record{Created: now, LastSeen: now, IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(time.Hour), Version: 1}); err != nil {
			t.Fatal(err)
		}
		live = append(live, d)
	}
	var wg sync.WaitGroup
	var deleted atomic.Int64
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				n, err := st.DeleteExpired(ctx, now, 1000)
				if err != nil {
					t.Error(err)
					return
				}
				deleted.Add(int64(n))
				if n < 1000 {
					return
				}
			}
		})
	}
	var readers sync.WaitGroup
	for i := range 4 {
		readers.Go(func() {
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := st.Load(ctx, live[(i*50+j)%len(live)]); err != nil {
					t.Errorf("live read during cleanup: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	if deleted.Load() != 20000 {
		t.Fatalf("cleaners deleted %d rows, want 20000", deleted.Load())
	}
	if n, err := st.CountActive(ctx, now); err != nil || n != 200 {
		t.Fatalf("CountActive = %d, %v", n, err)
	}
}

func TestUnreachableServerIsAnError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := pgstore.Open(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2"); err == nil {
		t.Fatal("Open of an unreachable server succeeded")
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
