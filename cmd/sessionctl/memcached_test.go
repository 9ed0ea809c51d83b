package main_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/memcachedstore/memcachedtest"
	"github.com/sessionkit/session/stores/storeurl"
)

// sessionctl on a memcached:// store: a user's sessions are listed and
// revoked through the index; count and clear-expired say plainly that
// Memcached cannot, and stats lists what it can.
func TestMemcachedStore(t *testing.T) {
	a, b := memcachedtest.Start(t), memcachedtest.Start(t)
	url := "memcached://" + a.Addr + "," + b.Addr + "?prefix=ctl" + suffix() + ":"
	st, err := storeurl.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := session.New(st)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		sessiontest.LoginToken(t, m, "alice", nil)
	}
	if out, errOut, code := sessionctl(t, "--store", url, "list", "--user", "alice"); code != 0 || strings.Count(out, "\n") < 3 {
		t.Fatalf("list: %d %q %q", code, out, errOut)
	}
	if out, errOut, code := sessionctl(t, "--store", url, "revoke", "--user", "alice"); code != 0 || !strings.Contains(out, "3") {
		t.Fatalf("revoke: %d %q %q", code, out, errOut)
	}
	if list, err := m.UserSessions(context.Background(), "alice"); err != nil || len(list) != 0 {
		t.Fatalf("after revoke: %v %v", list, err)
	}
	if _, errOut, code := sessionctl(t, "--store", url, "count"); code != 1 || !strings.Contains(errOut, "Memcached cannot count") {
		t.Fatalf("count: %d %q", code, errOut)
	}
	if _, errOut, code := sessionctl(t, "--store", url, "clear-expired"); code != 1 || !strings.Contains(errOut, "nothing to clean up") {
		t.Fatalf("clear-expired: %d %q", code, errOut)
	}
	if out, errOut, code := sessionctl(t, "--store", url, "stats"); code != 0 || !strings.Contains(out, "capabilities: touch, renew, user-index\n") ||
		!strings.Contains(out, "memcachedstore.Store") || !strings.Contains(out, "Memcached cannot count") {
		t.Fatalf("stats: %d %q %q", code, out, errOut)
	}
}
