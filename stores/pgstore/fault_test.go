package pgstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/pgstore"
)

// The server kills the store's connections (pg_terminate_backend) while 8
// clients keep writing: failed requests are 503 without a new cookie, never
// an anonymous session; the pool reconnects; every acknowledged write is in
// its session afterwards.
func TestConnectionsKilledMidTraffic(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(dsn())
	if err != nil {
		t.Fatal(err)
	}
	app := "pgstore-fault-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	cfg.ConnConfig.RuntimeParams["application_name"] = app
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	table := "sessions_fault_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	st, err := pgstore.New(ctx, pool, pgstore.WithTable(table))
	if err != nil {
		t.Fatalf("PostgreSQL is required: %v", err)
	}
	defer st.Close()
	defer testPool(t).Exec(ctx, `DROP TABLE "`+table+`"`)
	killer := testPool(t)
	var killed int64
	failed := sessiontest.WritesUnderFault(t, st, 8, func() {
		for range 5 {
			time.Sleep(100 * time.Millisecond)
			var n int64
			if err := killer.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n); err != nil {
				t.Error(err)
				return
			}
			killed += n
		}
		time.Sleep(200 * time.Millisecond)
	})
	if killed == 0 {
		t.Fatal("no connection was killed: the test did not exercise the fault")
	}
	t.Logf("%d connections killed, %d requests failed with 503, no acknowledged write lost", killed, failed)
}
