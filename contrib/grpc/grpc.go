// Package grpc gives gRPC servers the sessions of a session.Manager:
// unary and stream server interceptors read the token from the call's
// metadata ("authorization: Bearer TOKEN", as header-token managers use
// it), look the session up with every check the HTTP middleware makes
// (session.Manager.Lookup: strict format, deadlines, revocation), put it in
// the handler's context (Manager.FromContext), and save its changes when
// the handler returns, under the same conditional writes.
//
// A call without a token reaches the handler without a session (a public
// method decides for itself); a token that names no live session ends the
// call with codes.Unauthenticated, a store failure with codes.Unavailable,
// before the handler runs. A token renewed by the handler (Login, Renew)
// goes back in the "session-token" response header (unary) or trailer
// (stream); an ended session as an empty "session-token".
package grpc

import (
	"context"
	"errors"
	"strings"

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
		s, err := lookup(ctx, m)
		if err != nil {
			return nil, err
		}
		if s == nil {
			return handler(ctx, req)
		}
		resp, herr := handler(s.Context(), req)
		tok, changed, err := save(m, s)
		if err != nil {
			return nil, err
		}
		if changed {
			if err := grpc.SetHeader(ctx, metadata.Pairs(TokenKey, tok)); err != nil {
				return nil, status.Error(codes.Internal, "session: sending the session token")
			}
		}
		return resp, herr
	}
}

// StreamServerInterceptor attaches m's sessions to streams.
func StreamServerInterceptor(m *session.Manager) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		s, err := lookup(ss.Context(), m)
		if err != nil {
			return err
		}
		if s == nil {
			return handler(srv, ss)
		}
		herr := handler(srv, &sessionStream{ServerStream: ss, ctx: s.Context()})
		tok, changed, err := save(m, s)
		if err != nil {
			return err
		}
		if changed {
			ss.SetTrailer(metadata.Pairs(TokenKey, tok))
		}
		return herr
	}
}

// sessionStream is a server stream whose context carries the session.
type sessionStream struct {
	grpc.ServerStream
	ctx context.Context
}

// Context returns the stream's context with the session.
func (s *sessionStream) Context() context.Context { return s.ctx }

// lookup finds the call's session: nil without a token.
func lookup(ctx context.Context, m *session.Manager) (*session.Session, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get("authorization")
	if len(values) == 0 {
		return nil, nil
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	if len(values) > 1 || !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, status.Error(codes.Unauthenticated, "session: expected one \"authorization: Bearer TOKEN\"")
	}
	s, err := m.Lookup(ctx, strings.TrimSpace(token))
	switch {
	case errors.Is(err, session.ErrInvalidToken):
		return nil, status.Error(codes.Unauthenticated, "session: the session token is invalid, expired or revoked")
	case err != nil:
		return nil, status.Error(codes.Unavailable, "session: the session store is unavailable")
	}
	return s, nil
}

// save commits the session and reports its token if it changed.
func save(m *session.Manager, s *session.Session) (token string, changed bool, err error) {
	before := ""
	if md, ok := metadata.FromIncomingContext(s.Context()); ok {
		if v := md.Get("authorization"); len(v) == 1 {
			_, before, _ = strings.Cut(strings.TrimSpace(v[0]), " ")
			before = strings.TrimSpace(before)
		}
	}
	token, err = m.Save(s)
	if err != nil {
		return "", false, status.Error(codes.Unavailable, "session: saving the session failed")
	}
	return token, token != before, nil
}
