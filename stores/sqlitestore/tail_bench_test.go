package sqlitestore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/sqlitestore"
)

// BenchmarkConcurrentWriteTail: 200 goroutines each moving the expiry of
// its own session (one UPDATE), as 200 users' requests do, reporting the
// latency distribution of one write. "store" is Store.Touch through the
// store's single writer; "pool" is the same UPDATE in autocommit mode
// from a database/sql pool of connections that compete for SQLite's write
// lock through its busy handler, which is how this store wrote before
// issue 25 and where its second-long stalls came from.
func BenchmarkConcurrentWriteTail(b *testing.B) {
	b.Run("store", func(b *testing.B) {
		st := newStore(b)
		digests := tailSessions(b, st)
		benchTail(b, digests, func(ctx context.Context, d session.Digest, now time.Time) error {
			return st.Touch(ctx, d, now, now.Add(time.Hour))
		})
	})
	b.Run("pool", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "pool.db")
		st, err := sqlitestore.Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		digests := tailSessions(b, st)
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		db, err := sql.Open("sqlite", sqlitestore.DSN(path))
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		stmt, err := db.Prepare(`UPDATE sessions SET last_seen_at = MAX(last_seen_at, ?), idle_expires_at = MAX(idle_expires_at, ?), expires_at = MIN(MAX(idle_expires_at, ?), abs_expires_at) WHERE digest = ?`)
		if err != nil {
			b.Fatal(err)
		}
		defer stmt.Close()
		benchTail(b, digests, func(ctx context.Context, d session.Digest, now time.Time) error {
			e := now.Add(time.Hour).UnixMilli()
			_, err := stmt.ExecContext(ctx, now.UnixMilli(), e, e, d[:])
			return err
		})
	})
}

const tailWriters = 200

func tailSessions(b *testing.B, st session.Store) []session.Digest {
	b.Helper()
	now := time.Now()
	out := make([]session.Digest, tailWriters)
	for i := range out {
		out[i] = sessiontest.NewDigest()
		r := &session.Record{Created: now, LastSeen: now, IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(2 * time.Hour), Version: 1}
		if err := st.Create(context.Background(), out[i], r); err != nil {
			b.Fatal(err)
		}
	}
	return out
}

// benchTail runs write from tailWriters goroutines for b.N writes in all
// and reports the median, 99th percentile and worst latency of one write.
func benchTail(b *testing.B, digests []session.Digest, write func(context.Context, session.Digest, time.Time) error) {
	ctx := context.Background()
	var (
		mu  sync.Mutex
		all []time.Duration
		wg  sync.WaitGroup
	)
	per := max(1, b.N/tailWriters)
	b.ResetTimer()
	for _, d := range digests {
		wg.Go(func() {
			lat := make([]time.Duration, 0, per)
			for range per {
				start := time.Now()
				if err := write(ctx, d, start); err != nil {
					b.Error(err)
					return
				}
				lat = append(lat, time.Since(start))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	b.StopTimer()
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(all[len(all)/2]), "p50-ms")
	b.ReportMetric(ms(all[len(all)*99/100]), "p99-ms")
	b.ReportMetric(ms(all[len(all)-1]), "max-ms")
}
