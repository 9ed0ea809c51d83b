package memcachedstore_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/memcachedstore"
	"github.com/sessionkit/session/stores/memcachedstore/memcachedtest"
)

// benchStore is a store on one fresh server, with its client.
func benchStore(b *testing.B) (*memcachedstore.Store, *memcache.Client) {
	st := newStore(b, memcachedtest.Start(b))
	return st, st.Client()
}

// BenchmarkReadOnlyVsGet: the read-only request through the middleware
// against one raw get of the same item, interleaved (target: within
// 1.15x).
func BenchmarkReadOnlyVsGet(b *testing.B) {
	st, client := benchStore(b)
	d := sessiontest.BenchDigest(b, st)
	key := keyOf(b, client, d)
	sessiontest.BenchAgainstRaw(b, st, "/read", func(context.Context) error {
		_, err := client.Get(key)
		return err
	})
}

// BenchmarkLoggedInReadVsGets: the read-only request of a logged-in
// session, which reads its item and its user's index, against the raw gets
// of the same two items, interleaved.
func BenchmarkLoggedInReadVsGets(b *testing.B) {
	st, client := benchStore(b)
	h, _ := sessiontest.BenchSession(b, st)
	c := sessiontest.NewSessionAt(b, h, "/login") // user "42"
	d, ok := session.DigestOf(c.Value)
	if !ok {
		b.Fatal("the login's cookie is no token")
	}
	key, index := keyOf(b, client, d), st.UserKey("42")
	sessiontest.BenchRequestAgainstRaw(b, h, c, "/read", func(context.Context) error {
		if _, err := client.Get(key); err != nil {
			return err
		}
		_, err := client.Get(index)
		return err
	})
}

// BenchmarkWriteVsGetsCas: the request writing one key against a raw gets
// then cas of the same item, interleaved.
func BenchmarkWriteVsGetsCas(b *testing.B) {
	st, client := benchStore(b)
	d := sessiontest.BenchDigest(b, st)
	key := keyOf(b, client, d)
	sessiontest.BenchAgainstRaw(b, st, "/write", func(context.Context) error {
		it, err := client.Get(key)
		if err != nil {
			return err
		}
		return client.CompareAndSwap(it)
	})
}

// keyOf finds the item of d under the store's prefix (the test store's
// own), so the raw floor reads exactly the store's item.
func keyOf(b *testing.B, client *memcache.Client, d session.Digest) string {
	for i := range int64(1000) {
		k := "t" + strconv.FormatInt(i, 10) + ":s:" + d.String()
		if _, err := client.Get(k); err == nil {
			return k
		}
	}
	b.Fatal("the session's item was not found")
	return ""
}

// BenchmarkStoreLoad is Store.Load alone.
func BenchmarkStoreLoad(b *testing.B) {
	st, _ := benchStore(b)
	sessiontest.BenchLoad(b, st)
}

// BenchmarkMemoryPerSession stores 20,000 logged-in sessions (2,000 users
// with 10 each, with their indexes) and reports the server's bytes per
// session from its "bytes" statistic. It measures once, whatever b.N.
func BenchmarkMemoryPerSession(b *testing.B) {
	{
		srv := memcachedtest.Start(b)
		client := memcache.New(srv.Addr)
		st, err := memcachedstore.New(client)
		if err != nil {
			b.Fatal(err)
		}
		before := statBytes(b, srv.Addr)
		now := time.Now()
		const users, each = 2000, 10
		for u := range users {
			for range each {
				rec := &session.Record{Values: map[string][]byte{"theme": []byte(`"dark"`), "cart": []byte("[3,1,4]")}, UserID: fmt.Sprintf("user-%d", u),
					AuthTime: now, Created: now, LastSeen: now, IdleExpiry: now.Add(time.Hour), AbsExpiry: now.Add(12 * time.Hour), Version: 1,
					IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}
				if err := st.Create(context.Background(), sessiontest.NewDigest(), rec); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(statBytes(b, srv.Addr)-before)/(users*each), "B/session")
		client.Close()
		srv.Stop()
	}
}

// statBytes reads memcached's "bytes" statistic (memory used by items).
func statBytes(b *testing.B, addr string) int64 {
	out, err := memcachedtest.Stats(addr)
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "STAT bytes "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	b.Fatal("no bytes statistic")
	return 0
}
