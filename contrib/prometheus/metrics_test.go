package sessionprom_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/sessionkit/session"
	sessionprom "github.com/sessionkit/session/contrib/prometheus"
	"github.com/sessionkit/session/memstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type failingCounter struct{ *memstore.Store }

func (failingCounter) CountActive(context.Context, time.Time) (int64, error) {
	return 0, errors.New("down")
}

func TestMetricsFromEvents(t *testing.T) {
	st := memstore.New()
	defer st.Stop()
	metrics := sessionprom.New()
	m, err := session.New(st, session.WithObserver(metrics), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	metrics.Watch(m)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics)

	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			m.Login(r.Context(), "alice")
		case "/logout":
			m.Destroy(r.Context())
		default:
			session.Get[string](session.FromContext(r.Context()), "x")
		}
	}))
	do := func(path, tok string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		if tok != "" {
			r.Header.Set("Cookie", "__Host-sid="+tok)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	var toks []string
	for range 3 {
		toks = append(toks, do("/login", "").Result().Cookies()[0].Value)
	}
	do("/read", "malformed")
	do("/read", strings.Repeat("A", 42)+"A") // well-formed, unknown
	do("/logout", toks[0])
	if _, err := m.RevokeUser(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}

	want := `
# HELP session_events_total Session lifecycle and security events.
# TYPE session_events_total counter
session_events_total{event="created"} 3
session_events_total{event="destroyed"} 1
session_events_total{event="invalid_token"} 2
session_events_total{event="renewed"} 3
session_events_total{event="revoked"} 1
# HELP session_invalid_tokens_total Requests presenting a session token that was not accepted, by reason.
# TYPE session_invalid_tokens_total counter
session_invalid_tokens_total{reason="malformed"} 1
session_invalid_tokens_total{reason="unknown"} 1
# HELP session_active Live sessions, counted at scrape time.
# TYPE session_active gauge
session_active 0
# HELP session_active_count_up 1 when the last count of active sessions succeeded, 0 when the store failed.
# TYPE session_active_count_up gauge
session_active_count_up 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"session_events_total", "session_invalid_tokens_total", "session_active", "session_active_count_up"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(metrics, "session_store_duration_seconds"); n < 3 {
		t.Fatalf("store latency series: %d, want create, load, delete, ...", n)
	}

	// A store that cannot count: the gauge disappears and _up says why.
	bad := sessionprom.New()
	m2, _ := session.New(failingCounter{st}, session.WithObserver(bad))
	bad.Watch(m2)
	if v := testutil.ToFloat64(prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
		all := make(chan prometheus.Metric, 100)
		bad.Collect(all)
		close(all)
		for mt := range all {
			if strings.Contains(mt.Desc().String(), "active_count_up") {
				ch <- mt
			}
		}
	})); v != 0 {
		t.Fatalf("active_count_up = %v with a failing store", v)
	}
}
