#!/usr/bin/env bash
# Benchmarks the server-backed stores against the raw query they wrap on the
# same server: a primary-key SELECT for the SQL stores, a GETEX of the same
# size for Redis. Each store's test binary is built once and run RUNS times (default
# 8), so drift on a shared machine affects the raw query and the middleware
# alike; benchstat summarises. The ReadOnlyVs* benchmarks go further: they
# interleave the read-only request with the raw query in one loop and report
# the ratio of the two medians ("ratio"), the figure the targets are read
# from. Needs the local PostgreSQL, MariaDB and Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-8}
out=$(mktemp -d)
stores=${STORES:-"sqlitestore pgstore mysqlstore redisstore"}
for s in $stores; do
	(cd "stores/$s" && go test -c -o "$out/$s.test" .)
done
for i in $(seq "$runs"); do
	for s in $stores; do
		(cd "stores/$s" && "$out/$s.test" -test.run '^$' -test.bench '^Benchmark(RawSelect|RawSelectPrepared|RawGetEx|ReadOnlyRequest|WriteRequest|ReadOnlyVsSelect|ReadOnlyVsGetEx)$' \
			-test.benchtime 1s -test.benchmem) | grep '^Benchmark' | grep -v ForceLogout >>"$out/$s.txt"
	done
done
# benchstat, pinned, installed beside test.sh's staticcheck (GOBIN set
# here, so a GOBIN of the caller's does not hide it).
tools=${XDG_CACHE_HOME:-$HOME/.cache}/sessionkit/bin
benchstat=$tools/benchstat
[ -x "$benchstat" ] || GOFLAGS= GOBIN="$tools" go install golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
for s in $stores; do
	echo "== $s"
	"$benchstat" "$out/$s.txt"
done
