#!/usr/bin/env bash
# Starts the demo app on a free loopback port with the given store and 200
# users u0..u199 (password "pw", bcrypt cost 4 to start quickly), runs the
# load test against it, and stops the app. With REV, the app is built from
# that git revision (a before/after comparison on the same machine, with
# the load generator of the working tree).
#   scripts/loadtest.sh STORE_URL [USERS] [DURATION] [REV]
set -euo pipefail
cd "$(dirname "$0")/.."
store=${1:?usage: scripts/loadtest.sh STORE_URL [USERS] [DURATION] [REV]}
users=${2:-200}
duration=${3:-60s}
rev=${4:-}
tmp=$(mktemp -d)
app=
cleanup() {
	if [ -n "$app" ]; then kill "$app" 2>/dev/null || true; wait "$app" 2>/dev/null || true; fi
	if [ -n "$rev" ]; then git worktree remove --force "$tmp/src" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
if [ -n "$rev" ]; then
	git worktree add -q --detach "$tmp/src" "$rev"
	(cd "$tmp/src" && go build -o "$tmp/webapp" ./examples/webapp)
	echo "app built from $(git rev-parse --short "$rev")"
else
	go build -o "$tmp/webapp" ./examples/webapp
fi
go build -o "$tmp/loadtest" ./bench/loadtest
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
list=$(for i in $(seq 0 $((users - 1))); do printf 'u%d:pw,' "$i"; done)
"$tmp/webapp" --addr "127.0.0.1:$port" --store "$store" --users "${list%,}" --bcrypt-cost 4 >"$tmp/app.log" 2>&1 &
app=$!
for _ in $(seq 1 100); do
	curl -fs "http://127.0.0.1:$port/login" >/dev/null 2>&1 && break
	sleep 0.1
done
"$tmp/loadtest" --target "http://127.0.0.1:$port" --users "$users" --duration "$duration"
