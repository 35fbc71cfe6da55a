#!/usr/bin/env bash
# make test's go test, in four processes at once: every package but
# cmd/mfabulk, and cmd/mfabulk in three shards (the S3 store's matrices,
# the testscripts, the rest). cmd/mfabulk's tests run one after another
# in one process and mostly wait (on subprocesses, moto_server, leases,
# timeouts by design), so one process of it left the two cores half idle
# and made it the long pole; in shards they overlap. Each shard's output
# is printed, whole, when it finishes.
#
#   scripts/gotest.sh GO TESTFLAGS...
set -uo pipefail
go=$1
shift
store='^(TestStore.*|TestThreeRunners)$'
scripts='^TestScripts$'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

shard() { # NAME ARGS...: runs go test ARGS in the background, output to $tmp/NAME
  local name=$1
  shift
  echo "$go test $* &"
  ("$go" test "$@" >"$tmp/$name" 2>&1; echo $? >"$tmp/$name.rc") &
}

others=$("$go" list ./... | grep -v '/cmd/mfabulk$' || true)
# shellcheck disable=SC2086 # a list of packages
shard packages "$@" $others
shard store "$@" -run "$store" ./cmd/mfabulk
shard scripts "$@" -run "$scripts" ./cmd/mfabulk
shard rest "$@" -skip "$store|$scripts" ./cmd/mfabulk

status=0
for name in packages store scripts rest; do
  while [ ! -e "$tmp/$name.rc" ]; do sleep 1; done
done
wait
for name in packages store scripts rest; do
  echo "-- $name"
  cat "$tmp/$name"
  rc=$(cat "$tmp/$name.rc")
  [ "$rc" = 0 ] || { echo "-- $name: go test exited $rc"; status=1; }
done
exit $status
