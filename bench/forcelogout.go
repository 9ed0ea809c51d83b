package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/stores/redisstore"
)

// forceLogout fills Redis (database 15 of the server, flushed before and
// after) with n logged-in sessions in each format (10 per user) and times
// logging one user out: through our store's user index, and
// the scan-everything way of the popular scs tutorial (SCAN every session
// key, GET it, decode it, DEL it if it belongs to the user).
func forceLogout(ctx context.Context, addr string, n int) error {
	client := redis.NewClient(&redis.Options{Addr: addr, DB: 15})
	defer client.Close()
	if err := client.FlushDB(ctx).Err(); err != nil {
		return err
	}
	defer client.FlushDB(ctx)
	fmt.Printf("Force logout of one user among %d sessions in Redis (10 sessions per user)\n", n)
	const perUser = 10
	now := time.Now().UTC().Truncate(time.Millisecond)

	// Ours, through the store.
	st, err := redisstore.New(ctx, client)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := parallel(n, func(i int) error {
		rec := &session.Record{
			Values: map[string][]byte{"user_id": []byte(strconv.Itoa(i / perUser)), "csrf": []byte(`"` + csrf + `"`), "name": []byte(`"Ada Lovelace"`)},
			UserID: "user" + strconv.Itoa(i/perUser), AuthTime: now, Created: now, LastSeen: now,
			IdleExpiry: now.Add(idleTimeout), AbsExpiry: now.Add(12 * time.Hour), Version: 1,
		}
		var d session.Digest
		copy(d[:], fmt.Sprintf("%032d", i))
		return st.Create(ctx, d, rec)
	}); err != nil {
		return err
	}
	fill := time.Since(t0)
	// Five users, one after the other; the median is reported.
	var times []time.Duration
	for k := 1; k <= 5; k++ {
		t0 = time.Now()
		deleted, err := st.DeleteByUser(ctx, "user"+strconv.Itoa(n/perUser*k/6), session.Digest{})
		times = append(times, time.Since(t0))
		if err != nil || deleted != perUser {
			return fmt.Errorf("DeleteByUser = %d, %v", deleted, err)
		}
	}
	slices.Sort(times)
	ours := times[len(times)/2]
	target := "user" + strconv.Itoa(n/perUser/2)
	client.FlushDB(ctx)

	// scs's format: gob-encoded (deadline, values) under scs:session:<token>.
	codec := scs.GobCodec{}
	t0 = time.Now()
	if err := parallel(n, func(i int) error {
		b, err := codec.Encode(now.Add(12*time.Hour), map[string]any{"user_id": "user" + strconv.Itoa(i/perUser), "csrf": csrf, "name": "Ada Lovelace"})
		if err != nil {
			return err
		}
		return client.Set(ctx, "scs:session:"+strconv.Itoa(i), b, 12*time.Hour).Err()
	}); err != nil {
		return err
	}
	fillScs := time.Since(t0)
	t0 = time.Now()
	var cursor uint64
	removed := 0
	for {
		keys, next, err := client.Scan(ctx, cursor, "scs:session:*", 1000).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			vals, err := client.MGet(ctx, keys...).Result()
			if err != nil {
				return err
			}
			for j, v := range vals {
				s, ok := v.(string)
				if !ok {
					continue
				}
				_, values, err := codec.Decode([]byte(s))
				if err != nil {
					return err
				}
				if values["user_id"] == target {
					client.Del(ctx, keys[j])
					removed++
				}
			}
		}
		cursor = next
		if cursor == 0 {
			break
		}
	}
	scan := time.Since(t0)
	if removed != perUser {
		return fmt.Errorf("scan removed %d sessions", removed)
	}
	fmt.Printf("  ours (user index):   %v median of 5 users (%v to %v)   (filling %d sessions took %v)\n",
		ours.Round(10*time.Microsecond), times[0].Round(10*time.Microsecond), times[len(times)-1].Round(10*time.Microsecond), n, fill.Round(time.Second))
	fmt.Printf("  scan everything:     %v   (filling took %v)\n", scan.Round(time.Millisecond), fillScs.Round(time.Second))
	fmt.Printf("  scan / ours:         %.0fx\n", float64(scan)/float64(ours))
	return nil
}

// parallel runs f(0..n-1) on 16 goroutines and returns the first error.
func parallel(n int, f func(i int) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				if err := f(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}
