package otel_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/sessionkit/session"
	sessionotel "github.com/sessionkit/session/contrib/otel"
	"github.com/sessionkit/session/memstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Issue 21: a session's load and commit become child spans of the
// request's span and its store calls their children, events
// become span events, metrics count both, and nothing recorded holds a
// token or a digest, on memory, SQLite and Redis.
func TestSpansEventsAndMetrics(t *testing.T) {
	stores := realStores(t)
	mem := memstore.New()
	defer mem.Stop()
	stores["memory"] = mem
	for name, st := range stores {
		t.Run(name, func(t *testing.T) { checkSpansEventsAndMetrics(t, st) })
	}
}

func checkSpansEventsAndMetrics(t *testing.T, st session.Store) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	obs, err := sessionotel.New(sessionotel.WithTracerProvider(tp), sessionotel.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(st, session.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var err error
		switch r.URL.Path {
		case "/visit":
			err = session.FromContext(ctx).Set("visits", 1)
		case "/login":
			err = m.Login(ctx, "alice")
		case "/renew":
			err = m.Renew(ctx)
		case "/logout":
			err = m.Destroy(ctx)
		default:
			_, err = session.FromContext(ctx).UserID()
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	// Each request runs inside a server span, as otelhttp would start it;
	// do returns the session cookie's new value, if one was set.
	do := func(path, token string) string {
		t.Helper()
		ctx, span := tp.Tracer("test").Start(context.Background(), "GET "+path)
		defer span.End()
		r := httptest.NewRequest("GET", "https://example.com"+path, nil).WithContext(ctx)
		if token != "" {
			r.AddCookie(&http.Cookie{Name: m.CookieName(), Value: token})
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %q", path, w.Code, w.Body.String())
		}
		for _, c := range w.Result().Cookies() {
			if c.Name == m.CookieName() && c.MaxAge >= 0 {
				return c.Value
			}
		}
		return ""
	}
	anonymous := do("/visit", "")
	loggedIn := do("/login", anonymous) // renewed: a new token
	do("/me", loggedIn)
	renewed := do("/renew", loggedIn)
	do("/me", renewed)
	unknown := strings.Repeat("A", 43) // well-formed, never issued
	do("/me", unknown)
	malformed := "not-a-token"
	do("/me", malformed)
	do("/logout", renewed)
	// A revocation whose event reason counts the sessions it ended: the
	// count must not become a metric attribute (a series per count).
	for i := 0; i < 2; i++ {
		do("/login", "")
	}
	revokeCtx, revokeSpan := tp.Tracer("test").Start(context.Background(), "GET /admin/revoke")
	if _, err := m.RevokeUser(revokeCtx, "alice"); err != nil {
		t.Fatal(err)
	}
	revokeSpan.End()
	tokens := map[string]string{"anonymous": anonymous, "logged-in": loggedIn, "renewed": renewed, "unknown": unknown}
	for name, tok := range tokens {
		if len(tok) != 43 {
			t.Fatalf("the %s token %q", name, tok)
		}
	}
	if anonymous == loggedIn || loggedIn == renewed {
		t.Fatalf("tokens not renewed: %q %q %q", anonymous, loggedIn, renewed)
	}

	// Every token, and every session digest in the encodings a careless
	// observer would use, must appear nowhere in what is recorded.
	secrets := map[string]string{"the malformed token": malformed}
	for name, tok := range tokens {
		d, ok := session.DigestOf(tok)
		if !ok {
			t.Fatalf("DigestOf(%s token)", name)
		}
		secrets["the "+name+" token"] = tok
		secrets["the "+name+" digest (hex)"] = d.String()
		secrets["the "+name+" digest (raw)"] = string(d[:])
		secrets["the "+name+" digest (base64)"] = base64.StdEncoding.EncodeToString(d[:])
		secrets["the "+name+" digest (base64url)"] = base64.RawURLEncoding.EncodeToString(d[:])
	}
	check := func(where, s string) {
		t.Helper()
		for name, secret := range secrets {
			if strings.Contains(s, secret) || strings.Contains(strings.ToLower(s), strings.ToLower(secret)) {
				t.Fatalf("%s holds %s: %q", where, name, s)
			}
		}
	}
	checkAttrs := func(where string, attrs []attribute.KeyValue) {
		t.Helper()
		for _, a := range attrs {
			check(where+" attribute "+string(a.Key), string(a.Key)+"="+a.Value.String())
		}
	}

	var storeSpans int
	seen := map[string]bool{} // span event names, and "ref" once a session.ref was recorded
	parents := map[string]string{}
	phases := map[string]int{} // "load" and "commit" spans
	for _, s := range spans.Ended() {
		parents[s.SpanContext().SpanID().String()] = s.Name()
	}
	for _, s := range spans.Ended() {
		p := parents[s.Parent().SpanID().String()]
		switch {
		case strings.HasPrefix(s.Name(), "session.store."):
			// A read happens in the session's load, a write in its
			// commit; a deletion in either, or in the handler's own
			// call (Destroy deletes at once).
			storeSpans++
			want := map[string]string{"session.store.load": "session.load", "session.store.create": "session.commit",
				"session.store.update": "session.commit", "session.store.touch": "session.commit", "session.store.renew": "session.commit"}[s.Name()]
			if want != "" && p != want || want == "" && p != "session.load" && p != "session.commit" && !strings.HasPrefix(p, "GET ") {
				t.Fatalf("store span %s is a child of %q", s.Name(), p)
			}
		case s.Name() == "session.load" || s.Name() == "session.commit":
			phases[s.Name()]++
			if !strings.HasPrefix(p, "GET ") {
				t.Fatalf("%s is not a child of the request's span (parent %q)", s.Name(), p)
			}
		}
		check("a span name", s.Name())
		check("a span status", s.Status().Description)
		checkAttrs("span "+s.Name(), s.Attributes())
		for _, ev := range s.Events() {
			seen[ev.Name] = true
			check("a span event name", ev.Name)
			checkAttrs("span event "+ev.Name, ev.Attributes)
			for _, a := range ev.Attributes {
				if a.Key == "session.ref" || a.Key == "session.new_ref" {
					seen["ref"] = true
				}
			}
		}
	}
	if storeSpans < 6 { // create, load, renew, load, renew, load, ..., delete
		t.Fatalf("%d store spans, want at least 6", storeSpans)
	}
	// Loads: every request but the cookieless ones (the first and the
	// two last logins) and the malformed token's (nothing to look up).
	// Commits: the visit's create, the login's and the renewal's
	// renewals, the two last logins' creates (the logout deleted in the
	// handler; the reads had no refresh due; the dead tokens no session).
	if phases["session.load"] != 6 || phases["session.commit"] != 5 {
		t.Fatalf("phase spans %v, want 6 loads and 5 commits", phases)
	}
	// The paths whose tokens were checked above were recorded.
	for _, name := range []string{"session.created", "session.renewed", "session.invalid_token", "session.destroyed", "ref"} {
		if !seen[name] {
			t.Fatalf("no %s among the span events (%v)", name, seen)
		}
	}

	// Store calls outside requests (force logout, counting, cleanup) are
	// timed and traced too, as children of their caller's span.
	ctx, admin := tp.Tracer("test").Start(context.Background(), "admin")
	do("/login", "")
	if _, err := m.RevokeUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CountActive(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.DeleteExpired(ctx, 0, nil); err != nil {
		t.Fatal(err)
	}
	admin.End()
	adminCalls := map[string]bool{}
	for _, s := range spans.Ended() {
		if s.Parent().SpanID() == admin.SpanContext().SpanID() {
			adminCalls[s.Name()] = true
		}
	}
	for _, name := range []string{"session.store.delete by user", "session.store.count", "session.store.delete expired"} {
		if !adminCalls[name] {
			t.Fatalf("no %s span under the caller's span (%v)", name, adminCalls)
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			found[mt.Name] = true
			var sets []attribute.Set
			switch data := mt.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range data.DataPoints {
					sets = append(sets, dp.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, dp := range data.DataPoints {
					sets = append(sets, dp.Attributes)
				}
			default:
				t.Fatalf("metric %s of an unexpected type %T: add it to this test", mt.Name, mt.Data)
			}
			invalid := false
			for _, set := range sets {
				checkAttrs("metric "+mt.Name, set.ToSlice())
				v, _ := set.Value("session.event")
				if v.AsString() == "invalid_token" {
					invalid = true
				} else if r, ok := set.Value("session.reason"); ok {
					t.Fatalf("metric %s: a %s event with reason %q: free-text reasons make a series each", mt.Name, v.AsString(), r.AsString())
				}
			}
			if mt.Name == "session.events" && !invalid {
				t.Fatal("no invalid_token in session.events")
			}
		}
	}
	if !found["session.store.duration"] || !found["session.events"] {
		t.Fatalf("metrics %v", found)
	}
}
