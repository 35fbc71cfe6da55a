#!/usr/bin/env bash
# Create N virtual MFA devices with the AWS CLI, one call after another, as
# a shell user would: each seed to its own file with --outfile.
#
#   awscli_loop.sh URL N OUTDIR
#
# Prints one JSON line: {"ok": N, "failed": N}.
set -uo pipefail
url=$1 n=$2 out=$3
mkdir -p "$out"
ok=0 failed=0
for i in $(seq -w 1 "$n"); do
  if aws --endpoint-url "$url" --region us-east-1 iam create-virtual-mfa-device \
      --virtual-mfa-device-name "awscli-$i" \
      --outfile "$out/awscli-$i.txt" --bootstrap-method Base32StringSeed >/dev/null 2>>"$out/errors.log"; then
    ok=$((ok + 1))
  else
    failed=$((failed + 1))
  fi
done
echo "{\"ok\": $ok, \"failed\": $failed}"
