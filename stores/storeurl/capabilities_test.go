package storeurl_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/stores/memcachedstore/memcachedtest"
	"github.com/sessionkit/session/stores/mysqlstore"
	"github.com/sessionkit/session/stores/pgstore"
	"github.com/sessionkit/session/stores/storeurl"
)

// Issue 20, gap 8: session.New over what storeurl opens builds the same
// manager as over the store itself, for every kind: the manager's store is
// the store itself, a configuration that needs a capability the store
// lacks is refused the same way (before, WithMaxSessionsPerUser on Django's
// table was accepted through storeurl and then ignored at every login),
// and each capability answers alike (supported, or ErrUnsupported).
func TestSameCapabilitiesAsTheStoreItself(t *testing.T) {
	ctx := context.Background()
	djangoPath, _ := djangoSQLite(t)
	t.Setenv("TEST_DJANGO_SECRET", djangoSecret)
	mc := memcachedtest.Start(t)
	urls := []string{
		"sqlite:" + filepath.Join(t.TempDir(), "s.db"),
		env("SESSION_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable") + "&table=storeurl_caps",
		"mysql://root@127.0.0.1:3306/test?table=storeurl_caps",
		"redis://" + env("SESSION_TEST_REDIS_ADDR", "127.0.0.1:6379") + "/0?prefix=storeurlcaps:",
		"memcached://" + mc.Addr + "?prefix=caps:",
		"django+sqlite:" + djangoPath + "?secret_key_env=TEST_DJANGO_SECRET",
	}
	for _, u := range urls {
		open := storeurl.Open
		if strings.HasPrefix(u, "django+") {
			open = storeurl.OpenExisting // Django's own table, never created here
		}
		st, err := open(ctx, u)
		if err != nil {
			t.Fatalf("%s: %v", storeurl.Redact(u), err)
		}
		itself := st.Unwrap()
		t.Run(st.Kind, func(t *testing.T) {
			if itself == nil || itself == session.Store(st) {
				t.Fatalf("Unwrap returned %T", itself)
			}
			build := func(s session.Store, opts ...session.Option) (*session.Manager, error) {
				base := []session.Option{session.WithLogger(slog.New(slog.DiscardHandler))}
				return session.New(s, append(append(base, st.Options...), opts...)...)
			}
			capped := func(s session.Store) error {
				_, err := build(s, session.WithMaxSessionsPerUser(3))
				return err
			}
			if a, b := capped(st), capped(itself); (a == nil) != (b == nil) {
				t.Errorf("WithMaxSessionsPerUser: through storeurl %v, on the store itself %v", a, b)
			}
			over, err := build(st)
			if err != nil {
				t.Fatal(err)
			}
			direct, err := build(itself)
			if err != nil {
				t.Fatal(err)
			}
			if over.Store() != itself {
				t.Errorf("the manager's store is %T, not the store itself (%T)", over.Store(), itself)
			}
			for _, c := range []struct {
				name string
				call func(m *session.Manager) error
			}{
				{"UserSessions", func(m *session.Manager) error { _, err := m.UserSessions(ctx, "nobody"); return err }},
				{"RevokeUser", func(m *session.Manager) error { _, err := m.RevokeUser(ctx, "nobody"); return err }},
				{"CountActive", func(m *session.Manager) error { _, err := m.CountActive(ctx); return err }},
				{"DeleteExpired", func(m *session.Manager) error { _, err := m.DeleteExpired(ctx, 10, nil); return err }},
				{"StartCleaner", func(m *session.Manager) error {
					c, err := m.StartCleaner(time.Hour)
					if err == nil {
						c.Stop()
					}
					return err
				}},
			} {
				if a, b := outcome(c.call(over)), outcome(c.call(direct)); a != b {
					t.Errorf("%s: through storeurl %s, on the store itself %s", c.name, a, b)
				}
			}
		})
		switch s := itself.(type) {
		case *pgstore.Store:
			if _, err := s.Pool().Exec(ctx, `DROP TABLE "storeurl_caps"`); err != nil {
				t.Error(err)
			}
		case *mysqlstore.Store:
			if _, err := s.DB().Exec("DROP TABLE `storeurl_caps`"); err != nil {
				t.Error(err)
			}
		}
		st.Close()
	}
}

// outcome classifies a capability's answer.
func outcome(err error) string {
	switch {
	case err == nil:
		return "supported"
	case errors.Is(err, session.ErrUnsupported):
		return "unsupported"
	}
	return fmt.Sprintf("error (%v)", err)
}

// Unwrap gives what FullStore holds (a store put there by the application,
// an instrumented one say, is what the manager uses), or the store inside
// storeurl's stand-in; nothing for a zero Store.
func TestUnwrapFollowsFullStore(t *testing.T) {
	mem := memstore.New(memstore.WithCleanupInterval(0))
	defer mem.Stop()
	if got := (&storeurl.Store{FullStore: mem}).Unwrap(); got != session.Store(mem) {
		t.Fatalf("Unwrap = %T, want the FullStore", got)
	}
	if got := (&storeurl.Store{}).Unwrap(); got != nil {
		t.Fatalf("Unwrap of a zero Store = %T", got)
	}
	if _, err := session.New(&storeurl.Store{}); !errors.Is(err, session.ErrConfig) {
		t.Fatalf("New over a zero Store: %v", err)
	}
}
