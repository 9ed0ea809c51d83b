package main_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/stores/pgstore"
	"github.com/sessionkit/session/stores/redisstore"
	"github.com/sessionkit/session/stores/storeurl"
)

var binary string

// TestMain builds the real binary: the tests run it as an operator would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sessionctl")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "sessionctl")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building sessionctl: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func sessionctl(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func suffix() string {
	var b [5]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// populate logs in users through a manager on the store: alice ×3, bob ×1,
// and 4 anonymous sessions that are already expired for a 1-minute idle
// timeout.
func populate(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	st, err := storeurl.Open(ctx, url)
	if err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	defer st.Close()
	clock := time.Now()
	m, err := session.New(st.Store, session.WithClock(func() time.Time { return clock }))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := r.FormValue("u"); u != "" {
			m.Login(r.Context(), u)
			return
		}
		session.FromContext(r.Context()).Set("cart", 1)
	}))
	do := func(q string) {
		r := httptest.NewRequest("GET", "/?"+q, nil)
		r.Header.Set("User-Agent", "Firefox/140")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			t.Fatalf("populating: %d", w.Code)
		}
	}
	clock = clock.Add(-time.Hour) // anonymous sessions an hour old: expired with a 30m idle timeout
	for range 4 {
		do("")
	}
	clock = clock.Add(time.Hour)
	for _, u := range []string{"alice", "alice", "alice", "bob"} {
		do("u=" + u)
	}
}

func testStore(t *testing.T, url string) {
	populate(t, url)
	out, errOut, code := sessionctl(t, "--store", url, "count")
	if code != 0 || strings.TrimSpace(out) != "4" {
		t.Fatalf("count: %d %q %q", code, out, errOut)
	}
	out, _, code = sessionctl(t, "--store", url, "list", "--user", "alice", "--json")
	var list []struct {
		Handle    string `json:"handle"`
		IP        string `json:"ip"`
		UserAgent string `json:"user_agent"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 3 {
		t.Fatalf("list --json: %d %q", code, out)
	}
	if list[0].IP != "192.0.2.1" || list[0].UserAgent != "Firefox/140" {
		t.Fatalf("metadata: %+v", list[0])
	}
	out, errOut, code = sessionctl(t, "--store", url, "list", "--user", "alice")
	if code != 0 || !strings.Contains(out, "HANDLE") || !strings.Contains(out, list[0].Handle) || !strings.Contains(errOut, "3 sessions") {
		t.Fatalf("list table: %d %q %q", code, out, errOut)
	}
	out, _, code = sessionctl(t, "--store", url, "revoke", "--session", list[0].Handle)
	if code != 0 || !strings.Contains(out, "revoked 1 session") {
		t.Fatalf("revoke --session: %d %q", code, out)
	}
	if _, errOut, code = sessionctl(t, "--store", url, "revoke", "--session", list[0].Handle); code != 1 || !strings.Contains(errOut, "no session") {
		t.Fatalf("revoking it again: %d %q", code, errOut)
	}
	out, _, code = sessionctl(t, "--store", url, "revoke", "--user", "alice")
	if code != 0 || !strings.Contains(out, "revoked 2 sessions of alice") {
		t.Fatalf("revoke --user: %d %q", code, out)
	}
	out, _, _ = sessionctl(t, "--store", url, "count")
	if strings.TrimSpace(out) != "1" {
		t.Fatalf("count after revocations: %q", out)
	}
	out, errOut, code = sessionctl(t, "--store", url, "clear-expired", "--batch", "3")
	if code != 0 || !strings.Contains(out, "deleted 4 expired sessions") {
		t.Fatalf("clear-expired: %d %q %q", code, out, errOut)
	}
	out, _, code = sessionctl(t, "--store", url, "stats")
	if code != 0 || !strings.Contains(out, "active:       1") || !strings.Contains(out, "user-index") {
		t.Fatalf("stats: %d %q", code, out)
	}
}

func TestSQLite(t *testing.T) {
	testStore(t, "sqlite:"+filepath.Join(t.TempDir(), "sessions.db"))
}

func TestPostgreSQL(t *testing.T) {
	table := "sessionctl_" + suffix()
	url := env("SESSION_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable") + "&table=" + table
	t.Cleanup(func() {
		st, err := storeurl.Open(context.Background(), url)
		if err == nil {
			st.Store.(*pgstore.Store).Pool().Exec(context.Background(), `DROP TABLE "`+table+`"`)
			st.Close()
		}
	})
	testStore(t, url)
}

func TestRedis(t *testing.T) {
	prefix := "sessionctl-" + suffix() + ":"
	url := "redis://" + env("SESSION_TEST_REDIS_ADDR", "127.0.0.1:6379") + "/0?prefix=" + prefix
	t.Cleanup(func() {
		st, err := storeurl.Open(context.Background(), url)
		if err != nil {
			return
		}
		defer st.Close()
		c := st.Store.(*redisstore.Store).Client()
		keys, _ := c.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			for _, k := range keys {
				c.Del(context.Background(), k)
			}
		}
	})
	testStore(t, url)

	// A lost index (simulated by deleting it) makes force-logout miss
	// sessions until rebuild-index recreates it from the expiry shards.
	populate(t, url)
	st, err := storeurl.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Store.(*redisstore.Store).Client().Del(context.Background(), prefix+"u:alice").Err(); err != nil {
		t.Fatal(err)
	}
	if out, _, code := sessionctl(t, "--store", url, "revoke", "--user", "alice"); code != 0 || !strings.Contains(out, "revoked 0 sessions") {
		t.Fatalf("revoke with the index deleted: %d %q", code, out)
	}
	if out, errOut, code := sessionctl(t, "--store", url, "rebuild-index", "--batch", "2"); code != 0 || !strings.Contains(out, "added 3 missing") {
		t.Fatalf("rebuild-index: %d %q %q", code, out, errOut)
	}
	if out, _, code := sessionctl(t, "--store", url, "revoke", "--user", "alice"); code != 0 || !strings.Contains(out, "revoked 3 sessions of alice") {
		t.Fatalf("revoke after rebuild-index: %d %q", code, out)
	}
}

func TestUsageAndFailureExitCodes(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "s.db")
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"count"}, 2, "--store is required"},
		{[]string{"--store", db}, 2, "missing command"},
		{[]string{"--store", db, "frobnicate"}, 2, "unknown command"},
		{[]string{"--store", db, "list"}, 2, "--user is required"},
		{[]string{"--store", db, "revoke"}, 2, "exactly one of"},
		{[]string{"--store", db, "revoke", "--user", "a", "--session", "b"}, 2, "exactly one of"},
		{[]string{"--store", db, "revoke", "--session", "not-a-handle"}, 2, "digest"},
		{[]string{"--store", db, "clear-expired", "--batch", "0"}, 2, "positive"},
		{[]string{"--store", db, "count", "extra"}, 2, "unexpected argument"},
		{[]string{"--bogus"}, 2, "flag provided but not defined"},
		{[]string{"--store", db, "rebuild-index", "--batch", "0"}, 2, "positive"},
		{[]string{"--store", db, "rebuild-index"}, 1, "no separate index"},
		{[]string{"--store", "ftp://x", "count"}, 2, "unknown store URL scheme"},
		{[]string{"--store", "ftp://u:s3cret@x", "count"}, 2, "unknown store URL scheme"},
		{[]string{"--store", "redis://u:s3cret@127.0.0.1:notaport/0", "count"}, 1, "cannot open the store"},
		{[]string{"--store", "redis://:s3c/ret@127.0.0.1:6379", "count"}, 1, "cannot open the store"},
		{[]string{"--store", "redis://:s3%zzcret@127.0.0.1:6379", "count"}, 1, "cannot open the store"},
		{[]string{"--store", "redis-sentinel://127.0.0.1:1/m?sentinel_password=s3cret", "--timeout", "3s", "count"}, 1, "cannot open the store"},
		{[]string{"--store", "mysql://root:s3c/ret@127.0.0.1:3306/test", "count"}, 1, "cannot open the store"},
		{[]string{"--store", "mysql://root:s3cret@127.0.0.1:bad/test", "count"}, 1, "cannot open the store"},
		{[]string{"--store", "postgres://postgres@127.0.0.1:1/test?connect_timeout=2&password=s3cret", "count"}, 1, "cannot open the store"},
		{[]string{"--store", "postgres://postgres:s3c/ret@127.0.0.1:1/test?connect_timeout=2", "count"}, 1, "cannot open the store"},
		{[]string{"--store", "postgres://postgres:s3cret@127.0.0.1:1/test?connect_timeout=2", "count"}, 1, "cannot open the store"},
		{[]string{"--store", "redis://127.0.0.1:1", "--timeout", "3s", "count"}, 1, "cannot open the store"},
		{[]string{"--help"}, 0, ""},
	} {
		out, errOut, code := sessionctl(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut+out, tc.msg) {
			t.Errorf("%v: exit %d (want %d), stderr %q", tc.args, code, tc.code, errOut)
		}
		if strings.Contains(errOut+out, "s3cret") || strings.Contains(errOut+out, "ret@") {
			t.Errorf("%v: password in the error output", tc.args)
		}
	}
}
