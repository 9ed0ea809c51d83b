package storeurl_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/pyproc"
	"github.com/sessionkit/session/stores/storeurl"
)

// djangoSecret is the SECRET_KEY of interop/django's Python side.
const djangoSecret = "django-insecure-interop-fixture-secret-0123456789abcdef"

// djangoSQLite creates a SQLite database with a real Django's tables and a
// session of alice logged in by Django; it returns the database's path
// and the session key.
func djangoSQLite(t *testing.T) (path, key string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "django.db")
	cfg, _ := json.Marshal(map[string]string{"vendor": "sqlite", "name": path})
	py := pyproc.Start(t, "../../interop/django/testdata/djangoside.py", string(cfg))
	py.Call(map[string]any{"op": "setup", "users": []string{"alice"}})
	key = py.Call(map[string]any{"op": "login", "user": "alice"})["key"].(string)
	return path, key
}

// A django+sqlite: URL opens the Django project's own sessions: the
// manager built with Store.Options reads Django's login, and the secret
// comes from the environment or a file, never from the URL.
func TestOpenDjango(t *testing.T) {
	path, key := djangoSQLite(t)
	ctx := context.Background()
	t.Setenv("TEST_DJANGO_SECRET", djangoSecret)
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(djangoSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"secret_key_env=TEST_DJANGO_SECRET", "secret_key_file=" + secretFile} {
		st, err := storeurl.OpenExisting(ctx, "django+sqlite:"+path+"?"+ref)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if st.Kind != "django-sqlite" {
			t.Errorf("kind %q", st.Kind)
		}
		m, err := session.New(st, st.Options...)
		if err != nil {
			t.Fatal(err)
		}
		s, err := m.Lookup(ctx, key)
		if err != nil {
			t.Fatalf("%s: Lookup of Django's session: %v", ref, err)
		}
		if uid, err := s.UserID(); err != nil || uid == "" {
			t.Errorf("%s: Django's login not seen (user %q, %v)", ref, uid, err)
		}
		if n, err := st.CountActive(ctx, time.Now()); err != nil || n != 1 {
			t.Errorf("CountActive = %d, %v; want 1", n, err)
		}
		if _, err := st.ListByUser(ctx, "1", time.Now()); !errors.Is(err, session.ErrUnsupported) {
			t.Errorf("ListByUser = %v, want ErrUnsupported", err)
		}
		if _, err := st.DeleteByUser(ctx, "1", session.Digest{}); !errors.Is(err, session.ErrUnsupported) {
			t.Errorf("DeleteByUser = %v, want ErrUnsupported", err)
		}
		st.Close()
	}

	// A wrong secret reads no session (Django's signature does not verify).
	t.Setenv("TEST_DJANGO_WRONG", "not-the-secret")
	st, err := storeurl.OpenExisting(ctx, "django+sqlite:"+path+"?secret_key_env=TEST_DJANGO_WRONG")
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(st, append([]session.Option{session.WithLogger(slog.New(slog.DiscardHandler))}, st.Options...)...)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := m.Lookup(ctx, key); err == nil {
		if uid, _ := s.UserID(); uid != "" {
			t.Errorf("a wrong secret read Django's login of user %q", uid)
		}
	}
	st.Close()
}

func TestOpenDjangoRefusals(t *testing.T) {
	path, _ := djangoSQLite(t)
	ctx := context.Background()
	t.Setenv("TEST_DJANGO_SECRET", djangoSecret)
	t.Setenv("TEST_DJANGO_EMPTY", "")
	missing := filepath.Join(t.TempDir(), "missing.db")
	for _, tc := range []struct{ url, want string }{
		{"django+sqlite:" + path + "?secret_key=" + djangoSecret, "by reference"},
		{"django+sqlite:" + path + "?SECRET_KEY=" + djangoSecret, "by reference"},
		{"django+sqlite:" + path + "?secret_key=ab%g1" + djangoSecret, "by reference"},
		{"django+postgres://postgres@127.0.0.1:5432/test?sslmode=disable&secret%5Fkey=ab%g1" + djangoSecret + "#tail", "by reference"},
		{"django+sqlite:" + path, "secret_key_env (an environment variable"},
		{"django+sqlite:" + path + "?secret_key_env=TEST_DJANGO_EMPTY", "empty or unset"},
		{"django+sqlite:" + path + "?secret_key_env=TEST_DJANGO_SECRET&secret_key_file=/x", "not both"},
		{"django+sqlite:" + missing + "?secret_key_env=TEST_DJANGO_SECRET", "missing.db"},
		{"django+sqlite:" + path + "?secret_key_env=TEST_DJANGO_SECRET&table=no_such_table", "no_such_table"},
		{"django+sqlite:" + path + "?secret_key_env=TEST_DJANGO_SECRET&cookie_age=soon", "cookie_age"},
		{"django+redis://127.0.0.1:6379?secret_key_env=TEST_DJANGO_SECRET", "unknown store URL scheme"},
		{"django+postgres://postgres:hunter2@127.0.0.1:1/x?secret_key_env=TEST_DJANGO_SECRET", "127.0.0.1:1"},
	} {
		st, err := storeurl.Open(ctx, tc.url)
		if err == nil {
			st.Close()
			t.Errorf("%s: opened", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q, want it to mention %q", tc.url, err, tc.want)
		}
		for _, secret := range []string{djangoSecret, "hunter2"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the error shows a secret: %v", tc.url, err)
			}
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("opening a missing Django database created it (%v)", err)
	}
}

// A path with "#" or "%" in it opens that file, never another one nor a
// new one (SQLite URI filenames end at "#" and unescape "%"; a "?" ends
// the path of any sqlite: store URL).
func TestOpenDjangoOddPath(t *testing.T) {
	path, key := djangoSQLite(t)
	dir := t.TempDir()
	odd := filepath.Join(dir, "proj#1%41.db")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(odd, data, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_DJANGO_SECRET", djangoSecret)
	st, err := storeurl.OpenExisting(context.Background(), "django+sqlite:"+odd+"?secret_key_env=TEST_DJANGO_SECRET")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := session.New(st, st.Options...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Lookup(context.Background(), key); err != nil {
		t.Fatalf("the session in %s: %v", odd, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != filepath.Base(odd) && !strings.HasPrefix(e.Name(), filepath.Base(odd)+"-") {
			t.Errorf("opening %s created %s", odd, e.Name())
		}
	}
}
