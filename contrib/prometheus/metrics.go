// Package sessionprom exports the session manager's events as Prometheus
// metrics. It lives in contrib/prometheus, its own module, so the core
// stays free of third-party dependencies.
//
//	metrics := sessionprom.New()
//	sessions, _ := session.New(store, session.WithObserver(metrics))
//	metrics.Watch(sessions)              // active-sessions gauge
//	prometheus.MustRegister(metrics)
//
// Metrics (namespace "session" by default):
//
//	session_events_total{event}                  created, renewed, destroyed, expired, revoked, invalid_token, store_error
//	session_invalid_tokens_total{reason}         malformed, unknown, duplicate, corrupt
//	session_store_errors_total{op}               failed store calls by operation
//	session_store_duration_seconds{op}           histogram of store call latency by operation
//	session_active                               live sessions, counted at scrape time (stores with session.Counter)
package sessionprom

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionkit/session"
)

// Collector is a session.Observer and a prometheus.Collector.
type Collector struct {
	events   *prometheus.CounterVec
	invalid  *prometheus.CounterVec
	errors   *prometheus.CounterVec
	duration *prometheus.HistogramVec
	active   *prometheus.Desc
	activeUp *prometheus.Desc

	mu       sync.Mutex
	managers []*session.Manager
	timeout  time.Duration
}

// Option configures a Collector.
type Option func(*options)

type options struct {
	namespace string
	buckets   []float64
	timeout   time.Duration
}

// WithNamespace sets the metric namespace (default "session").
func WithNamespace(ns string) Option { return func(o *options) { o.namespace = ns } }

// WithBuckets sets the latency histogram buckets in seconds (default from
// 100 µs to 2.5 s).
func WithBuckets(b []float64) Option { return func(o *options) { o.buckets = b } }

// WithCountTimeout bounds the store call that counts active sessions at
// scrape time (default 2 s).
func WithCountTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// New returns a Collector. Pass it to session.WithObserver and register it
// with a prometheus.Registerer.
func New(opts ...Option) *Collector {
	o := options{
		namespace: "session",
		buckets:   []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
		timeout:   2 * time.Second,
	}
	for _, f := range opts {
		f(&o)
	}
	return &Collector{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: o.namespace, Name: "events_total",
			Help: "Session lifecycle and security events."}, []string{"event"}),
		invalid: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: o.namespace, Name: "invalid_tokens_total",
			Help: "Requests presenting a session token that was not accepted, by reason."}, []string{"reason"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: o.namespace, Name: "store_errors_total",
			Help: "Failed store calls, by operation."}, []string{"op"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: o.namespace, Name: "store_duration_seconds",
			Help: "Latency of store calls, by operation.", Buckets: o.buckets}, []string{"op"}),
		active: prometheus.NewDesc(prometheus.BuildFQName(o.namespace, "", "active"),
			"Live sessions, counted at scrape time.", nil, nil),
		activeUp: prometheus.NewDesc(prometheus.BuildFQName(o.namespace, "", "active_count_up"),
			"1 when the last count of active sessions succeeded, 0 when the store failed.", nil, nil),
		timeout: o.timeout,
	}
}

// Watch adds a manager whose active sessions the session_active gauge
// reports. Its store must implement session.Counter; counting runs at each
// scrape, so use it with stores that count cheaply (all stores of this
// repository count through an index).
func (c *Collector) Watch(m *session.Manager) {
	c.mu.Lock()
	c.managers = append(c.managers, m)
	c.mu.Unlock()
}

// Observe records an event; it implements session.Observer.
func (c *Collector) Observe(_ context.Context, e session.Event) {
	switch e.Kind {
	case session.EventStoreCall:
		c.duration.WithLabelValues(e.Op).Observe(e.Duration.Seconds())
		return
	case session.EventStoreError:
		c.errors.WithLabelValues(e.Op).Inc()
	case session.EventInvalidToken:
		c.invalid.WithLabelValues(e.Reason).Inc()
	}
	c.events.WithLabelValues(e.Kind.String()).Inc()
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	c.events.Describe(ch)
	c.invalid.Describe(ch)
	c.errors.Describe(ch)
	c.duration.Describe(ch)
	ch <- c.active
	ch <- c.activeUp
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.events.Collect(ch)
	c.invalid.Collect(ch)
	c.errors.Collect(ch)
	c.duration.Collect(ch)
	c.mu.Lock()
	managers := append([]*session.Manager(nil), c.managers...)
	c.mu.Unlock()
	if len(managers) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	var total int64
	up := 1.0
	for _, m := range managers {
		n, err := m.CountActive(ctx)
		if err != nil {
			up = 0
			continue
		}
		total += n
	}
	ch <- prometheus.MustNewConstMetric(c.activeUp, prometheus.GaugeValue, up)
	if up == 1 {
		ch <- prometheus.MustNewConstMetric(c.active, prometheus.GaugeValue, float64(total))
	}
}

var (
	_ session.Observer     = (*Collector)(nil)
	_ prometheus.Collector = (*Collector)(nil)
)
