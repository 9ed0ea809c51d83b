package echo_test

import (
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/stores/redisstore/redistest"
	"github.com/sessionkit/session/stores/sqlitestore/sqlitetest"
)

// realStores returns the stores issue 21 asks the paths to be shown on:
// SQLite and the test Redis (a Redis that does not answer fails the test).
func realStores(t *testing.T) map[string]session.Store {
	return map[string]session.Store{"sqlite": sqlitetest.Store(t), "redis": redistest.Store(t)}
}
