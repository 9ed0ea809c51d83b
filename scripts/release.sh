#!/usr/bin/env bash
# Prepares a release of every module of this repository at VERSION:
#
#   scripts/release.sh v0.2.0
#
# 1. Every module's go.mod requires its sibling modules at VERSION and has no
#    replace directive (Go ignores replace in dependencies and go install
#    pkg@version refuses it; the committed go.work keeps local development
#    on the working tree).
# 2. Every go.sum records the checksums of its siblings as they will be
#    tagged (go mod tidy without the workspace, against a file-based module
#    proxy built from this tree, in dependency order).
# 3. scripts/release-check.sh VERSION runs: the modules are fetched and
#    installed from that proxy by a fresh consumer, as users will.
# 4. The tags to create on the release commit are printed (Go's multi-module
#    convention: vX for the root module, DIR/vX for the module in DIR).
#
# Commit the result, tag that commit with the printed tags, push commit and
# tags. Nothing is committed, tagged or pushed by this script.
set -euo pipefail
cd "$(dirname "$0")/.."

version=${1:-}
if [ -z "$version" ]; then
	echo "usage: scripts/release.sh VERSION   (e.g. v0.2.0)" >&2
	exit 2
fi
# Modules that are not published (tests, benchmarks, tools, and the
# examples below); they follow the same rules but get no tag.
unpublished=" bench integration tools/release "

release() { go -C tools/release run . "$@" -root "$PWD"; }

release set-version -version "$version"
proxy=$(mktemp -d)
trap 'rm -rf "$proxy"' EXIT
echo "==> tidying every module against the release (siblings from a local proxy)"
release proxy -version "$version" -out "$proxy" -tidy
release check -version "$version"
scripts/release-check.sh "$version"

echo "==> tags to create on the release commit:"
release list | while read -r dir _; do
	case "$unpublished" in *" $dir "*) continue ;; esac
	case "$dir" in examples/*) continue ;; esac # programs to read, not to import
	if [ "$dir" = . ]; then
		echo "$version"
	else
		echo "$dir/$version"
	fi
done
