#!/usr/bin/env bash
# make bench-accounts: mfabulk apply over one account, then over many, on
# one bin/iamlocal each, every account rate-limited on its own (its own
# token bucket, as IAM's limits are per account) and reached through its
# role (-any-role, --role template). Prints devices a second for each, the
# ratio of the two and mfabulk's peak RSS.
#
#   BENCH_ACCOUNTS=50        accounts in the many-account run
#   BENCH_DEVICES=20         devices per account
#   BENCH_RATE=1             requests a second per account (-rate, -burst)
#   BENCH_PARALLELISM=1      --parallelism (calls in flight per account)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
accounts=${BENCH_ACCOUNTS:-50}
n=${BENCH_DEVICES:-20}
rate=${BENCH_RATE:-1}
par=${BENCH_PARALLELISM:-1}
out=$root/bench/out/accounts
for f in bin/mfabulk bin/iamlocal bin/age-keygen; do
  [ -x "$f" ] || { echo "bench: $f is missing: run make build first" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time (GNU time) is needed for peak RSS" >&2; exit 2; }
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_IAM MFABULK_ENDPOINT_URL AWS_MAX_ATTEMPTS AWS_RETRY_MODE
rm -rf "$out" && mkdir -p "$out"
bin/age-keygen -o "$out/identity.txt" 2>/dev/null
recipient=$(bin/age-keygen -y "$out/identity.txt")

manifests() { # ACCOUNTS DIR: one manifest per account, n devices each
  mkdir -p "$2"
  for i in $(seq 0 $(($1 - 1))); do
    local a
    a=$(printf '%012d' $((100000000000 + i)))
    {
      echo "version: 1"
      echo "account: \"$a\""
      echo "defaults:"
      echo "  path: /bench/"
      echo "  bootstrap: Base32StringSeed"
      echo "  outfile: \"out/$a/{{.Name}}{{.Ext}}.age\""
      echo "  recipients: [$recipient]"
      echo "devices:"
      for d in $(seq -w 1 "$n"); do echo "  - name: dev-$d"; done
    } >"$2/$a.yaml"
  done
}

run() { # ACCOUNTS: prints "DEVICES SECONDS RSS_KB"
  local dir=$out/a$1
  manifests "$1" "$dir"
  bin/iamlocal -any-role -rate "$rate" -burst "$rate" -url-file "$dir/url" >/dev/null &
  local iam=$!
  for _ in $(seq 100); do [ -s "$dir/url" ] && break; sleep 0.05; done
  local start end
  start=$(date +%s%3N)
  /usr/bin/time -v -o "$dir/time.txt" bin/mfabulk apply -f "$dir" --endpoint-url "$(cat "$dir/url")" \
    --role 'arn:aws:iam::{{.Account}}:role/mfabulk' --accounts-parallelism "$1" --parallelism "$par" \
    --auto-approve --no-color >"$dir/stdout" 2>"$dir/stderr" || true
  end=$(date +%s%3N)
  kill -TERM "$iam" && wait "$iam" || true
  local ok
  ok=$(find "$dir/out" -type f -name '*.age' 2>/dev/null | wc -l)
  rm -rf "$dir/out" # the seeds
  echo "$ok $(((end - start))) $(awk '/Maximum resident/ {print $NF}' "$dir/time.txt")"
}

echo "bench-accounts: $n devices per account, $rate req/s per account, --parallelism $par" >&2
read -r ok1 ms1 rss1 < <(run 1)
read -r okn msn rssn < <(run "$accounts")
awk -v ok1="$ok1" -v ms1="$ms1" -v rss1="$rss1" -v okn="$okn" -v msn="$msn" -v rssn="$rssn" -v a="$accounts" 'BEGIN {
  r1 = ok1 / (ms1 / 1000); rn = okn / (msn / 1000)
  printf "%-12s %8s %9s %10s %12s\n", "accounts", "devices", "seconds", "devices/s", "peak RSS MB"
  printf "%-12d %8d %9.1f %10.2f %12.1f\n", 1, ok1, ms1 / 1000, r1, rss1 / 1024
  printf "%-12d %8d %9.1f %10.2f %12.1f\n", a, okn, msn / 1000, rn, rssn / 1024
  printf "aggregate rate: %.1fx one account'"'"'s (ideal %dx)\n", rn / r1, a
}'
