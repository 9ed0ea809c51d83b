package pgstore_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/pgstore"
)

// BenchmarkRawSelect is the floor: one primary-key SELECT of the same row
// and columns, straight through pgx.
func BenchmarkRawSelect(b *testing.B) { sessiontest.BenchRaw(b, rawSelect(b, newStore(b))) }

// BenchmarkReadOnlyVsSelect interleaves the read-only request with the
// raw SELECT and reports the ratio of their medians (issue 3's target:
// within 1.2x).
func BenchmarkReadOnlyVsSelect(b *testing.B) {
	st := newStore(b)
	sessiontest.BenchAgainstRaw(b, st, "/read", rawSelect(b, st))
}

// rawSelect returns the store's Load query, by hand, of the standard
// session.
func rawSelect(b *testing.B, st *pgstore.Store) func(context.Context) error {
	d := sessiontest.BenchDigest(b, st)
	q := "SELECT digest, data, user_id, auth_at, created_at, last_seen_at, idle_timeout_ms, idle_expires_at, abs_expires_at, expires_at, expire_on_close, version, ip, user_agent FROM \"" + st.Table() + "\" WHERE digest = $1"
	var (
		digest, data               []byte
		user                       *string
		auth                       *int64
		c1, c2, c3, c4, c5, c6, c8 int64
		onClose                    bool
		ip, ua                     string
	)
	return func(ctx context.Context) error {
		return st.Pool().QueryRow(ctx, q, d[:]).Scan(&digest, &data, &user, &auth, &c1, &c2, &c3, &c4, &c5, &c6, &onClose, &c8, &ip, &ua)
	}
}

// BenchmarkReadOnlyRequest: a request reading one key through the
// middleware (one SELECT; no touch within the run).
func BenchmarkReadOnlyRequest(b *testing.B) { sessiontest.BenchStoreRequest(b, newStore(b), "/read") }

// BenchmarkWriteRequest: a request setting one key (SELECT + UPDATE).
func BenchmarkWriteRequest(b *testing.B) { sessiontest.BenchStoreRequest(b, newStore(b), "/write") }

// BenchmarkCleanupMillion deletes 1,000,000 expired rows in batches of 1,000
// while 4 goroutines read live sessions by primary key, and reports the
// total time and the worst and 99th-percentile read latency during it. Run
// with -benchtime 1x; it takes about a minute.
func BenchmarkCleanupMillion(b *testing.B) {
	for range b.N {
		b.StopTimer()
		st := newStore(b)
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		if _, err := st.Pool().Exec(ctx, `INSERT INTO "`+st.Table()+`" (digest, data, user_id, created_at, last_seen_at, idle_expires_at, abs_expires_at, expires_at, version)
			SELECT sha256(i::text::bytea), '{"user_id":42,"name":"Ada Lovelace"}', 'user' || (i % 50000), $1, $1, $1, $1, $1, 1 FROM generate_series(1, 1000000) i`, now.Add(-time.Hour).UnixMilli()); err != nil {
			b.Fatal(err)
		}
		st.Pool().Exec(ctx, `ANALYZE "`+st.Table()+`"`)
		var live []session.Digest
		for range 1000 {
			d := sessiontest.NewDigest()
			rec := &session.Record{Values: map[string][]byte{"name": []byte(`"x"`)}, Created: now, LastSeen: now, IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(time.Hour), Version: 1}
			if err := st.Create(ctx, d, rec); err != nil {
				b.Fatal(err)
			}
			live = append(live, d)
		}
		stop := make(chan struct{})
		var mu sync.Mutex
		var lat []time.Duration
		var readers sync.WaitGroup
		for i := range 4 {
			readers.Go(func() {
				var mine []time.Duration
				for j := 0; ; j++ {
					select {
					case <-stop:
						mu.Lock()
						lat = append(lat, mine...)
						mu.Unlock()
						return
					default:
					}
					t0 := time.Now()
					if _, err := st.Load(ctx, live[(i*250+j)%len(live)]); err != nil {
						b.Error(err)
					}
					mine = append(mine, time.Since(t0))
				}
			})
		}
		b.StartTimer()
		start := time.Now()
		total := 0
		for {
			n, err := st.DeleteExpired(ctx, now, 1000)
			if err != nil {
				b.Fatal(err)
			}
			total += n
			if n < 1000 {
				break
			}
		}
		elapsed := time.Since(start)
		b.StopTimer()
		close(stop)
		readers.Wait()
		if total != 1000000 {
			b.Fatalf("deleted %d rows", total)
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(elapsed.Seconds(), "cleanup-s")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "worst-read-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-read-ms")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-read-ms")
		b.ReportMetric(float64(len(lat)), "reads")
		b.StartTimer()
	}
}

// BenchmarkStoreLoad is Store.Load alone, without the middleware.
func BenchmarkStoreLoad(b *testing.B) { sessiontest.BenchLoad(b, newStore(b)) }

// BenchmarkForceLogoutMillion fills a table with 1,000,000 logged-in
// sessions (100,000 users, 10 each) and revokes one user's sessions through
// the store (one DELETE on the user_id index). Run with -benchtime 1x.
func BenchmarkForceLogoutMillion(b *testing.B) {
	for range b.N {
		b.StopTimer()
		st := newStore(b)
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		if _, err := st.Pool().Exec(ctx, `INSERT INTO "`+st.Table()+`" (digest, data, user_id, auth_at, created_at, last_seen_at, idle_expires_at, abs_expires_at, expires_at, version, ip, user_agent)
			SELECT sha256(i::text::bytea), '{"user_id":42,"csrf":"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN","name":"Ada Lovelace"}',
				'user' || (i / 10), $1, $1, $1, $2, $3, $2, 1, '192.0.2.1', 'Firefox/140' FROM generate_series(0, 999999) i`,
			now.UnixMilli(), now.Add(30*time.Minute).UnixMilli(), now.Add(12*time.Hour).UnixMilli()); err != nil {
			b.Fatal(err)
		}
		st.Pool().Exec(ctx, `ANALYZE "`+st.Table()+`"`)
		var size int64
		st.Pool().QueryRow(ctx, `SELECT pg_total_relation_size($1)`, st.Table()).Scan(&size)
		var idx int64
		st.Pool().QueryRow(ctx, `SELECT pg_relation_size($1)`, st.Table()+"_user_id_idx").Scan(&idx)
		b.StartTimer()
		t0 := time.Now()
		n, err := st.DeleteByUser(ctx, "user4242", session.Digest{})
		elapsed := time.Since(t0)
		b.StopTimer()
		if err != nil || n != 10 {
			b.Fatalf("DeleteByUser = %d, %v", n, err)
		}
		b.ReportMetric(float64(elapsed.Microseconds())/1000, "force-logout-ms")
		b.ReportMetric(float64(size)/1e6, "bytes/session")
		b.ReportMetric(float64(idx)/1e6, "user-index-bytes/session")
		b.StartTimer()
	}
}
