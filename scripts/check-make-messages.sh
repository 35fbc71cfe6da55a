#!/usr/bin/env bash
# Checks that make says what it is doing: the first `make demo` announces
# the build (and the module download), later ones do not; `make test` names
# each step before it runs, and runs the long matrices on a sample unless
# FULL=1. Go is replaced by `true`, so this takes a second.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$root/Makefile" "$tmp/"
mkdir -p "$tmp/scripts" "$tmp/examples/ci"
printf '#!/bin/sh\n' > "$tmp/scripts/demo.sh"
cp "$root/scripts/gotest.sh" "$tmp/scripts/"
chmod +x "$tmp/scripts/demo.sh"
cd "$tmp"
git init -q .

fail() { echo "check-make-messages: $*" >&2; exit 1; }
out=$(make demo GO=true 2>&1)
grep -qF 'building mfabulk (first run downloads Go modules, about a minute)…' <<<"$out" || fail "first make demo does not announce the build:"$'\n'"$out"
mkdir -p bin && touch bin/mfabulk && chmod +x bin/mfabulk
out=$(make demo GO=true 2>&1)
! grep -q 'first run downloads' <<<"$out" || fail "a later make demo still announces the first build"
# staticcheck for windows runs from bin/, where `go install` (here true) puts it.
printf '#!/bin/sh\n' > bin/staticcheck && chmod +x bin/staticcheck
out=$(make test GO=true 2>&1)
for step in '== gofmt' '== go vet' '== go vet for windows and darwin' '== staticcheck' '== actionlint' '== go test -race' '== fuzz targets' '== make test: all passed'; do
  grep -qF -- "$step" <<<"$out" || fail "make test does not say \"$step\":"$'\n'"$out"
done
# make test runs the long matrices on a sample (-short); FULL=1, as .ci/run
# sets it, and make test-full run them all.
grep -qF -- 'test -race -short ' <<<"$out" || fail "make test does not run go test -short:"$'\n'"$out"
for full in 'make test FULL=1' 'make test-full'; do
  out=$($full GO=true 2>&1)
  grep -qF -- '== go test -race' <<<"$out" || fail "$full does not run go test:"$'\n'"$out"
  ! grep -qF -- 'test -race -short' <<<"$out" || fail "$full runs go test -short:"$'\n'"$out"
done
echo "check-make-messages: ok"
