package sqlitestore_test

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
)

// benchSetup returns the standard handlers over st and a session holding
// the standard three values.
func benchSetup(b *testing.B, st session.Store) (http.Handler, *http.Cookie) {
	m, err := session.New(st, session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	h := sessiontest.Handler(m)
	return h, sessiontest.NewSession(b, h)
}

// BenchmarkRawSelect is the floor: one primary-key SELECT of the same row
// and columns, straight through database/sql.
func BenchmarkRawSelect(b *testing.B) {
	st := newStore(b)
	_, c := benchSetup(b, st)
	d, _ := session.DigestOf(c.Value)
	q := "SELECT digest, data, user_id, auth_at, created_at, last_seen_at, idle_timeout_ms, idle_expires_at, abs_expires_at, expires_at, expire_on_close, version, ip, user_agent FROM \"" + st.Table() + "\" WHERE digest = ?"
	ctx := context.Background()
	var (
		digest, data                   []byte
		user, ip, ua                   sql.NullString
		auth                           sql.NullInt64
		c1, c2, c3, c4, c5, c6, c7, c8 int64
	)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := st.DB().QueryRowContext(ctx, q, d[:]).Scan(&digest, &data, &user, &auth, &c1, &c2, &c3, &c4, &c5, &c6, &c7, &c8, &ip, &ua); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawSelectPrepared is the same SELECT as a statement prepared
// once, the strictest floor: the store prepares its statements too.
func BenchmarkRawSelectPrepared(b *testing.B) {
	st := newStore(b)
	_, c := benchSetup(b, st)
	d, _ := session.DigestOf(c.Value)
	ctx := context.Background()
	stmt, err := st.DB().PrepareContext(ctx, "SELECT digest, data, user_id, auth_at, created_at, last_seen_at, idle_timeout_ms, idle_expires_at, abs_expires_at, expires_at, expire_on_close, version, ip, user_agent FROM \""+st.Table()+"\" WHERE digest = ?")
	if err != nil {
		b.Fatal(err)
	}
	defer stmt.Close()
	var (
		digest, data                   []byte
		user, ip, ua                   sql.NullString
		auth                           sql.NullInt64
		c1, c2, c3, c4, c5, c6, c7, c8 int64
	)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := stmt.QueryRowContext(ctx, d[:]).Scan(&digest, &data, &user, &auth, &c1, &c2, &c3, &c4, &c5, &c6, &c7, &c8, &ip, &ua); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadOnlyRequest: a request reading one key through the
// middleware (one SELECT; no touch within the run).
func BenchmarkReadOnlyRequest(b *testing.B) {
	st := newStore(b)
	h, c := benchSetup(b, st)
	sessiontest.BenchRequests(b, h, "/read", c)
}

// BenchmarkWriteRequest: a request setting one key (SELECT + UPDATE).
func BenchmarkWriteRequest(b *testing.B) {
	st := newStore(b)
	h, c := benchSetup(b, st)
	sessiontest.BenchRequests(b, h, "/write", c)
}

// BenchmarkStoreLoad is Store.Load alone, without the middleware.
func BenchmarkStoreLoad(b *testing.B) {
	st := newStore(b)
	_, c := benchSetup(b, st)
	d, _ := session.DigestOf(c.Value)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.Load(ctx, d); err != nil {
			b.Fatal(err)
		}
	}
}
