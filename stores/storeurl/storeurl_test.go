package storeurl_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/stores/mysqlstore"
	"github.com/sessionkit/session/stores/pgstore"
	"github.com/sessionkit/session/stores/redisstore"
	"github.com/sessionkit/session/stores/storeurl"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func TestOpenEveryKind(t *testing.T) {
	ctx := context.Background()
	cases := []struct{ url, kind string }{
		{"sqlite:" + filepath.Join(t.TempDir(), "s.db") + "?table=urltest", "sqlite"},
		{env("SESSION_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable") + "&table=storeurl_test", "postgres"},
		{"mysql://root@127.0.0.1:3306/test?table=storeurl_test", "mysql"},
		{"redis://" + env("SESSION_TEST_REDIS_ADDR", "127.0.0.1:6379") + "/0?prefix=storeurltest:", "redis"},
	}
	for _, tc := range cases {
		st, err := storeurl.Open(ctx, tc.url)
		if err != nil {
			t.Fatalf("%s: %v", tc.kind, err)
		}
		if st.Kind != tc.kind {
			t.Errorf("%s: kind %q", tc.url, st.Kind)
		}
		for _, ok := range []bool{is[session.Toucher](st.FullStore), is[session.Renewer](st.FullStore), is[session.UserIndex](st.FullStore), is[session.Counter](st.FullStore), is[session.ExpiredDeleter](st.FullStore)} {
			if !ok {
				t.Errorf("%s: a capability is hidden by the wrapper", tc.kind)
			}
		}
		// Issue 20, gap 8: the wrapper has every method (for tools that
		// call them directly); TestSameCapabilitiesAsTheStoreItself checks
		// that session.New(st) has the store's own capabilities.
		var wrapped session.Store = st
		for _, ok := range []bool{is[session.Toucher](wrapped), is[session.Renewer](wrapped), is[session.UserIndex](wrapped),
			is[session.LineageDeleter](wrapped), is[session.Counter](wrapped), is[session.ExpiredDeleter](wrapped)} {
			if !ok {
				t.Errorf("%s: the wrapper lacks a method", tc.kind)
			}
		}
		m, err := session.New(st)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.UserSessions(ctx, "nobody"); err != nil {
			t.Errorf("%s: the user index through the wrapper: %v", tc.kind, err)
		}
		if _, err := m.CountActive(ctx); err != nil {
			t.Errorf("%s: counting through the wrapper: %v", tc.kind, err)
		}
		if _, err := st.Load(ctx, session.Digest{}); err == nil {
			t.Errorf("%s: loading a missing session succeeded", tc.kind)
		}
		switch s := st.FullStore.(type) {
		case *pgstore.Store:
			if _, err := s.Pool().Exec(ctx, `DROP TABLE "storeurl_test"`); err != nil {
				t.Errorf("table=storeurl_test not used: %v", err)
			}
		case *mysqlstore.Store:
			if _, err := s.DB().Exec("DROP TABLE `storeurl_test`"); err != nil {
				t.Errorf("table=storeurl_test not used: %v", err)
			}
		}
		st.Close()
	}
	// Unknown parameters are errors naming them: go-redis refuses its
	// unknown options, the MySQL and PostgreSQL servers their unknown
	// variables (pgx sends an unknown parameter as a run-time setting),
	// storeurl its own schemes' (issue 20).
	pgBad := env("SESSION_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable") + "&frobnicate=1"
	for _, bad := range []string{"mysql://root@127.0.0.1:3306/test?frobnicate=1", "redis://" + env("SESSION_TEST_REDIS_ADDR", "127.0.0.1:6379") + "/0?frobnicate=1",
		"redis-cluster://127.0.0.1:7000?frobnicate=1", pgBad, "sqlite:" + filepath.Join(t.TempDir(), "u.db") + "?frobnicate=1"} {
		st, err := storeurl.Open(ctx, bad)
		if err == nil {
			st.Close()
			t.Errorf("%s accepted", bad)
		} else if !strings.Contains(err.Error(), "frobnicate") {
			t.Errorf("%s: the error does not name the parameter: %v", bad, err)
		}
	}
	for _, bad := range []string{"ftp://x", "postgres://u:hunter2@127.0.0.1:1/x?connect_timeout=1", "redis://127.0.0.1:6379?table=x", "sqlite:/tmp/x.db?prefix=p"} {
		st, err := storeurl.Open(ctx, bad)
		if err == nil {
			st.Close()
			t.Errorf("%s accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("password in error: %v", err)
		}
	}
}

func is[T any](v any) bool { _, ok := v.(T); return ok }

// Issue 17 (6): ?wait= turns on redisstore.WithWait, and a logout that
// fewer replicas acknowledge than asked fails (the local Redis has none).
func TestRedisWaitFromURL(t *testing.T) {
	ctx := context.Background()
	st, err := storeurl.Open(ctx, "redis://"+env("SESSION_TEST_REDIS_ADDR", "127.0.0.1:6379")+"/0?prefix=storeurlwait:&wait=1&wait_timeout=50ms")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := session.Digest{1, 2, 3}
	now := time.Now().UTC().Truncate(time.Millisecond)
	rec := &session.Record{Created: now, LastSeen: now, IdleExpiry: now.Add(time.Minute), AbsExpiry: now.Add(time.Minute), Version: 1}
	if err := st.Create(ctx, d, rec); err != nil {
		t.Fatal(err)
	}
	existed, err := st.Delete(ctx, d)
	if !errors.Is(err, redisstore.ErrNotReplicated) || !existed {
		t.Fatalf("Delete without replicas = %v, %v; want true and ErrNotReplicated", existed, err)
	}
	// wait_writes=1: creations wait too (the markers of cookie
	// sessions' logouts are creations and writes).
	markers, err := storeurl.Open(ctx, "redis://"+env("SESSION_TEST_REDIS_ADDR", "127.0.0.1:6379")+"/0?prefix=storeurlwaitw:&wait=1&wait_timeout=50ms&wait_writes=1")
	if err != nil {
		t.Fatal(err)
	}
	defer markers.Close()
	if err := markers.Create(ctx, session.Digest{4, 5, 6}, rec); !errors.Is(err, redisstore.ErrNotReplicated) {
		t.Fatalf("Create with wait_writes=1 and no replica = %v, want ErrNotReplicated", err)
	}
	for _, bad := range []string{"wait=0", "wait=x", "wait=1&wait_timeout=-1s", "wait=1&wait_timeout=soon", "wait_writes=1", "wait=1&wait_writes=yes"} {
		st, err := storeurl.Open(ctx, "redis://"+env("SESSION_TEST_REDIS_ADDR", "127.0.0.1:6379")+"/0?"+bad)
		if err == nil {
			st.Close()
			t.Errorf("%s accepted", bad)
		}
	}
	for _, q := range []string{"wait=1", "wait_writes=1"} {
		if st, err := storeurl.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "s.db")+"?"+q); err == nil {
			st.Close()
			t.Errorf("%s accepted on a SQL URL", q)
		}
	}
}
