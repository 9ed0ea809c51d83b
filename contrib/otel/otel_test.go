package otel_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sessionkit/session"
	sessionotel "github.com/sessionkit/session/contrib/otel"
	"github.com/sessionkit/session/memstore"
)

// Issue 21: store calls become child spans of the request's span, events
// become span events, metrics count both, and no attribute holds a token.
func TestSpansEventsAndMetrics(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	obs, err := sessionotel.New(sessionotel.WithTracerProvider(tp), sessionotel.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	st := memstore.New()
	defer st.Stop()
	m, err := session.New(st, session.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			m.Login(r.Context(), "alice")
			return
		}
		session.FromContext(r.Context()).UserID()
	}))
	// Each request runs inside a server span, as otelhttp would start it.
	do := func(path string, cookie *http.Cookie) *httptest.ResponseRecorder {
		ctx, span := tp.Tracer("test").Start(context.Background(), "GET "+path)
		defer span.End()
		r := httptest.NewRequest("GET", "https://example.com"+path, nil).WithContext(ctx)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := do("/login", nil)
	cookie := w.Result().Cookies()[0]
	do("/me", cookie)
	do("/me", &http.Cookie{Name: cookie.Name, Value: strings.Repeat("A", 43)}) // unknown token

	var storeSpans, events int
	parents := map[string]string{}
	for _, s := range spans.Ended() {
		parents[s.SpanContext().SpanID().String()] = s.Name()
	}
	for _, s := range spans.Ended() {
		if strings.HasPrefix(s.Name(), "session.store.") {
			storeSpans++
			if p := parents[s.Parent().SpanID().String()]; !strings.HasPrefix(p, "GET ") {
				t.Fatalf("store span %s is not a child of the request's span (parent %q)", s.Name(), p)
			}
		}
		for _, ev := range s.Events() {
			events++
			for _, a := range ev.Attributes {
				if strings.Contains(a.Value.String(), cookie.Value) {
					t.Fatalf("a span event holds the token: %v", a)
				}
			}
		}
		for _, a := range s.Attributes() {
			if strings.Contains(a.Value.String(), cookie.Value) {
				t.Fatalf("a span attribute holds the token: %v", a)
			}
		}
	}
	if storeSpans < 3 { // create, load, load
		t.Fatalf("%d store spans, want at least 3", storeSpans)
	}
	if events < 2 { // created and renewed (login), invalid_token
		t.Fatalf("%d span events", events)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			found[mt.Name] = true
			if sum, ok := mt.Data.(metricdata.Sum[int64]); ok && mt.Name == "session.events" {
				invalid := false
				for _, dp := range sum.DataPoints {
					if v, ok := dp.Attributes.Value(attribute.Key("session.event")); ok && v.AsString() == "invalid_token" {
						invalid = true
					}
				}
				if !invalid {
					t.Fatal("no invalid_token in session.events")
				}
			}
		}
	}
	if !found["session.store.duration"] || !found["session.events"] {
		t.Fatalf("metrics %v", found)
	}
}
