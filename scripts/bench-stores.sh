#!/usr/bin/env bash
# Benchmarks the SQL stores against a raw primary-key SELECT on the same
# server. Each store's test binary is built once and run RUNS times (default
# 8), so drift on a shared machine affects the raw query and the middleware
# alike; benchstat summarises. Needs the local PostgreSQL and MariaDB.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-8}
out=$(mktemp -d)
stores="sqlitestore pgstore mysqlstore"
for s in $stores; do
	(cd "stores/$s" && go test -c -o "$out/$s.test" .)
done
for i in $(seq "$runs"); do
	for s in $stores; do
		(cd "stores/$s" && "$out/$s.test" -test.run '^$' -test.bench 'RawSelect|ReadOnlyRequest|WriteRequest' \
			-test.benchtime 1s -test.benchmem) | grep '^Benchmark' >>"$out/$s.txt"
	done
done
benchstat=$(command -v benchstat || echo "$(go env GOPATH)/bin/benchstat")
[ -x "$benchstat" ] || go install golang.org/x/perf/cmd/benchstat@latest
for s in $stores; do
	echo "== $s"
	"$benchstat" "$out/$s.txt"
done
