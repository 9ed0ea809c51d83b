package memcachedstore

import (
	"testing"
	"time"
)

// Memcached ends an item once its whole-second clock reaches the
// expiration: up to a second early for the seconds asked, so one more is
// given (the review saw items vanish 915 ms before their deadline); 30
// days and beyond are absolute Unix times, the past is -1.
func TestExpiration(t *testing.T) {
	now := time.Unix(1_780_000_000, 300e6)
	for _, c := range []struct {
		in   time.Duration
		want int32
	}{
		{-time.Second, -1},
		{0, -1},
		{time.Nanosecond, 2},
		{time.Second, 2},
		{1500 * time.Millisecond, 3},
		{30*24*time.Hour - time.Second, 30 * 24 * 3600},
		{30*24*time.Hour - time.Second + time.Nanosecond, int32(now.Add(30*24*time.Hour-time.Second+time.Nanosecond).Unix() + 1)},
		{40 * 24 * time.Hour, int32(now.Add(40*24*time.Hour).Unix() + 1)},
	} {
		if got := expiration(now.Add(c.in), now); got != c.want {
			t.Errorf("expiration(now+%v) = %d, want %d", c.in, got, c.want)
		}
	}
}
