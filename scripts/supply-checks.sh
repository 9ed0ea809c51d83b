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
# test.sh runs it in the background beside the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$SECONDS
scripts/vulncheck.sh
echo "==> govulncheck took $((SECONDS - start)) s"
start=$SECONDS
version=$(go -C tools/release run . version -root "$PWD")
go -C tools/release run . tidy-check -root "$PWD" -version "$version"
scripts/release-check.sh "$version"
echo "==> tidy and release checks took $((SECONDS - start)) s"
