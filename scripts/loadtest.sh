#!/usr/bin/env bash
# Starts the demo app on a free loopback port with the given store and 200
# users u0..u199 (password "pw", bcrypt cost 4 to start quickly), runs the
# load test against it, and stops the app.
#   scripts/loadtest.sh STORE_URL [USERS] [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
store=${1:?usage: scripts/loadtest.sh STORE_URL [USERS] [DURATION]}
users=${2:-200}
duration=${3:-60s}
tmp=$(mktemp -d)
trap 'kill "$app" 2>/dev/null || true; wait "$app" 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/webapp" ./examples/webapp
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
