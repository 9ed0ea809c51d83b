// Package otel reports a session.Manager to OpenTelemetry: a span for the
// session's load and one for its commit in a request (session.load,
// session.commit, children of the request's span; see
// session.PhaseObserver for when each happens), a span for every store
// call (session.store.load, .create, .update, .touch, .renew, .delete, ...)
// as a child of its phase's span, or of the caller's span for the calls a
// handler makes itself (Destroy, RevokeSession) and those outside a
// request (the admin ones), span events for the
// lifecycle and security events (created, renewed, destroyed, expired,
// revoked, invalid_token, store_error) on the span where they happen (the
// request's, or its session.load or session.commit), and two
// metrics: the store calls' duration (session.store.duration, seconds, by
// operation and outcome) and the events (session.events, by kind, and
// for invalid tokens by reason: the other reasons are free text).
//
// Nothing it records contains a token or a digest: a session appears as
// the manager's keyed hash of its digest (session.ref), which cannot be
// replayed or turned back into the token; the user id is recorded as
// enduser.id only with WithUserID.
//
//	obs, err := otel.New(otel.WithUserID())
//	if err != nil {
//		return err
//	}
//	sessions, err := session.New(store, session.WithObserver(obs))
package otel

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionkit/session"
)

// instrumentation names the tracer and meter.
const instrumentation = "github.com/sessionkit/session/contrib/otel"

// Observer is a session.Observer recording to OpenTelemetry.
type Observer struct {
	tracer   trace.Tracer
	duration metric.Float64Histogram
	events   metric.Int64Counter
	userID   bool
}

// An Option configures an Observer.
type Option func(*options)

type options struct {
	tp     trace.TracerProvider
	mp     metric.MeterProvider
	userID bool
}

// WithTracerProvider sets the tracer provider (default: otel's global one).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(o *options) { o.tp = tp } }

// WithMeterProvider sets the meter provider (default: otel's global one).
func WithMeterProvider(mp metric.MeterProvider) Option { return func(o *options) { o.mp = mp } }

// WithUserID records the session's user id on span events (enduser.id).
// It is off by default: a user id is personal data.
func WithUserID() Option { return func(o *options) { o.userID = true } }

// New returns an Observer; give it to session.WithObserver.
func New(opts ...Option) (*Observer, error) {
	o := options{tp: otel.GetTracerProvider(), mp: otel.GetMeterProvider()}
	for _, opt := range opts {
		opt(&o)
	}
	meter := o.mp.Meter(instrumentation)
	duration, err := meter.Float64Histogram("session.store.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of the session store's calls"))
	if err != nil {
		return nil, err
	}
	events, err := meter.Int64Counter("session.events", metric.WithDescription("Session lifecycle and security events"))
	if err != nil {
		return nil, err
	}
	return &Observer{tracer: o.tp.Tracer(instrumentation), duration: duration, events: events, userID: o.userID}, nil
}

// StartPhase starts the span of a session's load or commit
// (session.load, session.commit) as a child of ctx's span; the store
// calls of the phase are its children. It makes Observer a
// session.PhaseObserver.
func (o *Observer) StartPhase(ctx context.Context, phase string) (context.Context, func(error)) {
	ctx, span := o.tracer.Start(ctx, "session."+phase, trace.WithSpanKind(trace.SpanKindInternal))
	return ctx, func(err error) {
		if err != nil {
			// As for store calls: the outcome, not the text.
			span.SetStatus(codes.Error, "session "+phase+" failed")
		}
		span.End()
	}
}

// Observe records e.
func (o *Observer) Observe(ctx context.Context, e session.Event) {
	if e.Kind == session.EventStoreCall {
		o.storeCall(ctx, e)
		return
	}
	attrs := []attribute.KeyValue{attribute.String("session.event", e.Kind.String())}
	// The metric carries the reason of invalid tokens only, a short fixed
	// set (as Prometheus's invalid_tokens_total): other reasons are free
	// text, some with counts ("all 3 sessions of the user"), and would
	// make a series per value. Span events carry every reason.
	if e.Reason != "" && e.Kind == session.EventInvalidToken {
		attrs = append(attrs, attribute.String("session.reason", e.Reason))
	}
	o.events.Add(ctx, 1, metric.WithAttributes(attrs...))
	if e.Reason != "" && e.Kind != session.EventInvalidToken {
		attrs = append(attrs, attribute.String("session.reason", e.Reason))
	}
	if e.TokenHash != "" {
		attrs = append(attrs, attribute.String("session.ref", e.TokenHash))
	}
	if e.NewTokenHash != "" {
		attrs = append(attrs, attribute.String("session.new_ref", e.NewTokenHash))
	}
	if e.Op != "" {
		attrs = append(attrs, attribute.String("session.op", e.Op))
	}
	if o.userID && e.UserID != "" {
		attrs = append(attrs, attribute.String("enduser.id", e.UserID))
	}
	span := trace.SpanFromContext(ctx)
	span.AddEvent("session."+e.Kind.String(), trace.WithAttributes(attrs...))
	if e.Kind == session.EventStoreError && e.Err != nil {
		span.SetStatus(codes.Error, "session store error")
	}
}

// storeCall records a finished store call as a span (started when the
// call started) and in the duration histogram.
func (o *Observer) storeCall(ctx context.Context, e session.Event) {
	end := time.Now()
	outcome := "ok"
	if e.Err != nil {
		outcome = "error"
	}
	_, span := o.tracer.Start(ctx, "session.store."+e.Op, trace.WithTimestamp(end.Add(-e.Duration)),
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attribute.String("session.op", e.Op)))
	if e.Err != nil {
		// The error's text comes from the store driver: it never holds a
		// token (stores see digests only) but may name hosts; record the
		// outcome, not the text.
		span.SetStatus(codes.Error, "session store call failed")
	}
	span.End(trace.WithTimestamp(end))
	o.duration.Record(ctx, e.Duration.Seconds(), metric.WithAttributes(
		attribute.String("session.op", e.Op), attribute.String("session.outcome", outcome)))
}
