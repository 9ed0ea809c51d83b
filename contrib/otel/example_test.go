package otel_test

import (
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sessionkit/session"
	sessionotel "github.com/sessionkit/session/contrib/otel"
	"github.com/sessionkit/session/memstore"
)

func ExampleNew() {
	spans := tracetest.NewSpanRecorder() // in production: an OTLP exporter
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	obs, err := sessionotel.New(sessionotel.WithTracerProvider(tp))
	if err != nil {
		panic(err)
	}
	store := memstore.New()
	defer store.Stop()
	m, err := session.New(store, session.WithObserver(obs))
	if err != nil {
		panic(err)
	}
	fmt.Println(m.CookieName())
	// Output: __Host-sid
}
