package memcachedstore_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/session/stores/memcachedstore"
)

// placement returns the server each of n session-like keys lands on.
func placement(t *testing.T, pick func(string) (net.Addr, error), n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		sum := sha256.Sum256([]byte(strconv.Itoa(i)))
		addr, err := pick("session:" + hex.EncodeToString(sum[:]))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = addr.String()
	}
	return out
}

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("127.0.0.1:%d", 11211+i)
	}
	return out
}

// Issue 24 asks for consistent key distribution: adding a fourth server
// to three moves about a quarter of the sessions, all to the new server,
// and removing one moves only its own; gomemcache's default (crc32 modulo
// the number of servers) moves about three quarters, logging those users
// out. Keys spread evenly.
func TestServersMoveFewKeys(t *testing.T) {
	const n = 100_000
	three, err := memcachedstore.NewServers(names(3)...)
	if err != nil {
		t.Fatal(err)
	}
	four, err := memcachedstore.NewServers(names(4)...)
	if err != nil {
		t.Fatal(err)
	}
	before, after := placement(t, three.PickServer, n), placement(t, four.PickServer, n)
	moved, perServer := 0, map[string]int{}
	for i := range before {
		perServer[after[i]]++
		if before[i] != after[i] {
			moved++
			if after[i] != names(4)[3] {
				t.Fatalf("key %d moved from %s to %s, not to the new server", i, before[i], after[i])
			}
		}
	}
	if f := float64(moved) / n; f < 0.22 || f > 0.28 {
		t.Fatalf("adding a fourth server moved %.1f%% of the keys, want about 25%%", 100*f)
	}
	for addr, c := range perServer {
		if f := float64(c) / n; f < 0.23 || f > 0.27 {
			t.Fatalf("%s holds %.1f%% of the keys, want about 25%%", addr, 100*f)
		}
	}
	// Removing the third server of four moves only its keys.
	without, err := memcachedstore.NewServers(names(4)[0], names(4)[1], names(4)[3])
	if err != nil {
		t.Fatal(err)
	}
	for i, addr := range placement(t, without.PickServer, n) {
		if addr != after[i] && after[i] != names(4)[2] {
			t.Fatalf("removing %s moved key %d from %s to %s", names(4)[2], i, after[i], addr)
		}
	}

	// gomemcache's default, for comparison.
	var modThree, modFour memcache.ServerList
	if err := modThree.SetServers(names(3)...); err != nil {
		t.Fatal(err)
	}
	if err := modFour.SetServers(names(4)...); err != nil {
		t.Fatal(err)
	}
	modBefore, modAfter := placement(t, modThree.PickServer, n), placement(t, modFour.PickServer, n)
	modMoved := 0
	for i := range modBefore {
		if modBefore[i] != modAfter[i] {
			modMoved++
		}
	}
	t.Logf("adding a fourth server moved %.1f%% of %d keys (gomemcache's modulo: %.1f%%)", 100*float64(moved)/n, n, 100*float64(modMoved)/n)
	if float64(modMoved)/n < 0.6 {
		t.Fatalf("gomemcache's modulo moved only %.1f%%: this test's comparison no longer holds", 100*float64(modMoved)/n)
	}
}

func TestServersRefusals(t *testing.T) {
	for _, list := range [][]string{nil, {"127.0.0.1:11211", "127.0.0.1:11211"}, {"no port"}} {
		if _, err := memcachedstore.NewServers(list...); err == nil {
			t.Errorf("NewServers(%q) accepted", list)
		}
	}
}

func BenchmarkPickServer(b *testing.B) {
	s, err := memcachedstore.NewServers(names(3)...)
	if err != nil {
		b.Fatal(err)
	}
	var l memcache.ServerList
	if err := l.SetServers(names(3)...); err != nil {
		b.Fatal(err)
	}
	key := "session:" + hex.EncodeToString(make([]byte, 32))
	b.Run("rendezvous", func(b *testing.B) {
		for b.Loop() {
			s.PickServer(key)
		}
	})
	b.Run("gomemcache-modulo", func(b *testing.B) {
		for b.Loop() {
			l.PickServer(key)
		}
	})
}
