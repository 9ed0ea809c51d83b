package redisstore_test

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/redisstore"
)

// standardRecord is the logged-in session of user "user<n>" in the memory
// and CPU benchmarks: three values, no client.
func standardRecord(user int, now time.Time) *session.Record {
	return &session.Record{
		Values: map[string][]byte{"user_id": []byte(strconv.Itoa(user)), "csrf": []byte(`"` + sessiontest.CSRF + `"`), "name": []byte(`"Ada Lovelace"`)},
		UserID: "user" + strconv.Itoa(user), AuthTime: now, Created: now, LastSeen: now,
		IdleExpiry: now.Add(30 * time.Minute), AbsExpiry: now.Add(12 * time.Hour), Version: 1,
	}
}

// documentedBytes reads a figure of the README's memory table: the number
// in the row whose first cell is what.
func documentedBytes(t *testing.T, what string) int64 {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\| ` + regexp.QuoteMeta(what) + ` \| ([0-9,]+) \|$`).FindSubmatch(readme)
	if m == nil {
		t.Fatalf("README.md has no row %q in its memory table", what)
	}
	n, err := strconv.ParseInt(string(regexp.MustCompile(`,`).ReplaceAll(m[1], nil)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMemoryLayout pins the Redis layout of a logged-in session as the
// README documents it: the keys one session creates, the fields of its
// hash, the listpack encodings and the MEMORY USAGE figures of the
// README's table. Adding a field or a key, or growing one, fails it until
// the README is updated (and BenchmarkForceLogoutMillion re-run). It runs
// on a redis-server of its own, where the keys are the session's only.
func TestMemoryLayout(t *testing.T) {
	p := startRedis(t)
	c := redis.NewClient(&redis.Options{Addr: p.addr})
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	st, err := redisstore.New(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	d := sessiontest.NewDigest()
	if err := st.Create(ctx, d, standardRecord(42, time.Now().UTC().Truncate(time.Millisecond))); err != nil {
		t.Fatal(err)
	}
	key, user := st.KeyOf(d), st.UserKeyOf("user42")
	shard := key[:len(redisstore.DefaultPrefix)+len("{00}:")] + "exp"
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	want := []string{key, shard, user}
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Fatalf("keys of one session: %q, want %q", keys, want)
	}
	fields, err := c.HKeys(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(fields)
	wantFields := []string{"_a", "_i", "_l", "_m", "_s", "_u", "_v", "v:csrf", "v:name", "v:user_id"}
	if !slices.Equal(fields, wantFields) {
		t.Fatalf("fields of the session hash: %q, want %q (update the README's layout)", fields, wantFields)
	}
	// The expiry shard's entry: the raw digest and the user id, nothing
	// more, scored by the expiry (a longer member costs every session).
	members, err := c.ZRange(ctx, shard, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if want := string(d[:]) + "user42"; len(members) != 1 || members[0] != want {
		t.Fatalf("members of the expiry shard: %q, want %q (update the README's layout)", members, want)
	}
	userFields, err := c.HGetAll(ctx, user).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(userFields) != 1 || userFields[string(d[:])] != "" {
		t.Fatalf("the user index: %q, want the raw digest with an empty value", userFields)
	}
	for _, k := range []string{key, user} {
		if enc, err := c.ObjectEncoding(ctx, k).Result(); err != nil || enc != "listpack" {
			t.Errorf("encoding of %q = %q, %v; want listpack", k, enc, err)
		}
	}
	for _, row := range []struct{ key, what string }{
		{key, "`MEMORY USAGE` of the session hash"},
		{user, "`MEMORY USAGE` of a user index holding one session"},
	} {
		got, err := c.MemoryUsage(ctx, row.key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if doc := documentedBytes(t, row.what); got != doc {
			t.Errorf("%s: %d bytes, the README says %d", row.what, got, doc)
		}
	}
}
