package mysqlstore_test

import (
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/sqlstore/sqlbench"
)

// BenchmarkRawSelect is the floor: one primary-key SELECT of the same row
// and columns, straight through database/sql.
func BenchmarkRawSelect(b *testing.B) {
	st := newStore(b)
	_, c := sessiontest.BenchSession(b, st)
	d, _ := session.DigestOf(c.Value)
	sqlbench.RawSelect(b, st.DB(), "`"+st.Table()+"`", d, false)
}

// BenchmarkReadOnlyRequest: a request reading one key through the
// middleware (one SELECT; no touch within the run).
func BenchmarkReadOnlyRequest(b *testing.B) {
	st := newStore(b)
	h, c := sessiontest.BenchSession(b, st)
	sessiontest.BenchRequests(b, h, "/read", c)
}

// BenchmarkWriteRequest: a request setting one key (SELECT + UPDATE).
func BenchmarkWriteRequest(b *testing.B) {
	st := newStore(b)
	h, c := sessiontest.BenchSession(b, st)
	sessiontest.BenchRequests(b, h, "/write", c)
}

// BenchmarkStoreLoad is Store.Load alone, without the middleware.
func BenchmarkStoreLoad(b *testing.B) {
	st := newStore(b)
	_, c := sessiontest.BenchSession(b, st)
	sessiontest.BenchLoad(b, st, c)
}
