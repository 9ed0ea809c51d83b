package grpc_test

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

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
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// health is a test service: Check answers SERVING for a logged-in session
// and renews or ends it on request; Watch does the same on a stream. It
// refuses a call without a logged-in session with codes.PermissionDenied
// and errNoSession, never with the interceptors' codes.Unauthenticated, so
// the tests can tell who refused a call; calls counts the calls that
// reached it.
type health struct {
	grpc_health_v1.UnimplementedHealthServer
	m     *session.Manager
	calls *atomic.Int64
}

// errNoSession is the handler's own refusal.
const errNoSession = "handler: no logged-in session"

// serve checks the call's session and applies the request's action.
func (h health) serve(ctx context.Context, action string) error {
	h.calls.Add(1)
	s := h.m.FromContext(ctx)
	if s == nil {
		return status.Error(codes.PermissionDenied, errNoSession)
	}
	user, err := s.UserID()
	if err != nil || user == "" {
		return status.Error(codes.PermissionDenied, errNoSession)
	}
	switch action {
	case "renew":
		err = h.m.Renew(ctx)
	case "logout":
		err = h.m.Destroy(ctx)
	case "renew-fail", "renew-refuse":
		if err = h.m.Renew(ctx); err == nil {
			if action == "renew-fail" {
				return status.Error(codes.Internal, "handler: failed after Renew")
			}
			return status.Error(codes.InvalidArgument, "handler: refused after Renew")
		}
	case "save-itself":
		if err = s.Set("saved", "by the handler"); err == nil {
			_, err = h.m.Save(s)
		}
	case "set-follow":
		err = s.Set("streamed", "yes")
	case "send-header-renew":
		if err = grpc.SendHeader(ctx, metadata.Pairs("x-handler", "1")); err == nil {
			err = h.m.Renew(ctx)
		}
	}
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	return nil
}

func (h health) Check(ctx context.Context, req *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	if err := h.serve(ctx, req.Service); err != nil {
		return nil, err
	}
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, nil
}

func (h health) Watch(req *grpc_health_v1.HealthCheckRequest, stream grpc_health_v1.Health_WatchServer) error {
	if err := h.serve(stream.Context(), req.Service); err != nil {
		return err
	}
	serving := &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}
	if req.Service == "follow" || req.Service == "set-follow" {
		// A long-lived stream: an update every 10 ms until a send fails.
		for {
			if err := stream.Send(serving); err != nil {
				return err
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return stream.Send(serving)
}

// Issue 21: the interceptors on a real gRPC server on loopback, with
// SQLite and Redis, on unary calls and streams: a valid token reaches the
// handler's session, a renewal sends the new token back (unary: in the
// response header; stream: in the trailer), a logout sends an empty one,
// and a renewed-away, revoked or logged-out token is refused with
// codes.Unauthenticated by the interceptor, before the handler runs.
func TestInterceptors(t *testing.T) {
	for name, st := range realStores(t) {
		t.Run(name, func(t *testing.T) { checkInterceptors(t, st) })
	}
}

// result is what a call returned: its status and the values of
// session-token in its response header and trailer (nil when absent).
type result struct {
	code            codes.Code
	msg             string
	header, trailer []string
}

// invalidToken is the interceptors' message for a token that names no
// live session.
const invalidToken = "session: the session token is invalid, expired or revoked"

// serveHealth serves the health test service behind m's interceptors on
// a loopback port until the test ends, and returns a client of it and the
// count of calls that reached the service.
func serveHealth(t *testing.T, m *session.Manager, opts ...grpcsession.Option) (grpc_health_v1.HealthClient, *atomic.Int64) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(grpcsession.UnaryServerInterceptor(m)),
		grpc.StreamInterceptor(grpcsession.StreamServerInterceptor(m, opts...)))
	calls := new(atomic.Int64)
	grpc_health_v1.RegisterHealthServer(srv, health{m: m, calls: calls})
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return grpc_health_v1.NewHealthClient(conn), calls
}

func checkInterceptors(t *testing.T, st session.Store) {
	m, err := session.New(st, session.WithHeaderToken(""))
	if err != nil {
		t.Fatal(err)
	}
	const recheck = 50 * time.Millisecond
	client, calls := serveHealth(t, m, grpcsession.WithRecheck(recheck))
	outgoing := func(token string) context.Context {
		ctx := context.Background()
		if token != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
		}
		return ctx
	}
	unary := func(token, action string) result {
		var header, trailer metadata.MD
		_, err := client.Check(outgoing(token), &grpc_health_v1.HealthCheckRequest{Service: action}, grpc.Header(&header), grpc.Trailer(&trailer))
		s := status.Convert(err)
		return result{s.Code(), s.Message(), header.Get(grpcsession.TokenKey), trailer.Get(grpcsession.TokenKey)}
	}
	stream := func(token, action string) result {
		st, err := client.Watch(outgoing(token), &grpc_health_v1.HealthCheckRequest{Service: action})
		if err != nil {
			return result{code: status.Code(err), msg: err.Error()}
		}
		res, err := st.Recv()
		if err == nil {
			if res.Status != grpc_health_v1.HealthCheckResponse_SERVING {
				t.Fatalf("stream: %v", res.Status)
			}
			if _, err = st.Recv(); err == io.EOF {
				err = nil
			}
		}
		header, _ := st.Header()
		s := status.Convert(err)
		return result{s.Code(), s.Message(), header.Get(grpcsession.TokenKey), st.Trailer().Get(grpcsession.TokenKey)}
	}
	for transport, call := range map[string]func(token, action string) result{"unary": unary, "stream": stream} {
		t.Run(transport, func(t *testing.T) {
			// do makes a call that must succeed and returns the
			// session-token values sent back where this transport sends
			// them, failing if any are sent elsewhere.
			do := func(what, token, action string) []string {
				t.Helper()
				r := call(token, action)
				if r.code != codes.OK {
					t.Fatalf("%s: %v %q", what, r.code, r.msg)
				}
				sent, other := r.header, r.trailer
				if transport == "stream" {
					sent, other = r.trailer, r.header
				}
				if other != nil {
					t.Fatalf("%s: a session token sent in the wrong place: header %q, trailer %q", what, r.header, r.trailer)
				}
				return sent
			}
			// refused checks that the interceptor refused the call
			// before the handler ran.
			refused := func(what, token string) {
				t.Helper()
				before := calls.Load()
				r := call(token, "")
				if r.code != codes.Unauthenticated || r.msg != invalidToken {
					t.Fatalf("%s: %v %q, want the interceptor's Unauthenticated %q", what, r.code, r.msg, invalidToken)
				}
				if n := calls.Load() - before; n != 0 {
					t.Fatalf("%s: the handler ran %d times", what, n)
				}
				if r.header != nil || r.trailer != nil {
					t.Fatalf("%s: a refused call sent a session token: header %q, trailer %q", what, r.header, r.trailer)
				}
			}

			// Without a token, the call reaches the handler, without a
			// session: the refusal is the handler's.
			before := calls.Load()
			if r := call("", ""); r.code != codes.PermissionDenied || r.msg != errNoSession || calls.Load() != before+1 {
				t.Fatalf("no token: %v %q, want the handler's refusal", r.code, r.msg)
			}
			alice := "alice-" + transport
			tok := sessiontest.LoginToken(t, m, alice, nil)
			if sent := do("a valid token", tok, ""); sent != nil {
				t.Fatalf("an unchanged session sent a token: %q", sent)
			}
			sent := do("renew", tok, "renew")
			if len(sent) != 1 || len(sent[0]) != 43 || sent[0] == tok {
				t.Fatalf("renew sent %q, want one new token", sent)
			}
			renewed := sent[0]
			refused("the renewed-away token", tok)
			do("the renewed token", renewed, "")
			if _, err := m.RevokeUser(context.Background(), alice); err != nil {
				t.Fatal(err)
			}
			refused("a revoked token", renewed)

			bob := sessiontest.LoginToken(t, m, "bob-"+transport, nil)
			if sent := do("logout", bob, "logout"); len(sent) != 1 || sent[0] != "" {
				t.Fatalf("logout sent %q, want one empty session-token", sent)
			}
			refused("a logged-out token", bob)

			// A handler failing with the server's error: nothing is
			// saved, not even its Renew (a 5xx over HTTP), and no token
			// is sent; the old one still works.
			carol := sessiontest.LoginToken(t, m, "carol-"+transport, nil)
			if r := call(carol, "renew-fail"); r.code != codes.Internal || r.header != nil || r.trailer != nil {
				t.Fatalf("a failing handler's renewal: %v %q, header %q, trailer %q", r.code, r.msg, r.header, r.trailer)
			}
			do("the token after a failed call's renewal", carol, "")
			// A handler may save its session itself: the interceptor
			// then has nothing left to save, and the call succeeds.
			if sent := do("a handler saving its session", carol, "save-itself"); sent != nil {
				t.Fatalf("a handler's own save: the interceptor sent %q", sent)
			}
			// A refusal is an answer (a 4xx over HTTP): the renewal is
			// saved and its token sent in the trailer.
			r := call(carol, "renew-refuse")
			if r.code != codes.InvalidArgument || r.header != nil || len(r.trailer) != 1 || len(r.trailer[0]) != 43 || r.trailer[0] == carol {
				t.Fatalf("a refusing handler's renewal: %v %q, header %q, trailer %q", r.code, r.msg, r.header, r.trailer)
			}
			refused("the token a refused call renewed away", carol)
			carol = r.trailer[0]
			do("the token a refused call renewed", carol, "")
			if transport == "unary" {
				// A handler that sent the header itself: the renewed
				// token comes in the trailer.
				r := unary(carol, "send-header-renew")
				if r.code != codes.OK || r.header != nil || len(r.trailer) != 1 || len(r.trailer[0]) != 43 || r.trailer[0] == carol {
					t.Fatalf("renewal after the handler sent the header: %v %q, header %q, trailer %q", r.code, r.msg, r.header, r.trailer)
				}
				refused("the token renewed after the header was sent", carol)
			}
		})
	}

	// A long-lived stream ends, with Unauthenticated and an empty token,
	// within about one re-check interval of its session's revocation.
	dave := sessiontest.LoginToken(t, m, "dave", nil)
	follow, err := client.Watch(outgoing(dave), &grpc_health_v1.HealthCheckRequest{Service: "follow"})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := follow.Recv(); err != nil {
			t.Fatalf("the stream before the revocation: %v", err)
		}
	}
	revoked := time.Now()
	if _, err := m.RevokeUser(context.Background(), "dave"); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err = follow.Recv(); err != nil {
			break
		}
		if time.Since(revoked) > 20*recheck {
			t.Fatalf("the stream still runs %v after its session was revoked", time.Since(revoked))
		}
	}
	took := time.Since(revoked)
	if s := status.Convert(err); s.Code() != codes.Unauthenticated || follow.Trailer().Get(grpcsession.TokenKey) == nil || follow.Trailer().Get(grpcsession.TokenKey)[0] != "" {
		t.Fatalf("the stream of a revoked session ended with %v %q, trailer %q", s.Code(), s.Message(), follow.Trailer())
	}
	t.Logf("the stream ended %v after the revocation (re-check every %v)", took, recheck)
}

// A client ends a server stream by cancelling it, the usual end of a
// subscription: the session's changes are saved all the same (before,
// the save ran on the cancelled stream's context, which SQLite and Redis
// refuse, and was lost with an Unavailable).
func TestStreamCancelledByTheClientIsSaved(t *testing.T) {
	for name, st := range realStores(t) {
		t.Run(name, func(t *testing.T) {
			m, err := session.New(st, session.WithHeaderToken(""))
			if err != nil {
				t.Fatal(err)
			}
			client, _ := serveHealth(t, m, grpcsession.WithRecheck(time.Second))
			tok := sessiontest.LoginToken(t, m, "dave-"+name, nil)
			ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok))
			stream, err := client.Watch(ctx, &grpc_health_v1.HealthCheckRequest{Service: "set-follow"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := stream.Recv(); err != nil {
				t.Fatal(err)
			}
			cancel()
			// The handler notices at its next send and returns; the
			// interceptor then saves. Wait for it, boundedly.
			deadline := time.Now().Add(10 * time.Second)
			for {
				s, err := m.Lookup(context.Background(), tok)
				if err != nil {
					t.Fatalf("the session after its stream was cancelled: %v", err)
				}
				v, ok, err := session.Get[string](s, "streamed")
				if err != nil {
					t.Fatal(err)
				}
				if ok && v == "yes" {
					return
				}
				if time.Now().After(deadline) {
					t.Fatal("the stream's change was not saved after the client cancelled it")
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
