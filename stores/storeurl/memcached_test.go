package storeurl_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/memcachedstore"
	"github.com/sessionkit/session/stores/memcachedstore/memcachedtest"
	"github.com/sessionkit/session/stores/storeurl"
)

// memcached:// opens the Memcached store over several servers: sessions,
// the user index and force-logout work through it, counting is an error
// wrapping ErrUnsupported, and so is cleanup (nothing to do), and malformed URLs
// are errors naming the problem.
func TestOpenMemcached(t *testing.T) {
	a, b := memcachedtest.Start(t), memcachedtest.Start(t)
	ctx := context.Background()
	st, err := storeurl.Open(ctx, "memcached://"+a.Addr+","+b.Addr+"?prefix=urltest:&timeout=2s&max_idle=8")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Kind != "memcached" {
		t.Fatalf("kind %q", st.Kind)
	}
	m, err := session.New(st)
	if err != nil {
		t.Fatal(err)
	}
	sessiontest.LoginToken(t, m, "alice", map[string]any{"a": 1})
	if list, err := m.UserSessions(ctx, "alice"); err != nil || len(list) != 1 {
		t.Fatalf("user sessions: %v, %v", list, err)
	}
	if n, err := m.RevokeUser(ctx, "alice"); err != nil || n != 1 {
		t.Fatalf("revoke: %d, %v", n, err)
	}
	if _, err := m.CountActive(ctx); !errors.Is(err, session.ErrUnsupported) {
		t.Fatalf("count: %v", err)
	}
	if n, err := st.DeleteExpired(ctx, time.Now(), 100); n != 0 || !errors.Is(err, session.ErrUnsupported) {
		t.Fatalf("cleanup: %d, %v", n, err)
	}
	for _, bad := range []string{
		"memcached://",
		"memcached://user:pw@" + a.Addr,
		"memcached://" + a.Addr + "?tiemout=1s",
		"memcached://" + a.Addr + "?timeout=-1s",
		"memcached://127.0.0.1:99999",
		"memcached://" + a.Addr + "?table=x",
		"memcached://" + a.Addr + "?prefix=bad%20prefix",
		"memcached://" + a.Addr + "?distribution=ketama",
	} {
		if st, err := storeurl.Open(ctx, bad); err == nil {
			st.Close()
			t.Errorf("%q accepted", bad)
		}
	}
}

// Every client of the same sessions must place keys alike. An application
// that builds its client with gomemcache's memcache.New (crc32 modulo)
// is served by URLs with distribution=modulo: sessionctl then finds and
// revokes every session; the default (rendezvous hashing) would look for
// half of them on the wrong server.
func TestMemcachedDistribution(t *testing.T) {
	a, b := memcachedtest.Start(t), memcachedtest.Start(t)
	ctx := context.Background()
	client := memcache.New(a.Addr, b.Addr) // the application's own client
	client.Timeout = 2 * time.Second
	appStore, err := memcachedstore.New(client, memcachedstore.WithPrefix("dist:"))
	if err != nil {
		t.Fatal(err)
	}
	app, err := session.New(appStore)
	if err != nil {
		t.Fatal(err)
	}
	const users = 20
	for i := range users {
		sessiontest.LoginToken(t, app, fmt.Sprintf("user%d", i), nil)
	}
	found := func(url string) int {
		st, err := storeurl.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		m, err := session.New(st)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for i := range users {
			if list, err := m.UserSessions(ctx, fmt.Sprintf("user%d", i)); err == nil && len(list) == 1 {
				n++
			}
		}
		return n
	}
	if n := found("memcached://" + a.Addr + "," + b.Addr + "?prefix=dist:&distribution=modulo"); n != users {
		t.Fatalf("distribution=modulo found the sessions of %d of %d users", n, users)
	}
	if n := found("memcached://" + a.Addr + "," + b.Addr + "?prefix=dist:"); n == users {
		t.Fatalf("rendezvous hashing found every session the modulo client placed: the test shows nothing")
	}
}
