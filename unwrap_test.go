package session_test

import (
	"errors"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

// carrier carries a store without being it: it has every method (through
// the embedded interface) but Unwrap gives the store itself.
type carrier struct {
	session.Store
	inner session.Store
}

func (c carrier) Unwrap() session.Store { return c.inner }

// New builds the manager on the store a carrier unwraps to, through
// carriers of carriers, and refuses one that leads nowhere.
func TestNewUnwrapsCarriers(t *testing.T) {
	st := memstore.New(memstore.WithCleanupInterval(0))
	defer st.Stop()
	for _, s := range []session.Store{carrier{st, st}, carrier{carrier{st, st}, carrier{st, st}}} {
		m, err := session.New(s)
		if err != nil {
			t.Fatal(err)
		}
		if m.Store() != session.Store(st) {
			t.Fatalf("the manager's store is %T, want the carried *memstore.Store", m.Store())
		}
	}
	loop := &selfCarrier{}
	for _, s := range []session.Store{carrier{st, nil}, loop} {
		if _, err := session.New(s); !errors.Is(err, session.ErrConfig) {
			t.Fatalf("New(%T) = %v, want ErrConfig", s, err)
		}
	}
}

// selfCarrier unwraps to itself.
type selfCarrier struct{ session.Store }

func (c *selfCarrier) Unwrap() session.Store { return c }
