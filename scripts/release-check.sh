#!/usr/bin/env bash
# Checks that the modules of this working tree can be used as published at
# VERSION (default: the version the modules require their siblings at), as
# a user outside this repository would use them:
#
# - no module's go.mod has a replace directive or requires a sibling at
#   another version (the self-check: it fails, naming the module, when a
#   replace is put back);
# - a file-based module proxy is built from the working tree as if VERSION
#   were tagged (module zips made with golang.org/x/mod/zip);
# - with an empty module cache, GOWORK=off and GOPROXY=file://that proxy
#   (third-party modules from the local module cache's download directory,
#   then the module proxy), a fresh consumer module go-gets every published
#   module, builds and runs a program that uses the core, memstore and the
#   SQLite, PostgreSQL and Redis stores, and go install
#   .../cmd/sessionctl@VERSION gives a sessionctl that reads the SQLite
#   store the program wrote.
#
# test.sh runs it (through supply-checks.sh, beside the tests). PostgreSQL and Redis are the test servers (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

release() { go -C "$repo/tools/release" run . "$@" -root "$repo"; }
version=${1:-$(release version)}

echo "==> release check $version: go.mod files"
release check -version "$version"

work=$(mktemp -d)
cleanup() {
	# The module cache is read-only, as Go makes it.
	chmod -R u+w "$work" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
release proxy -version "$version" -out "$work/proxy"

# Read before the module cache is replaced below: the fallback for
# third-party modules is the local module cache's download directory, and
# the upstream proxy is the one go env reports (GOPROXY or go env -w).
localmods=$(go env GOMODCACHE)
upstream=$(go env GOPROXY)
# -trimpath keeps the module cache's path (new on every run) out of the
# build cache's keys, so a later run reuses what an earlier one compiled
# (about 20 s instead of 80 on a warm machine), and -race makes the
# consumer's build the one test.sh's go vet -race -trimpath has already
# made of the same dependency versions: on a fresh machine the drivers
# (SQLite's the largest) are compiled once, not twice.
export GOWORK=off GOFLAGS="-mod=mod -trimpath -race" GOMODCACHE="$work/modcache" GOBIN="$work/bin"
export GOPROXY="file://$work/proxy,file://$localmods/cache/download,$upstream"
# Our modules are not in the public checksum database (not yet published);
# everything else is verified as usual.
export GONOSUMDB=github.com/sessionkit/session

mkdir -p "$work/consumer"
cd "$work/consumer"
go mod init example.com/consumer >/dev/null 2>&1
published=$(release list | awk '$1 != "bench" && $1 != "integration" && $1 != "tools/release" && $1 !~ /^examples\// {print $2}')
for m in $published; do
	echo "==> go get $m@$version"
	go get "$m@$version"
done
cat >main.go <<'GO'
// A program a user would write: the core with the embedded and the
// central stores, each serving a login and a read.
package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/stores/pgstore"
	"github.com/sessionkit/session/stores/redisstore"
	"github.com/sessionkit/session/stores/sqlitestore"
)

func main() {
	ctx := context.Background()
	mem := memstore.New()
	defer mem.Stop()
	sqlite, err := sqlitestore.Open(ctx, os.Args[1])
	check(err)
	defer sqlite.Close()
	pg, err := pgstore.Open(ctx, env("SESSION_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), pgstore.WithTable("release_check"))
	check(err)
	defer pg.Close()
	client := redis.NewClient(&redis.Options{Addr: env("SESSION_TEST_REDIS_ADDR", "127.0.0.1:6379")})
	defer client.Close()
	rs, err := redisstore.New(ctx, client, redisstore.WithPrefix("release-check:"))
	check(err)
	for name, store := range map[string]session.Store{"memstore": mem, "sqlite": sqlite, "postgres": pg, "redis": rs} {
		m, err := session.New(store)
		check(err)
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/login":
				check(m.Login(r.Context(), "alice"))
				return
			case "/logout":
				check(m.Destroy(r.Context()))
				return
			}
			user, err := session.FromContext(r.Context()).UserID()
			check(err)
			fmt.Fprint(w, user)
		}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "https://example.com/login", nil))
		cookies := w.Result().Cookies()
		request := func(method, path string) string {
			r := httptest.NewRequest(method, "https://example.com"+path, nil)
			for _, c := range cookies {
				r.AddCookie(c)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w.Body.String()
		}
		if user := request("GET", "/"); user != "alice" {
			fmt.Fprintf(os.Stderr, "%s: logged in as %q\n", name, user)
			os.Exit(1)
		}
		if name != "sqlite" { // sessionctl counts the SQLite one
			request("POST", "/logout")
		}
		fmt.Println(name, "ok")
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
GO
echo "==> building and running a consumer program"
go mod tidy
go build -o consumer .
./consumer "$work/sessions.db"

echo "==> go install github.com/sessionkit/session/cmd/sessionctl@$version"
go install "github.com/sessionkit/session/cmd/sessionctl@$version"
count=$("$GOBIN/sessionctl" --store "sqlite:$work/sessions.db" count)
if [ "$count" != 1 ]; then
	echo "release-check: the installed sessionctl counted $count sessions, want 1" >&2
	exit 1
fi
echo "release check $version: ok"
