package sessionprom_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionkit/session"
	sessionprom "github.com/sessionkit/session/contrib/prometheus"
	"github.com/sessionkit/session/memstore"
)

// Session metrics on /metrics: lifecycle and security events, store
// latency and errors, and the number of live sessions.
func Example() {
	store := memstore.New()
	defer store.Stop()
	metrics := sessionprom.New()
	sessions, err := session.New(store, session.WithObserver(metrics))
	if err != nil {
		log.Fatal(err)
	}
	metrics.Watch(sessions) // the session_active gauge
	registry := prometheus.NewRegistry()
	registry.MustRegister(metrics)

	app := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session.FromContext(r.Context()).Set("seen", true)
	}))
	app.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))

	// In a server: http.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	families, err := registry.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch {
			case f.GetName() == "session_active":
				fmt.Println("session_active", m.GetGauge().GetValue())
			case f.GetName() == "session_events_total" && m.GetLabel()[0].GetValue() == "created":
				fmt.Println("session_events_total{event=\"created\"}", m.GetCounter().GetValue())
			}
		}
	}
	// Output:
	// session_active 1
	// session_events_total{event="created"} 1
}
