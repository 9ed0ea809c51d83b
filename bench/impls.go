package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	scsredis "github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	scsmem "github.com/alexedwards/scs/v2/memstore"
	redigo "github.com/gomodule/redigo/redis"
	gsessions "github.com/gorilla/sessions"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/lib/pq"
	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/cookiestore"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/stores/pgstore"
	"github.com/sessionkit/session/stores/redisstore"
	"github.com/sessionkit/session/stores/sqlstore/sqlcount"
)

// The session every scenario uses: a user id, a 50-character CSRF token and
// a display name; idle timeout 30 minutes.
const (
	csrf        = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
	idleTimeout = 30 * time.Minute
)

// impl is one library on one backend, behind the same four handlers:
//
//	/read   read the display name
//	/write  write the display name
//	/login  renew the token and write the three values
//	/k?k=   write key k (lost-update experiments); /ro reads only
type impl struct {
	lib, backend string
	cookie       string
	handler      http.Handler
	trips        func() int64 // round trips to the store so far; nil for cookies
	close        func()
	floors       floors                 // the raw store operations per scenario (set on ours)
	barrier      atomic.Pointer[func()] // runs after the session is loaded, before writing
}

func (im *impl) wait() {
	if f := im.barrier.Load(); f != nil {
		(*f)()
	}
}

// ours builds our manager on a store.
func ours(backend string, st session.Store, trips func() int64, closeFn func()) (*impl, error) {
	m, err := session.New(st, session.WithIdleTimeout(idleTimeout), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, err
	}
	return oursOn(backend, m, trips, closeFn), nil
}

func oursOn(backend string, m *session.Manager, trips func() int64, closeFn func()) *impl {
	im := &impl{lib: "ours", backend: backend, cookie: session.DefaultCookieName, trips: trips, close: closeFn}
	mux := http.NewServeMux()
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		name, _, _ := session.Get[string](session.FromContext(r.Context()), "name")
		io.WriteString(w, name)
	})
	mux.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		session.FromContext(r.Context()).Set("name", "Grace Hopper")
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		m.Login(r.Context(), "42")
		s.Set("user_id", 42)
		s.Set("csrf", csrf)
		s.Set("name", "Ada Lovelace")
	})
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) {
		session.FromContext(r.Context()).Set("cart", 3)
	})
	mux.HandleFunc("/k", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		session.Get[string](s, "name") // load
		im.wait()
		s.Set(r.FormValue("k"), "v")
	})
	mux.HandleFunc("/ro", func(w http.ResponseWriter, r *http.Request) {
		name, _, _ := session.Get[string](session.FromContext(r.Context()), "name")
		im.wait()
		io.WriteString(w, name)
	})
	mux.HandleFunc("/has", func(w http.ResponseWriter, r *http.Request) {
		ok, _ := session.FromContext(r.Context()).Has(r.FormValue("k"))
		fmt.Fprint(w, ok)
	})
	im.handler = m.Handler(mux)
	return im
}

// scsOn builds alexedwards/scs on a store, with the same handlers.
func scsOn(backend string, store scs.Store, trips func() int64, closeFn func()) *impl {
	sm := scs.New()
	sm.Store = store
	sm.IdleTimeout = idleTimeout
	sm.Lifetime = 12 * time.Hour
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) { http.Error(w, err.Error(), 500) }
	im := &impl{lib: "scs", backend: backend, cookie: sm.Cookie.Name, trips: trips, close: closeFn}
	mux := http.NewServeMux()
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, sm.GetString(r.Context(), "name"))
	})
	mux.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "name", "Grace Hopper")
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		sm.RenewToken(r.Context())
		sm.Put(r.Context(), "user_id", 42)
		sm.Put(r.Context(), "csrf", csrf)
		sm.Put(r.Context(), "name", "Ada Lovelace")
	})
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) { sm.Put(r.Context(), "cart", 3) })
	mux.HandleFunc("/k", func(w http.ResponseWriter, r *http.Request) {
		sm.GetString(r.Context(), "name") // loaded by LoadAndSave already
		im.wait()
		sm.Put(r.Context(), r.FormValue("k"), "v")
	})
	mux.HandleFunc("/ro", func(w http.ResponseWriter, r *http.Request) {
		name := sm.GetString(r.Context(), "name")
		im.wait()
		io.WriteString(w, name)
	})
	mux.HandleFunc("/has", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, sm.Exists(r.Context(), r.FormValue("k")))
	})
	im.handler = sm.LoadAndSave(mux)
	return im
}

// gorillaCookie builds gorilla/sessions' CookieStore (HMAC + AES-CTR) with
// the same handlers; it has no token renewal, so /login only writes.
func gorillaCookie() *impl {
	store := gsessions.NewCookieStore([]byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210"))
	store.Options.MaxAge = int(idleTimeout.Seconds())
	store.Options.HttpOnly = true
	store.Options.Secure = true
	im := &impl{lib: "gorilla", backend: "cookie", cookie: "session"}
	get := func(r *http.Request) *gsessions.Session {
		s, _ := store.Get(r, "session")
		return s
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		name, _ := get(r).Values["name"].(string)
		io.WriteString(w, name)
	})
	mux.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		s := get(r)
		s.Values["name"] = "Grace Hopper"
		s.Save(r, w)
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := get(r)
		s.Values["user_id"] = 42
		s.Values["csrf"] = csrf
		s.Values["name"] = "Ada Lovelace"
		s.Save(r, w)
	})
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) {
		s := get(r)
		s.Values["cart"] = 3
		s.Save(r, w)
	})
	mux.HandleFunc("/k", func(w http.ResponseWriter, r *http.Request) {
		s := get(r)
		im.wait()
		s.Values[r.FormValue("k")] = "v"
		s.Save(r, w)
	})
	mux.HandleFunc("/ro", func(w http.ResponseWriter, r *http.Request) {
		name, _ := get(r).Values["name"].(string)
		im.wait()
		io.WriteString(w, name)
	})
	mux.HandleFunc("/has", func(w http.ResponseWriter, r *http.Request) {
		_, ok := get(r).Values[r.FormValue("k")]
		fmt.Fprint(w, ok)
	})
	im.handler = mux
	return im
}

func oursCookie() (*impl, error) {
	cs, err := cookiestore.New([][]byte{[]byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		return nil, err
	}
	m, err := session.NewClientSide(cs, session.WithIdleTimeout(idleTimeout), session.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, err
	}
	return oursOn("cookie", m, nil, func() {}), nil
}

func memoryImpls() ([]*impl, error) {
	st := memstore.New()
	o, err := ours("memory", st, nil, st.Stop)
	if err != nil {
		return nil, err
	}
	o.floors = bareFloors()
	return []*impl{o, scsOn("memory", scsmem.New(), nil, func() {})}, nil
}

// redisImpls connects both libraries to the Redis at addr, counting round
// trips on the client side (one per command or pipeline).
func redisImpls(ctx context.Context, addr string) ([]*impl, error) {
	var ourTrips atomic.Int64
	client := redis.NewClient(&redis.Options{Addr: addr})
	client.AddHook(tripHook{&ourTrips})
	st, err := redisstore.New(ctx, client, redisstore.WithPrefix("bench:ours:"))
	if err != nil {
		return nil, fmt.Errorf("redis at %s: %w", addr, err)
	}
	drop := func(pattern string) {
		keys, _ := client.Keys(ctx, pattern).Result()
		for _, k := range keys {
			client.Del(ctx, k)
		}
	}
	o, err := ours("redis", st, ourTrips.Load, func() { drop("bench:ours:*"); drop("bench:scs:*"); drop("bench:floor:*"); client.Close() })
	if err != nil {
		return nil, err
	}
	o.floors = redisFloors(ctx, client)
	var scsTrips atomic.Int64
	pool := &redigo.Pool{MaxIdle: 16, Dial: func() (redigo.Conn, error) {
		c, err := redigo.Dial("tcp", addr)
		return countingConn{c, &scsTrips}, err
	}}
	s := scsOn("redis", scsredis.NewWithPrefix(pool, "bench:scs:"), scsTrips.Load, func() { pool.Close() })
	return []*impl{o, s}, nil
}

type tripHook struct{ n *atomic.Int64 }

func (tripHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h tripHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h tripHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

// countingConn counts redigo round trips: Do flushes and waits (Send only
// buffers).
type countingConn struct {
	redigo.Conn
	n *atomic.Int64
}

func (c countingConn) Do(cmd string, args ...any) (any, error) {
	if cmd != "" { // Do("") only flushes what Send buffered, if anything
		c.n.Add(1)
	}
	return c.Conn.Do(cmd, args...)
}

type pgTracer struct{ n *atomic.Int64 }

func (t pgTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	t.n.Add(1)
	return ctx
}
func (pgTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// postgresImpls uses fresh tables in the database at url for both
// libraries, counting statements (pgx tracer for ours, a database/sql
// driver wrapper around lib/pq for scs).
func postgresImpls(ctx context.Context, url string) ([]*impl, error) {
	var ourTrips atomic.Int64
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.Tracer = pgTracer{&ourTrips}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	pool.Exec(ctx, `DROP TABLE IF EXISTS bench_ours`)
	st, err := pgstore.New(ctx, pool, pgstore.WithTable("bench_ours"))
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	o, err := ours("postgres", st, ourTrips.Load, func() {
		st.Close()
		pool.Exec(ctx, `DROP TABLE IF EXISTS bench_ours`)
		pool.Exec(ctx, `DROP TABLE IF EXISTS bench_floor`)
		pool.Close()
	})
	if err != nil {
		return nil, err
	}
	if o.floors, err = postgresFloors(ctx, pool); err != nil {
		return nil, err
	}
	db, counter := sqlcount.Open(&pq.Driver{}, url)
	for _, q := range []string{`DROP TABLE IF EXISTS bench_scs`,
		`CREATE TABLE bench_scs (token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL)`,
		`CREATE INDEX bench_scs_expiry_idx ON bench_scs (expiry)`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("postgres (scs table): %w", err)
		}
	}
	store := postgresstore.NewWithConfig(db, postgresstore.Config{TableName: "bench_scs", CleanUpInterval: 0})
	s := scsOn("postgres", store, counter.Statements, func() { db.Exec(`DROP TABLE IF EXISTS bench_scs`); db.Close() })
	return []*impl{o, s}, nil
}
