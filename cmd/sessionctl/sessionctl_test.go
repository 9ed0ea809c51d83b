package main_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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
	args := append([]string{"build", "-o", binary}, ownBuildFlags()...)
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building sessionctl: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ownBuildFlags returns the flags this test binary was built with that
// select how packages compile (-race, -trimpath, -tags), so that the
// binary under test is built as the tests were (with the race detector
// under go test -race) and from the compiled packages the test build left
// in the cache, instead of compiling every driver again.
func ownBuildFlags() []string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	var flags []string
	for _, s := range info.Settings {
		switch s.Key {
		case "-race", "-trimpath":
			if s.Value == "true" {
				flags = append(flags, s.Key)
			}
		case "-tags":
			flags = append(flags, "-tags="+s.Value)
		}
	}
	return flags
}

func sessionctl(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	// Built with the race detector (under go test -race), the binary
	// reports a race and exits with status 66, which the exit-code checks
	// catch; its default one-second sleep at every exit (GORACE
	// atexit_sleep_ms, time for goroutines still running to report) would
	// add a second to every command of these tests.
	cmd.Env = append(os.Environ(), "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
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
	m, err := session.New(st, session.WithClock(func() time.Time { return clock }))
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
			st.FullStore.(*pgstore.Store).Pool().Exec(context.Background(), `DROP TABLE "`+table+`"`)
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
		c := st.FullStore.(*redisstore.Store).Client()
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
	if err := st.FullStore.(*redisstore.Store).Client().Del(context.Background(), prefix+"user:alice").Err(); err != nil {
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

	// Issue 18: a mistyped ?prefix= opens an empty key space without
	// error; a command that finds nothing then says the store holds no
	// session at all (it printed "revoked 0 sessions" and nothing else).
	populate(t, url)
	typo := strings.Replace(url, "prefix="+prefix, "prefix=typo-"+prefix, 1)
	for _, args := range [][]string{{"revoke", "--user", "alice"}, {"count"}, {"list", "--user", "alice"}} {
		out, errOut, code := sessionctl(t, append([]string{"--store", typo}, args...)...)
		if code != 0 || !strings.Contains(errOut, "no live session at all") || !strings.Contains(errOut, "?prefix=") {
			t.Fatalf("%v under a mistyped prefix: exit %d, %q %q", args, code, out, errOut)
		}
	}
	// Nothing for one user in a store with sessions is no reason for it.
	if out, errOut, code := sessionctl(t, "--store", url, "revoke", "--user", "nobody"); code != 0 || !strings.Contains(out, "revoked 0") || strings.Contains(errOut, "no live session") {
		t.Fatalf("revoke of a user without sessions: exit %d, %q %q", code, out, errOut)
	}
}

func TestUsageAndFailureExitCodes(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "s.db")
	st, err := storeurl.Open(context.Background(), db) // an existing store
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
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
		{[]string{"--store", "django+foo:x", "count"}, 2, "unknown store URL scheme"},
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
		// A parser that splits the URL at the "/" in "s3c/ret" quotes
		// a fragment: no piece of the password may be printed.
		for _, piece := range []string{"s3c", "3cr", "ret@", "/ret"} {
			if strings.Contains(errOut+out, piece) {
				t.Errorf("%v: a piece of the password (%q) in the output:\n%s", tc.args, piece, errOut+out)
			}
		}
	}
}

// Issue 18: sessionctl opens existing stores only. A mistyped SQLite path
// or table is an error naming it (it used to create an empty store and
// print "revoked 0 sessions", exit 0), and creates nothing; a damaged file
// is reported by check.
func TestOpensExistingStoresOnly(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "typo.db")
	out, errOut, code := sessionctl(t, "--store", "sqlite:"+missing, "revoke", "--user", "alice")
	if code != 1 || !strings.Contains(errOut, "does not exist") || strings.Contains(out, "revoked") {
		t.Fatalf("missing file: exit %d, %q %q", code, out, errOut)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("sessionctl created %s (%v)", missing, err)
	}
	good := filepath.Join(dir, "sessions.db")
	populate(t, "sqlite:"+good)
	if out, errOut, code := sessionctl(t, "--store", "sqlite:"+good+"?table=sesions", "count"); code != 1 || !strings.Contains(errOut, `"sesions"`) {
		t.Fatalf("mistyped table: exit %d, %q %q", code, out, errOut)
	}
	pg := env("SESSION_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable") + "&table=sessionctl_missing_" + suffix()
	if out, errOut, code := sessionctl(t, "--store", pg, "count"); code != 1 || !strings.Contains(errOut, "sessionctl_missing_") {
		t.Fatalf("missing PostgreSQL table: exit %d, %q %q", code, out, errOut)
	}
	if out, errOut, code := sessionctl(t, "--store", "mysql://root@127.0.0.1:3306/test?table=sessionctl_missing", "count"); code != 1 || !strings.Contains(errOut, "sessionctl_missing") {
		t.Fatalf("missing MariaDB table: exit %d, %q %q", code, out, errOut)
	}
	if out, _, code := sessionctl(t, "--store", "sqlite:"+good, "check"); code != 0 || strings.TrimSpace(out) != "ok" {
		t.Fatalf("check of a sound file: exit %d, %q", code, out)
	}
	// Damage the file past its first page (the schema stays readable).
	f, err := os.OpenFile(good, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := f.Stat()
	junk := bytes.Repeat([]byte{0xa5}, int(info.Size())-4096)
	if _, err := f.WriteAt(junk, 4096); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if out, errOut, code := sessionctl(t, "--store", "sqlite:"+good, "check"); code != 1 || !strings.Contains(errOut, "damaged") {
		t.Fatalf("check of a damaged file: exit %d, %q %q", code, out, errOut)
	}
	// Nor do count and revoke report numbers read off a damaged file
	// (it used to print 0 sessions, exit 0).
	if out, errOut, code := sessionctl(t, "--store", "sqlite:"+good, "count"); code != 1 || out != "" {
		t.Fatalf("count on a damaged file: exit %d, %q %q", code, out, errOut)
	}
	if out, errOut, code := sessionctl(t, "--store", "sqlite:"+good, "revoke", "--user", "alice"); code != 1 || strings.Contains(out, "revoked") {
		t.Fatalf("revoke on a damaged file: exit %d, %q %q", code, out, errOut)
	}
	// An error quoting the command line (or a server) reaches the
	// terminal with its control characters escaped.
	weird := filepath.Join(dir, "ty\x1b]0;pwned\x07po.db")
	if out, errOut, code := sessionctl(t, "--store", "sqlite:"+weird, "count"); code != 1 || strings.ContainsAny(errOut, "\x1b\x07") || !strings.Contains(errOut, `ty\x1b]0;pwned\x07po.db`) {
		t.Fatalf("missing file with control characters: exit %d, %q %q", code, out, errOut)
	}
}

// Issue 18: text that came from clients reaches the administrator's
// terminal with control characters escaped and cut at a character
// boundary.
func TestListEscapesClientText(t *testing.T) {
	url := "sqlite:" + filepath.Join(t.TempDir(), "s.db")
	st, err := storeurl.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(st)
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { m.Login(r.Context(), "mallory") }))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("User-Agent", "\x1b]0;pwned\x07\u009b2J\u202eévil ünïcödé agent that is long")
	h.ServeHTTP(httptest.NewRecorder(), r)
	st.Close()
	out, _, code := sessionctl(t, "--store", url, "list", "--user", "mallory")
	if code != 0 {
		t.Fatalf("list: exit %d", code)
	}
	if strings.ContainsAny(out, "\x1b\x07\u009b\u202e") || !strings.Contains(out, `\x1b]0;pwned\x07\x9b2J\u202eévil`) || !utf8.ValidString(out) {
		t.Fatalf("list printed %q", out)
	}
	// The JSON form escapes them too, and decodes to the stored text.
	out, _, code = sessionctl(t, "--store", url, "list", "--user", "mallory", "--json")
	if code != 0 {
		t.Fatalf("list --json: exit %d", code)
	}
	if strings.ContainsAny(out, "\x1b\x07\u009b\u202e") || !utf8.ValidString(out) {
		t.Fatalf("list --json printed %q", out)
	}
	var listed []struct {
		UserAgent string `json:"user_agent"`
	}
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 1 || listed[0].UserAgent != r.Header.Get("User-Agent") {
		t.Fatalf("list --json: %v, %q", err, out)
	}
}

// Issue 18: on a Redis whose eviction policy may drop indexes, every
// command warns and revoke --user refuses without --force (a "revoked 0"
// there may be wrong).
func TestRedisEvictionPolicyWarns(t *testing.T) {
	port, url := startRedis(t)
	populate(t, url)
	policy := func(p string) {
		t.Helper()
		if out, err := exec.Command("redis-cli", "-p", fmt.Sprint(port), "config", "set", "maxmemory-policy", p).CombinedOutput(); err != nil {
			t.Fatalf("redis-cli config set: %v %s", err, out)
		}
	}
	// noeviction: nothing to say. volatile-ttl (accepted by New): a
	// session evicted before its expiry is still counted, so count
	// warns; listing and revoking are right and say nothing.
	policy("noeviction")
	if out, errOut, code := sessionctl(t, "--store", url, "count"); code != 0 || errOut != "" || strings.TrimSpace(out) != "4" {
		t.Fatalf("count on noeviction: exit %d, %q %q", code, out, errOut)
	}
	policy("volatile-ttl")
	if out, errOut, code := sessionctl(t, "--store", url, "count"); code != 0 || !strings.Contains(errOut, "volatile-ttl") || !strings.Contains(errOut, "over-report") || strings.TrimSpace(out) != "4" {
		t.Fatalf("count on volatile-ttl: exit %d, %q %q", code, out, errOut)
	}
	if out, errOut, code := sessionctl(t, "--store", url, "list", "--user", "alice"); code != 0 || strings.Contains(errOut, "warning") || strings.Count(out, "Firefox/140") != 3 {
		t.Fatalf("list on volatile-ttl: exit %d, %q %q", code, out, errOut)
	}
	policy("allkeys-lru")
	// An application refuses to start on it; sessionctl opens it to report.
	if st, err := storeurl.Open(context.Background(), url); !errors.Is(err, redisstore.ErrUnsafeEviction) {
		if err == nil {
			st.Close()
		}
		t.Fatalf("storeurl.Open on allkeys-lru: %v, want ErrUnsafeEviction", err)
	}
	out, errOut, code := sessionctl(t, "--store", url, "count")
	if code != 0 || !strings.Contains(errOut, "allkeys-lru") || strings.TrimSpace(out) != "4" {
		t.Fatalf("count: exit %d, %q %q", code, out, errOut)
	}
	if out, errOut, code := sessionctl(t, "--store", url, "revoke", "--user", "alice"); code != 1 || !strings.Contains(errOut, "--force") || strings.Contains(out, "revoked") {
		t.Fatalf("revoke without --force: exit %d, %q %q", code, out, errOut)
	}
	if out, _, code := sessionctl(t, "--store", url, "revoke", "--user", "alice", "--force"); code != 0 || !strings.Contains(out, "revoked 3 sessions of alice") {
		t.Fatalf("revoke --force: exit %d, %q", code, out)
	}
}

// startRedis starts a redis-server of the test's own with 64 MB of
// maxmemory and extra arguments, stopped when the test ends, and returns
// its port and URL once sessionctl can count on it.
func startRedis(t *testing.T, extra ...string) (int, string) {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is required: %v", err)
	}
	port := freePort(t)
	args := append([]string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--maxmemory", "64mb"}, extra...)
	srv := exec.Command(path, args...)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, _, code := sessionctl(t, "--store", url, "count"); code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return port, url
}

// A Redis whose policy cannot be read (CONFIG renamed or denied, as on
// managed services) may evict indexes as well: revoke --user needs --force
// there too (before, it ran and could print "revoked 0" while sessions
// lived).
func TestRedisUnreadablePolicyNeedsForce(t *testing.T) {
	_, url := startRedis(t, "--rename-command", "CONFIG", "")
	populate(t, url)
	out, errOut, code := sessionctl(t, "--store", url, "revoke", "--user", "alice")
	if code != 1 || !strings.Contains(errOut, "cannot check") || !strings.Contains(errOut, "--force") || strings.Contains(out, "revoked") {
		t.Fatalf("revoke without --force on an unreadable policy: exit %d, %q %q", code, out, errOut)
	}
	if out, _, code := sessionctl(t, "--store", url, "revoke", "--user", "alice", "--force"); code != 0 || !strings.Contains(out, "revoked 3 sessions of alice") {
		t.Fatalf("revoke --force: exit %d, %q", code, out)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
