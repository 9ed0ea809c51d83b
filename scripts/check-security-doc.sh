#!/usr/bin/env bash
# Checks that every test, fuzz target and conformance-suite case SECURITY.md
# names exists, so the table cannot silently point at renamed or deleted
# tests. Called by test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=0
for name in $(grep -o '`\(Test\|Fuzz\)[A-Za-z0-9_]*`' SECURITY.md | tr -d '`' | sort -u); do
	if ! grep -rqs --include='*_test.go' "^func $name(" .; then
		echo "SECURITY.md names $name, which no test file defines" >&2
		missing=1
	fi
done
for name in $(grep -o 'suite `[A-Za-z0-9]*`\(, `[A-Z][A-Za-z0-9]*`\)*' SECURITY.md | grep -o '`[A-Za-z0-9]*`' | tr -d '`' | sort -u); do
	if ! grep -qs "{\"$name\"," sessiontest/*.go; then
		echo "SECURITY.md names suite case $name, which sessiontest does not define" >&2
		missing=1
	fi
done
exit "$missing"
