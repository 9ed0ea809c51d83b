package grpc_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/sessionkit/session"
	grpcsession "github.com/sessionkit/session/contrib/grpc"
	"github.com/sessionkit/session/memstore"
)

// whoAmI is a gRPC service whose handler reads the call's session as an
// HTTP handler would.
type whoAmI struct {
	grpc_health_v1.UnimplementedHealthServer
	m *session.Manager
}

func (w whoAmI) Check(ctx context.Context, _ *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	user, err := w.m.FromContext(ctx).UserID()
	if err != nil || user == "" {
		return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_NOT_SERVING}, nil
	}
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, nil
}

// A token issued by an HTTP login authenticates gRPC calls: the
// interceptors look its session up with the manager's checks and hand it
// to the handler.
func Example() {
	st := memstore.New()
	defer st.Stop()
	m, err := session.New(st, session.WithHeaderToken("")) // tokens in "Authorization: Bearer", as gRPC metadata carries them
	if err != nil {
		log.Fatal(err)
	}
	// The HTTP login route: the token comes back in the Session-Token header.
	login := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := m.Login(r.Context(), "alice"); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	rec := httptest.NewRecorder()
	login.ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
	token := rec.Header().Get(session.SessionTokenHeader)

	srv := grpc.NewServer(grpc.UnaryInterceptor(grpcsession.UnaryServerInterceptor(m)),
		// Long-lived streams end within 30 s of a revocation.
		grpc.StreamInterceptor(grpcsession.StreamServerInterceptor(m, grpcsession.WithRecheck(30*time.Second))))
	grpc_health_v1.RegisterHealthServer(srv, whoAmI{m: m})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(lis)
	defer srv.Stop()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
	res, err := grpc_health_v1.NewHealthClient(conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status)
	// Output: SERVING
}
