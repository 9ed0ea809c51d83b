#!/usr/bin/env bash
# The checks of what this repository publishes and depends on, each with a
# toolchain or module cache of its own: govulncheck over every module,
# offline (see vulncheck.sh); every module's go.mod and go.sum tidy on their
# own (without go.work), as a user building one module sees them, its
# sibling modules at the release version coming from the working tree (see
# tools/release); and the modules installing as published: no replace, a
# fresh consumer with an empty module cache go-gets them, builds a program
# on four stores and installs sessionctl (see release-check.sh).
#
# test.sh runs it in the background beside the tests, in a session of its
# own, passing its own pid: the checks stop when that process is gone,
# however it ended (test.sh stops them itself on every exit it sees; this
# covers a SIGKILL, which would otherwise leave them running against the
# test servers).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${1:-}" ]; then
	parent=$1
	(
		while kill -0 "$parent" 2>/dev/null; do sleep 1; done
		kill -- -$$ 2>/dev/null
	) &
	watchdog=$!
	trap 'kill "$watchdog" 2>/dev/null || true' EXIT
fi

start=$SECONDS
scripts/vulncheck.sh
echo "==> govulncheck took $((SECONDS - start)) s"
start=$SECONDS
version=$(go -C tools/release run . version -root "$PWD")
go -C tools/release run . tidy-check -root "$PWD" -version "$version"
scripts/release-check.sh "$version"
echo "==> tidy and release checks took $((SECONDS - start)) s"
