package pgstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/session"
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
	defer testPool(t).Exec(ctx, `DROP TABLE "`+table+`"`)
	m, _ := session.New(st, session.WithLogger(slog.New(slog.DiscardHandler)))
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := session.FromContext(r.Context()).Set(r.FormValue("k"), "v"); err != nil {
			http.Error(w, err.Error(), 500)
		}
	}))
	do := func(path string, c *http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		if c != nil {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	type user struct {
		cookie *http.Cookie
		acked  []string
	}
	users := make([]*user, 8)
	for i := range users {
		users[i] = &user{cookie: do("/?k=start", nil).Result().Cookies()[0], acked: []string{"start"}}
	}
	stop := make(chan struct{})
	var failed, newCookies atomic.Int64
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				k := fmt.Sprintf("k%d_%d", i, n)
				w := do("/?k="+k, u.cookie)
				for _, c := range w.Result().Cookies() {
					if c.Value != u.cookie.Value {
						newCookies.Add(1)
					}
				}
				switch w.Code {
				case 200:
					u.acked = append(u.acked, k)
				case http.StatusServiceUnavailable:
					failed.Add(1)
				default:
					t.Errorf("status %d", w.Code)
				}
			}
		})
	}
	killer := testPool(t)
	var killed int64
	for range 5 {
		time.Sleep(100 * time.Millisecond)
		var n int64
		if err := killer.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		killed += n
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if killed == 0 {
		t.Fatal("no connection was killed: the test did not exercise the fault")
	}
	if newCookies.Load() > 0 {
		t.Fatalf("%d responses issued a different session", newCookies.Load())
	}
	for i, u := range users {
		d, _ := session.DigestOf(u.cookie.Value)
		rec, err := st.Load(ctx, d)
		if err != nil {
			t.Fatalf("user %d after the faults: %v", i, err)
		}
		for _, k := range u.acked {
			if _, ok := rec.Values[k]; !ok {
				t.Fatalf("user %d: acknowledged write %s lost", i, k)
			}
		}
	}
	t.Logf("%d connections killed, %d requests failed with 503, no acknowledged write lost", killed, failed.Load())
}
