package grpc_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/sessiontest"
)

// failing is a memory store whose Loads fail while down is set.
type failing struct {
	*memstore.Store
	down *atomic.Bool
}

func (s failing) Load(ctx context.Context, d session.Digest) (*session.Record, error) {
	if s.down.Load() {
		return nil, errors.New("store down")
	}
	return s.Store.Load(ctx, d)
}

// A store failure is never "no session": a call whose session cannot be
// loaded ends with codes.Unavailable before the handler runs, on unary
// calls and streams, and the session works again once the store is back.
func TestStoreFailureIsUnavailable(t *testing.T) {
	mem := memstore.New()
	defer mem.Stop()
	var down atomic.Bool
	m, err := session.New(failing{mem, &down}, session.WithHeaderToken(""))
	if err != nil {
		t.Fatal(err)
	}
	client, calls := serveHealth(t, m)
	tok := sessiontest.LoginToken(t, m, "alice", nil)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
	unary := func() error {
		_, err := client.Check(ctx, &grpc_health_v1.HealthCheckRequest{})
		return err
	}
	stream := func() error {
		st, err := client.Watch(ctx, &grpc_health_v1.HealthCheckRequest{})
		if err == nil {
			_, err = st.Recv()
		}
		return err
	}
	for name, call := range map[string]func() error{"unary": unary, "stream": stream} {
		down.Store(true)
		before := calls.Load()
		if s := status.Convert(call()); s.Code() != codes.Unavailable || s.Message() != "session: the session store is unavailable" {
			t.Fatalf("%s with the store down: %v %q, want the interceptor's Unavailable", name, s.Code(), s.Message())
		}
		if calls.Load() != before {
			t.Fatalf("%s: the handler ran with the store down", name)
		}
		down.Store(false)
		if err := call(); err != nil {
			t.Fatalf("%s with the store back: %v", name, err)
		}
	}
}
