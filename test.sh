#!/usr/bin/env bash
# Runs every module's tests in the workspace with the race detector, then
# each fuzz target for a few seconds. This is the README's test command and
# what CI runs. On a fresh machine it first starts the services that are not
# running and installs Chromium, memcached and the Python frameworks
# (scripts/test-deps.sh).
set -euo pipefail
cd "$(dirname "$0")"

# Where the time goes: each phase's duration, summed up at the end.
timings=""
phase_start=$SECONDS
phase() { # name of the phase that just ended
	timings+=$(printf '  %-34s %4ds' "$1" $((SECONDS - phase_start)))$'\n'
	phase_start=$SECONDS
}

# The services start first (seconds). What a fresh machine lacks
# (Chromium, memcached, the Python frameworks) installs in the background
# while the static checks below compile: apt waits on downloads and dpkg,
# the checks on the CPU. The tests wait for it; a script that stops early
# waits for it too, never leaving apt half done.
scripts/test-deps.sh services
deps_log=$(mktemp)
scripts/test-deps.sh packages >"$deps_log" 2>&1 &
deps_pid=$!
checks_pid=
finish() {
	if [ -n "$checks_pid" ]; then
		if kill -0 "$checks_pid" 2>/dev/null; then
			# Still running: stopped, its process group with it.
			kill -- -"$checks_pid" 2>/dev/null || kill "$checks_pid" 2>/dev/null || true
			wait "$checks_pid" 2>/dev/null || true
		elif ! wait "$checks_pid"; then
			# It failed before the tests did: its output is news too.
			cat "$checks_log" >&2
		fi
		rm -f "$checks_log"
	fi
	if [ -n "$deps_pid" ]; then
		echo "test.sh: waiting for the package installation to end" >&2
		wait "$deps_pid" || cat "$deps_log" >&2
	fi
	rm -f "$deps_log"
	printf "test.sh phases (seconds):\n%s  %-34s %4ds\n" "$timings" total "$SECONDS" >&2
}
trap finish EXIT
phase "services"

# vet and staticcheck type-check against the race detector's build of
# every package, the one go test -race needs anyway: on a cold machine each
# dependency is compiled once for the three of them instead of twice (about
# 50 s less on this project's 2-core machines). -trimpath keeps the module
# cache's directory out of the build cache's keys, so that the release
# check below, which builds in a module cache of its own with the same
# flags, reuses these compiled dependencies too (the published modules
# require the versions the workspace tests).
go vet -race -trimpath work
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt needed:" >&2
	echo "$unformatted" >&2
	exit 1
fi

# staticcheck, pinned (fetched from the module proxy on first use), built
# without our flags and run with -race -trimpath (it compiles what it
# loads: with go vet's flags it finds that build in the cache).
tools=${XDG_CACHE_HOME:-$HOME/.cache}/sessionkit/bin
GOFLAGS= GOBIN="$tools" go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOFLAGS="-race -trimpath" "$tools/staticcheck" work
phase "vet, gofmt, staticcheck"

# govulncheck, the tidy check and the release check (see the script) run
# beside the tests, in a process group of their own (stopped with it if the
# tests fail): the tests wait on databases, browsers and timers for much of
# their time, so on a cold machine these checks add to the total only a
# part of their own duration. Their output follows the tests'.
checks_log=$(mktemp)
setsid -w scripts/supply-checks.sh "$$" >"$checks_log" 2>&1 &
checks_pid=$!

# The root module (the core) imports only the standard library.
nonstd=$(go list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' . ./memstore ./sessiontest | grep -v '^github.com/sessionkit/session' || true)
if [ -n "$nonstd" ]; then
	echo "the core module imports non-standard packages:" >&2
	echo "$nonstd" >&2
	exit 1
fi

# Every package has a package doc (its pkg.go.dev overview).
undocumented=$(go list -f '{{if and .GoFiles (not .Doc)}}{{.ImportPath}}{{end}}' work)
if [ -n "$undocumented" ]; then
	echo "packages without a package doc comment:" >&2
	echo "$undocumented" >&2
	exit 1
fi

# No build output in the tree: an earlier commit carried two binaries.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	binaries=$(git ls-files -z | xargs -0 -r grep -l --binary-files=binary -m1 $'^\x7fELF' 2>/dev/null || true)
	if [ -n "$binaries" ]; then
		echo "executables are committed: $binaries" >&2
		exit 1
	fi
fi

# SECURITY.md names only tests that exist.
scripts/check-security-doc.sh

if ! wait "$deps_pid"; then
	deps_pid=
	cat "$deps_log" >&2
	echo "test.sh: installing the test dependencies failed (scripts/test-deps.sh packages)" >&2
	exit 1
fi
deps_pid=
cat "$deps_log"
phase "waiting for Chromium, memcached, Python"

go test -race -trimpath -count=1 work
phase "go test -race work"

checks_ok=true
wait "$checks_pid" || checks_ok=false
checks_pid=
cat "$checks_log"
rm -f "$checks_log"
if ! $checks_ok; then
	echo "test.sh: govulncheck, the tidy check or the release check failed (output above)" >&2
	exit 1
fi
phase "waiting for govulncheck and release checks"

# Short fuzzing of every parser of client input (longer runs: see README).
# The budget is a count, not a duration: Go 1.26's fuzz coordinator can fail
# a duration-bounded run with a spurious "context deadline exceeded" at the
# deadline (golang/go#75804, fixed in Go 1.27).
# A fuzzing build instruments every package it links, the standard library
# included, so the fuzzed packages' tests link no database driver (the
# Django tests' drivers are left out with -tags nodrivers, see
# interop/django/drivers_test.go): on a fresh machine that build is most of
# this phase.
fuzztime=${FUZZTIME:-20000x}
# Minimizing a new interesting input takes up to a minute by default
# (-fuzzminimizetime 60s); a short run keeps no corpus, so it is capped
# (a failing input is still written to testdata). On a warm machine the
# cap took this phase from 155 to 119 s: FuzzRedact alone spent 57 s
# minimizing.
fuzzminimize=${FUZZMINIMIZE:-100x}
fuzz() { # target package [go test flags]
	go test -run '^$' -fuzz "^$1\$" -fuzztime "$fuzztime" -fuzzminimizetime "$fuzzminimize" "${@:3}" "$2"
}
fuzz FuzzParseToken .
fuzz FuzzCookieHeader .
fuzz FuzzNamedCookies .
fuzz FuzzDecodeValues .
fuzz FuzzValidJSON .
fuzz FuzzJSONCodec .
fuzz FuzzBearerHeader .
fuzz FuzzOpen ./cookiestore
fuzz FuzzDecodePayload ./cookiestore
fuzz FuzzDecode ./stores/redisstore
fuzz FuzzRecordCodecs ./stores/memcachedstore
fuzz FuzzIndexCodecs ./stores/memcachedstore
fuzz FuzzRedact ./internal/urlredact
fuzz FuzzDecodeObject ./internal/pyjson
fuzz FuzzPrintable ./internal/termtext
fuzz FuzzUnsign ./interop/django -tags nodrivers
fuzz FuzzDecodePre31 ./interop/django -tags nodrivers
fuzz FuzzDecodeSession ./interop/django -tags nodrivers
fuzz FuzzDecodeMsgpack ./interop/django -tags nodrivers
fuzz FuzzDecodeCacheValue ./interop/django -tags nodrivers
fuzz FuzzCheckPassword ./interop/django -tags nodrivers
fuzz FuzzParseExpiry ./interop/django -tags nodrivers
fuzz FuzzOpen ./interop/flask
fuzz FuzzOpen ./interop/starlette
fuzz FuzzSessionID ./interop/flasksession
phase "fuzzing"
