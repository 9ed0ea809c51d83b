// Package grpc gives gRPC servers the sessions of a session.Manager:
// unary and stream server interceptors read the token from the call's
// metadata (always "authorization: Bearer TOKEN", whatever header a
// header-token manager reads over HTTP), look the session up with every check the HTTP middleware makes
// (session.Manager.Lookup: strict format, deadlines, revocation), put it in
// the handler's context (Manager.FromContext), and save its changes when
// the handler returns, under the same conditional writes.
//
// gRPC carries no cookies, so the interceptors read the metadata whatever
// m's transport: installed with a cookie-mode manager they make gRPC a
// second, deliberate transport of its sessions (a browser's token, which
// only its HttpOnly cookie holds, then also works as a bearer token here).
// Give gRPC clients a header-token manager of their own (session.
// WithHeaderToken, over its own store or key prefix) when the two kinds of
// client must not share sessions.
//
// A call without a token reaches the handler without a session (a public
// method decides for itself); a token that names no live session ends the
// call with codes.Unauthenticated, a store failure with codes.Unavailable,
// before the handler runs. A token renewed by the handler (Login, Renew)
// goes back in the "session-token" response header of a unary call (in its
// trailer when the call fails or the handler sent the header itself) and
// in the trailer of a stream; an ended session as an empty
// "session-token".
//
// The middleware's rule for a failed response holds: when the handler
// returns an error with a code that is the server's failure (Unknown,
// Internal, Unavailable, DataLoss, Unimplemented, DeadlineExceeded, or an
// error without a gRPC status), the session's changes are not saved, nor a
// Login or Renew (session.Manager.Abandon); other errors (InvalidArgument,
// PermissionDenied, ...) are answers, and the changes are saved.
//
// A stream checks its session when it starts. With WithRecheck it checks
// again at an interval while it runs and, once the session is revoked,
// logged out elsewhere or expired, cancels the stream's context and ends
// the stream's receives and sends with codes.Unauthenticated, so a
// long-lived stream does not outlive its session by more than the interval.
package grpc

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/sessionkit/session"
)

// TokenKey is the metadata key of a renewed or ended token in responses.
const TokenKey = "session-token"

// UnaryServerInterceptor attaches m's sessions to unary calls.
func UnaryServerInterceptor(m *session.Manager) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		s, token, err := lookup(ctx, m)
		if err != nil {
			return nil, err
		}
		if s == nil {
			return handler(ctx, req)
		}
		resp, herr := handler(s.Context(), req)
		tok, changed, err := end(m, s, token, herr)
		if err != nil {
			return nil, err
		}
		if changed {
			// A failed call may answer with trailers only, and a header
			// the handler sent itself cannot take more: the trailer then.
			md := metadata.Pairs(TokenKey, tok)
			if herr != nil || grpc.SetHeader(ctx, md) != nil {
				if err := grpc.SetTrailer(ctx, md); err != nil {
					return nil, status.Error(codes.Internal, "session: sending the session token")
				}
			}
		}
		return resp, herr
	}
}

// Option configures StreamServerInterceptor.
type Option func(*streamConfig)

type streamConfig struct {
	recheck time.Duration
}

// WithRecheck makes a stream look its session up again every interval
// while it runs (one store read each time) and end the stream, with
// codes.Unauthenticated, once the session is no longer valid (revoked,
// logged out elsewhere, renewed by another call, expired). A store failure
// during a re-check ends nothing: the next re-check tries again. Zero or
// less: no re-checks (the default).
//
// A re-check only reads: the stream's activity does not move the
// session's idle deadline until the stream ends and its session is saved,
// so a stream that outlives the idle timeout without other requests is
// ended as expired. With re-checks, a receive the handler is waiting in
// returns when the session ends; the message it was reading into may
// still be written to afterwards, until the call ends, so a handler must
// not reuse it after such an error. A handler that ends its own session
// (Manager.Destroy) ends the stream at the next re-check too, as any
// stream whose session ended: send what follows a logout before it, or
// return.
func WithRecheck(interval time.Duration) Option {
	return func(c *streamConfig) { c.recheck = interval }
}

// errSessionEnded is the cause of a stream context cancelled by a re-check.
var errSessionEnded = status.Error(codes.Unauthenticated, "session: the session ended while the stream ran (revoked, logged out or expired)")

// StreamServerInterceptor attaches m's sessions to streams.
func StreamServerInterceptor(m *session.Manager, opts ...Option) grpc.StreamServerInterceptor {
	var cfg streamConfig
	for _, o := range opts {
		o(&cfg)
	}
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		s, token, err := lookup(ss.Context(), m)
		if err != nil {
			return err
		}
		if s == nil {
			return handler(srv, ss)
		}
		ctx, cancel := context.WithCancelCause(s.Context())
		defer cancel(nil)
		wrapped := &sessionStream{ServerStream: ss, ctx: ctx}
		stopRechecks := func() {}
		if cfg.recheck > 0 {
			// The re-checks end with the handler, a store call in flight
			// included (its context is canceled), before the session is
			// saved: a save that renews the session would otherwise make
			// a re-check look the old token up and report it unknown.
			var wg sync.WaitGroup
			rctx, stop := context.WithCancel(ss.Context())
			wg.Go(func() { recheck(rctx, m, token, cfg.recheck, cancel) })
			stopRechecks = func() {
				stop()
				wg.Wait()
			}
			defer stopRechecks() // a panicking handler
			wrapped.rechecked = true
		}
		herr := handler(srv, wrapped)
		stopRechecks()
		if errors.Is(context.Cause(ctx), errSessionEnded) {
			ss.SetTrailer(metadata.Pairs(TokenKey, ""))
			return errSessionEnded
		}
		tok, changed, err := end(m, s, token, herr)
		if err != nil {
			return err
		}
		if changed {
			ss.SetTrailer(metadata.Pairs(TokenKey, tok))
		}
		return herr
	}
}

// recheck looks token up every interval until ctx ends, and cancels the
// stream with errSessionEnded once it names no session.
func recheck(ctx context.Context, m *session.Manager, token string, interval time.Duration, cancel context.CancelCauseFunc) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := m.Lookup(ctx, token); errors.Is(err, session.ErrInvalidToken) {
				cancel(errSessionEnded)
				return
			}
		}
	}
}

// sessionStream is a server stream whose context carries the session and,
// with re-checks, ends its receives and sends when the session ends.
type sessionStream struct {
	grpc.ServerStream
	ctx       context.Context
	rechecked bool
}

// Context returns the stream's context with the session.
func (s *sessionStream) Context() context.Context { return s.ctx }

// SendMsg sends m unless a re-check found the session ended.
func (s *sessionStream) SendMsg(m any) error {
	if s.rechecked && s.ctx.Err() != nil {
		return ended(s.ctx)
	}
	return s.ServerStream.SendMsg(m)
}

// RecvMsg receives into m. With re-checks it also returns, with
// codes.Unauthenticated, when a re-check ends the session while it waits
// for the client; the receive it started then finishes into m when the
// call ends, and later receives return at once.
func (s *sessionStream) RecvMsg(m any) error {
	if !s.rechecked {
		return s.ServerStream.RecvMsg(m)
	}
	if s.ctx.Err() != nil {
		return ended(s.ctx)
	}
	done := make(chan error, 1)
	go func() { done <- s.ServerStream.RecvMsg(m) }()
	select {
	case err := <-done:
		return err
	case <-s.ctx.Done():
		return ended(s.ctx)
	}
}

// ended is the error of a stream whose context ended: errSessionEnded
// when a re-check ended it, the context's error otherwise.
func ended(ctx context.Context) error {
	if cause := context.Cause(ctx); errors.Is(cause, errSessionEnded) {
		return errSessionEnded
	}
	return status.FromContextError(ctx.Err()).Err()
}

// lookup finds the call's session and the token it presented: nil
// without a token.
func lookup(ctx context.Context, m *session.Manager) (*session.Session, string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get("authorization")
	if len(values) == 0 {
		return nil, "", nil
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	if len(values) > 1 || !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, "", status.Error(codes.Unauthenticated, "session: expected one \"authorization: Bearer TOKEN\"")
	}
	token = strings.TrimSpace(token)
	s, err := m.Lookup(ctx, token)
	switch {
	case errors.Is(err, session.ErrInvalidToken):
		return nil, "", status.Error(codes.Unauthenticated, "session: the session token is invalid, expired or revoked")
	case err != nil:
		return nil, "", status.Error(codes.Unavailable, "session: the session store is unavailable")
	}
	return s, token, nil
}

// serverFailure reports whether a handler's error is the server's failure,
// the gRPC counterpart of a 5xx response: its changes are not saved.
func serverFailure(err error) bool {
	if err == nil {
		return false
	}
	switch status.Code(err) {
	case codes.Unknown, codes.Internal, codes.Unavailable, codes.DataLoss, codes.Unimplemented, codes.DeadlineExceeded:
		return true
	}
	return false
}

// end saves the session after its handler returned herr (or abandons it
// when herr is the server's failure) and reports its token if it changed
// from the one the call presented.
func end(m *session.Manager, s *session.Session, presented string, herr error) (token string, changed bool, err error) {
	if serverFailure(herr) {
		token, err = m.Abandon(s)
	} else {
		token, err = m.Save(s)
	}
	if errors.Is(err, session.ErrAlreadySaved) {
		// The handler saved it itself (to send its token in a message):
		// nothing is left to save, and it told the client.
		return presented, false, nil
	}
	if err != nil {
		return "", false, status.Error(codes.Unavailable, "session: saving the session failed")
	}
	return token, token != presented, nil
}
