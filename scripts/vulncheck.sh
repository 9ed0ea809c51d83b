#!/usr/bin/env bash
# govulncheck over every module of the workspace, offline.
#
# vuln.go.dev cannot be reached from the machines this project is built on,
# so the vulnerability database is built locally from the Go team's own
# source of it: the OSV files of the golang.org/x/vulndb module (fetched from
# the module proxy at a pinned version) indexed with that module's
# cmd/indexdb into the v1 layout govulncheck reads with -db file://. The
# result is cached per version; bump VULNDB_VERSION to pick up new reports.
#
# The scan fails on any vulnerability reachable from our code, in a
# third-party module or in the standard library of the toolchain it runs
# with: VULNCHECK_GO (default go1.27.3, the newest Go the module proxy serves
# here, and the one production builds should use or exceed). The local
# toolchain, if older, is checked too and its standard-library advisories are
# printed as a warning: they are fixed by upgrading Go, not by this code.
set -euo pipefail
cd "$(dirname "$0")/.."

VULNDB_VERSION=${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}
VULNCHECK_VERSION=${VULNCHECK_VERSION:-v1.9.0}
VULNCHECK_GO=${VULNCHECK_GO:-go1.27.3}

cache=${XDG_CACHE_HOME:-$HOME/.cache}/sessionkit/vulndb-$VULNDB_VERSION
if [ ! -f "$cache/index/db.json" ]; then
	echo "==> building the vulnerability database from golang.org/x/vulndb@$VULNDB_VERSION"
	src=$(GOFLAGS= go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [ -z "$src" ] || [ ! -d "$src/data/osv" ]; then
		echo "vulncheck: golang.org/x/vulndb@$VULNDB_VERSION has no data/osv" >&2
		exit 1
	fi
	mkdir -p "${cache%/*}"
	tmp=$(mktemp -d "${cache%/*}/tmp.XXXXXX")
	GOFLAGS= GOWORK=off go run "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION" -vulns "$src/data/osv" -out "$tmp/db"
	rm -rf "$cache"
	mv "$tmp/db" "$cache"
	rm -rf "$tmp"
fi
db="file://$cache"

# Build govulncheck once with the scanning toolchain, so its type checker
# understands that toolchain's standard library.
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
GOFLAGS= GOTOOLCHAIN=$VULNCHECK_GO GOBIN=$bin go install "golang.org/x/vuln/cmd/govulncheck@$VULNCHECK_VERSION"

# Every module's packages in one run: the workspace gives each module the
# same dependency versions whether it is scanned alone or with the others
# (go.work's build list), and one run type-checks the shared dependencies
# once (9 s here, where one run per module took minutes).
status=0
patterns=()
for dir in $(go list -m -f '{{.Dir}}'); do
	rel=${dir#"$PWD"}
	patterns+=(".${rel}/...")
done
echo "==> govulncheck ${patterns[*]} ($VULNCHECK_GO)"
if ! GOTOOLCHAIN=$VULNCHECK_GO "$bin/govulncheck" -db "$db" "${patterns[@]}"; then
	status=1
fi

local_go=$(GOTOOLCHAIN=local go env GOVERSION)
if [ "$local_go" != "$VULNCHECK_GO" ]; then
	echo "==> standard library of the local toolchain ($local_go)"
	if ! out=$(GOTOOLCHAIN=local "$bin/govulncheck" -db "$db" -scan package ./... 2>&1); then
		ids=$(printf '%s\n' "$out" | sed -n 's/^Vulnerability #[0-9]*: \(GO-[0-9-]*\).*/\1/p' | tr '\n' ' ')
		echo "WARNING: $local_go has known standard-library vulnerabilities ($ids) that $VULNCHECK_GO fixes; build production binaries with a patched Go." >&2
	fi
fi
exit $status
