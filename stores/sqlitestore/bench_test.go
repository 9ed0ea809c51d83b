package sqlitestore_test

import (
	"testing"

	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/sqlstore/sqlbench"
)

// BenchmarkRawSelect is the floor: one primary-key SELECT of the same row
// and columns, straight through database/sql.
func BenchmarkRawSelect(b *testing.B) {
	st := newStore(b)
	sqlbench.RawSelect(b, st.DB(), `"`+st.Table()+`"`, sessiontest.BenchDigest(b, st), false)
}

// BenchmarkRawSelectPrepared is the same SELECT as a statement prepared
// once, the strictest floor: the store prepares its statements too.
func BenchmarkRawSelectPrepared(b *testing.B) {
	st := newStore(b)
	sqlbench.RawSelect(b, st.DB(), `"`+st.Table()+`"`, sessiontest.BenchDigest(b, st), true)
}

// BenchmarkReadOnlyVsSelect interleaves the read-only request with the
// prepared SELECT and reports the ratio of their medians (issue 3's
// target: within 1.2x).
func BenchmarkReadOnlyVsSelect(b *testing.B) {
	st := newStore(b)
	sessiontest.BenchAgainstRaw(b, st, "/read", sqlbench.RawSelectFunc(b, st.DB(), `"`+st.Table()+`"`, sessiontest.BenchDigest(b, st), true))
}

// BenchmarkReadOnlyRequest: a request reading one key through the
// middleware (one SELECT; no touch within the run).
func BenchmarkReadOnlyRequest(b *testing.B) { sessiontest.BenchStoreRequest(b, newStore(b), "/read") }

// BenchmarkWriteRequest: a request setting one key (SELECT + UPDATE).
func BenchmarkWriteRequest(b *testing.B) { sessiontest.BenchStoreRequest(b, newStore(b), "/write") }

// BenchmarkStoreLoad is Store.Load alone, without the middleware.
func BenchmarkStoreLoad(b *testing.B) { sessiontest.BenchLoad(b, newStore(b)) }
