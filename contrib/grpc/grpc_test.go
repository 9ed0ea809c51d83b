package grpc_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/sessionkit/session"
	grpcsession "github.com/sessionkit/session/contrib/grpc"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/redisstore"
	"github.com/sessionkit/session/stores/sqlitestore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// health is a test service: Check answers SERVING for a logged-in session
// and renews or ends it on request; Watch does the same on a stream.
type health struct {
	grpc_health_v1.UnimplementedHealthServer
	m *session.Manager
}

func (h health) Check(ctx context.Context, req *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	s := h.m.FromContext(ctx)
	if s == nil {
		return nil, status.Error(codes.Unauthenticated, "log in first")
	}
	user, err := s.UserID()
	if err != nil || user == "" {
		return nil, status.Error(codes.Unauthenticated, "log in first")
	}
	switch req.Service {
	case "renew":
		err = h.m.Renew(ctx)
	case "logout":
		err = h.m.Destroy(ctx)
	}
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, nil
}

func (h health) Watch(req *grpc_health_v1.HealthCheckRequest, stream grpc_health_v1.Health_WatchServer) error {
	s := h.m.FromContext(stream.Context())
	if user, err := s.UserID(); s == nil || err != nil || user == "" {
		return status.Error(codes.Unauthenticated, "log in first")
	}
	return stream.Send(&grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING})
}

// Issue 21: the interceptors on a real gRPC server on loopback, with
// SQLite and Redis: a valid token reaches the handler's session, a renewal
// sends the new token back, a revoked or logged-out token is
// codes.Unauthenticated before the handler runs.
func TestInterceptors(t *testing.T) {
	ctx := context.Background()
	sqlite, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sqlite.Close()
	rc := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rc.Close()
	rs, err := redisstore.New(ctx, rc, redisstore.WithPrefix("grpctest:"))
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]session.Store{"sqlite": sqlite, "redis": rs} {
		t.Run(name, func(t *testing.T) { checkInterceptors(t, st) })
	}
}

func checkInterceptors(t *testing.T, st session.Store) {
	m, err := session.New(st, session.WithHeaderToken(""))
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(grpcsession.UnaryServerInterceptor(m)),
		grpc.StreamInterceptor(grpcsession.StreamServerInterceptor(m)))
	grpc_health_v1.RegisterHealthServer(srv, health{m: m})
	go srv.Serve(lis)
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := grpc_health_v1.NewHealthClient(conn)
	call := func(token, service string) (string, codes.Code) {
		ctx := context.Background()
		if token != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
		}
		var header metadata.MD
		_, err := client.Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: service}, grpc.Header(&header))
		newToken := ""
		if v := header.Get(grpcsession.TokenKey); len(v) == 1 {
			newToken = v[0]
		}
		return newToken, status.Code(err)
	}
	if _, code := call("", ""); code != codes.Unauthenticated {
		t.Fatalf("no token: %v", code)
	}
	tok := sessiontest.LoginToken(t, m, "alice", nil)
	if _, code := call(tok, ""); code != codes.OK {
		t.Fatalf("a valid token: %v", code)
	}
	stream, err := client.Watch(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok), &grpc_health_v1.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := stream.Recv(); err != nil || res.Status != grpc_health_v1.HealthCheckResponse_SERVING {
		t.Fatalf("stream with a valid token: %v %v", res, err)
	}
	renewed, code := call(tok, "renew")
	if code != codes.OK || renewed == "" || renewed == tok {
		t.Fatalf("renew: %v, new token %q", code, renewed)
	}
	if _, code := call(tok, ""); code != codes.Unauthenticated {
		t.Fatalf("the renewed-away token: %v", code)
	}
	if _, code := call(renewed, ""); code != codes.OK {
		t.Fatalf("the renewed token: %v", code)
	}
	if _, err := m.RevokeUser(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	if _, code := call(renewed, ""); code != codes.Unauthenticated {
		t.Fatalf("a revoked token: %v", code)
	}
	stream, err = client.Watch(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+renewed), &grpc_health_v1.HealthCheckRequest{})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("a stream with a revoked token: %v", err)
	}
	bob := sessiontest.LoginToken(t, m, "bob", nil)
	if ended, code := call(bob, "logout"); code != codes.OK || ended != "" {
		t.Fatalf("logout: %v, token %q", code, ended)
	}
	if _, code := call(bob, ""); code != codes.Unauthenticated {
		t.Fatalf("a logged-out token: %v", code)
	}
}
