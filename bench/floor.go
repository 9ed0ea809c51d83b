package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// A floor is the least any session library could spend on a scenario: the
// store's raw round trips for it, with no middleware, cookie, token or
// encoding (for memory and cookies: the bare handler without middleware).
// Ours/floor says what the library costs on top of the store.
type floor struct {
	what string       // the operations, as printed
	op   func() error // one request's worth
}

// floors maps scenario names to floors, per backend.
type floors map[string]floor

// floorSeq numbers the records the floors create (testing.Benchmark runs
// each function several times, restarting b.N's loop at 0).
var floorSeq atomic.Int64

// floorValue is the session the floors store: the benchmark's three values.
var floorValue = `{"user_id":42,"csrf":"` + csrf + `","name":"Ada Lovelace"}`

// bareFloors: the same mux and handler body with no session at all.
func bareFloors() floors {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("Ada Lovelace")) })
	r, _ := http.NewRequest("GET", "http://bench.test/", nil)
	w := &discardWriter{h: http.Header{}}
	f := floor{what: "bare handler", op: func() error { mux.ServeHTTP(w, r); return nil }}
	return floors{"read-only": f, "write": f, "login (new session)": f, "login from anonymous": f}
}

// redisFloors: GET; GET then SET; SET; GET then SET and DEL (pipelined).
func redisFloors(ctx context.Context, client *redis.Client) floors {
	const key = "bench:floor:k"
	client.Set(ctx, key, floorValue, idleTimeout)
	return floors{
		"read-only": {"GET", func() error { return client.Get(ctx, key).Err() }},
		"write": {"GET + SET", func() error {
			if err := client.Get(ctx, key).Err(); err != nil {
				return err
			}
			return client.Set(ctx, key, floorValue, idleTimeout).Err()
		}},
		"login (new session)": {"SET", func() error {
			return client.Set(ctx, fmt.Sprint("bench:floor:new:", floorSeq.Add(1)), floorValue, idleTimeout).Err()
		}},
		"login from anonymous": {"GET + SET,DEL", func() error {
			if err := client.Get(ctx, key).Err(); err != nil {
				return err
			}
			_, err := client.Pipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, fmt.Sprint("bench:floor:new:", floorSeq.Add(1)), floorValue, idleTimeout)
				p.Del(ctx, "bench:floor:gone")
				return nil
			})
			return err
		}},
	}
}

// postgresFloors: a primary-key SELECT; SELECT then UPDATE; INSERT;
// SELECT then one statement deleting the old row and inserting the new.
func postgresFloors(ctx context.Context, pool *pgxpool.Pool) (floors, error) {
	for _, q := range []string{`DROP TABLE IF EXISTS bench_floor`,
		`CREATE TABLE bench_floor (id TEXT PRIMARY KEY, data JSONB NOT NULL, expires_at TIMESTAMPTZ NOT NULL)`,
		`INSERT INTO bench_floor VALUES ('k', '` + strings.ReplaceAll(floorValue, "'", "''") + `', now() + interval '30 minutes')`} {
		if _, err := pool.Exec(ctx, q); err != nil {
			return nil, fmt.Errorf("postgres floor table: %w", err)
		}
	}
	sel := func() error {
		var data []byte
		return pool.QueryRow(ctx, `SELECT data FROM bench_floor WHERE id = $1 AND expires_at > now()`, "k").Scan(&data)
	}
	return floors{
		"read-only": {"SELECT", func() error { return sel() }},
		"write": {"SELECT + UPDATE", func() error {
			if err := sel(); err != nil {
				return err
			}
			_, err := pool.Exec(ctx, `UPDATE bench_floor SET data = $2, expires_at = now() + interval '30 minutes' WHERE id = $1`, "k", floorValue)
			return err
		}},
		"login (new session)": {"INSERT", func() error {
			_, err := pool.Exec(ctx, `INSERT INTO bench_floor VALUES ($1, $2, now() + interval '30 minutes')`, fmt.Sprint("new", floorSeq.Add(1)), floorValue)
			return err
		}},
		"login from anonymous": {"SELECT + DELETE,INSERT", func() error {
			if err := sel(); err != nil {
				return err
			}
			_, err := pool.Exec(ctx, `WITH gone AS (DELETE FROM bench_floor WHERE id = $1)
				INSERT INTO bench_floor VALUES ($2, $3, now() + interval '30 minutes')`, "gone", fmt.Sprint("anon", floorSeq.Add(1)), floorValue)
			return err
		}},
	}, nil
}

// measureFloor times one floor.
func measureFloor(f floor) (float64, error) {
	var failed error
	br := testing.Benchmark(func(b *testing.B) {
		for range b.N {
			if err := f.op(); err != nil {
				failed = err
				b.FailNow()
			}
		}
	})
	return float64(br.NsPerOp()), failed
}
