#!/usr/bin/env bash
# make bench: mfabulk, a 16-thread boto3 script (botocore retry modes
# standard and adaptive) and an AWS CLI loop, each against a fresh
# bin/iamlocal, in each scenario; then the table, bench/out/results.csv and
# bench/out/chart.svg (bench/report.py).
#
#   BENCH_DEVICES=300        devices per run of mfabulk and boto3 (under a
#                            rate limit, at least 30 s at the limit: 30 × the
#                            limit, so that the first and last seconds, partial,
#                            and the first, when a client finds the limit, do
#                            not dominate the fraction of the limit)
#   BENCH_CLI_DEVICES=30     devices per run of the AWS CLI loop (it is slow)
#   BENCH_SCENARIOS="nolimit rate10 rate50 rate200 lat50 lat150"
#   BENCH_TOOLS="mfabulk boto3-standard boto3-adaptive awscli"
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
n=${BENCH_DEVICES:-300}
ncli=${BENCH_CLI_DEVICES:-30}
scenarios=${BENCH_SCENARIOS:-"nolimit rate10 rate50 rate200 lat50 lat150"}
tools=${BENCH_TOOLS:-"mfabulk boto3-standard boto3-adaptive awscli"}
out=$root/bench/out

for f in bin/mfabulk bin/iamlocal bin/age-keygen; do
  [ -x "$f" ] || { echo "bench: $f is missing: run make build first" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time (GNU time) is needed for peak RSS" >&2; exit 2; }
python3 -c 'import boto3' 2>/dev/null || { echo "bench: python3 with boto3 is needed" >&2; exit 2; }
command -v aws >/dev/null || { echo "bench: the AWS CLI (aws) is needed" >&2; exit 2; }

# iamlocal accepts any credentials; the clients need some to sign with.
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_IAM MFABULK_ENDPOINT_URL AWS_MAX_ATTEMPTS AWS_RETRY_MODE

# scenario → iamlocal flags and the rate limit (requests a second; 0: none).
# The rate-limited scenarios have IAM-like latency too.
flags() {
  case $1 in
    nolimit) echo "" ;;
    rate10) echo "-rate 10 -latency 50ms -jitter 20ms" ;;
    rate50) echo "-rate 50 -latency 50ms -jitter 20ms" ;;
    rate200) echo "-rate 200 -latency 50ms -jitter 20ms" ;;
    lat50) echo "-latency 50ms -jitter 20ms" ;;
    lat150) echo "-latency 150ms -jitter 20ms" ;;
    *) echo "bench: unknown scenario $1" >&2; exit 2 ;;
  esac
}
limit() { case $1 in rate*) echo "${1#rate}" ;; *) echo 0 ;; esac; }
# devices SCENARIO: BENCH_DEVICES, or 30 s at the rate limit if that is more.
devices() { local l; l=$(limit "$1"); echo $((n > 30 * l ? n : 30 * l)); }

rm -rf "$out" && mkdir -p "$out/runs"
bin/age-keygen -o "$out/identity.txt" 2>/dev/null
bin/age-keygen -y "$out/identity.txt" >"$out/recipients.txt"

manifest() { # N DIR: a manifest of N devices under /bench/
  {
    echo "version: 1"
    echo "defaults:"
    echo "  path: /bench/"
    echo "  bootstrap: Base32StringSeed"
    echo '  outfile: "out/{{.Name}}{{.Ext}}.age"'
    echo "  recipientsFiles: [recipients.txt]"
    echo "devices:"
    for i in $(seq -w 1 "$1"); do echo "  - name: mfabulk-$i"; done
  } >"$2/m.yaml"
}

ms() { date +%s%3N; }

run() { # TOOL SCENARIO
  local tool=$1 sc=$2 dir=$out/runs/$2-$1 devices
  devices=$(devices "$2")
  [ "$tool" = awscli ] && devices=$ncli
  mkdir -p "$dir/work"
  # shellcheck disable=SC2046
  bin/iamlocal -url-file "$dir/url" -stats-file "$dir/stats.csv" $(flags "$sc") >/dev/null &
  local iam=$!
  for _ in $(seq 100); do [ -s "$dir/url" ] && break; sleep 0.05; done
  local url
  url=$(cat "$dir/url")
  local cmd=()
  case $tool in
    mfabulk)
      manifest "$devices" "$dir/work"
      cp "$out/recipients.txt" "$dir/work/"
      cmd=("$root/bin/mfabulk" apply -f m.yaml --auto-approve --endpoint-url "$url" --no-color) ;;
    boto3-standard | boto3-adaptive)
      cmd=(python3 "$root/bench/boto3_create.py" --endpoint-url "$url" --retry-mode "${tool#boto3-}" -n "$devices" --out out) ;;
    awscli)
      cmd=("$root/bench/awscli_loop.sh" "$url" "$devices" out) ;;
  esac
  printf '  %-15s %-8s %4d devices… ' "$tool" "$sc" "$devices" >&2
  local start end code=0
  start=$(ms)
  (cd "$dir/work" && /usr/bin/time -v -o "$dir/time.txt" "${cmd[@]}" >"$dir/stdout" 2>"$dir/stderr") || code=$?
  end=$(ms)
  kill -TERM "$iam" && wait "$iam" || true
  local ok
  ok=$( (find "$dir/work/out" -type f -name '*-*' ! -name '.*' 2>/dev/null || true) | wc -l)
  printf '{"tool":"%s","scenario":"%s","limit":%s,"devices":%d,"ok":%d,"start_ms":%s,"end_ms":%s,"exit":%d}\n' \
    "$tool" "$sc" "$(limit "$sc")" "$devices" "$ok" "$start" "$end" "$code" >"$dir/meta.json"
  echo "$ok ok, $(((end - start) / 1000)).$(((end - start) % 1000 / 100)) s" >&2
  rm -rf "$dir/work/out" # the seeds
}

echo "bench: $n devices (under a limit, 30 s at the limit if more; AWS CLI: $ncli) per run; scenarios: $scenarios" >&2
for sc in $scenarios; do
  for tool in $tools; do run "$tool" "$sc"; done
done
python3 bench/report.py "$out"
