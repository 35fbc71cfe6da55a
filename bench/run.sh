#!/usr/bin/env bash
# make bench: mfabulk, a 16-thread boto3 script (botocore retry modes
# standard and adaptive) and an AWS CLI loop, each against a fresh
# bin/iamlocal, in each scenario; then the table, bench/out/results.csv and
# bench/out/chart.svg (bench/report.py).
#
# The store scenario, SC-store (rate10-store by default; any scenario above
# with -store), runs mfabulk apply twice at SC's IAM limit: into a folder
# (tool mfabulk) and into an S3 store (tool mfabulk-s3: `store:
# s3://mfabulk-bench/bench/` on a versioned bucket of a fresh moto_server,
# reached through bench/s3count, which counts the S3 requests); then
# mfabulk plan on the store it applied; then the endpoint's ceiling:
# bench/storeceiling runs the store's protocol of BENCH_CEILING_DEVICES
# (300) created devices, 64 at a time, with no IAM at all, on the same
# moto_server: the devices a second an apply into it cannot pass, whatever
# IAM's limit. report.py adds a table: each run's fraction of the limit,
# the store's over the folder's, S3 requests per device (apply) and per
# 1,000 devices (plan), by operation, the ceiling. It needs moto_server
# (pip install 'moto[server]'); leave it out of BENCH_SCENARIOS to run
# without.
#
#   BENCH_DEVICES=300        devices per run of mfabulk and boto3 (under a
#                            rate limit, at least 30 s at the limit: 30 × the
#                            limit, so that the first and last seconds, partial,
#                            and the first, when a client finds the limit, do
#                            not dominate the fraction of the limit)
#   BENCH_CLI_DEVICES=30     devices per run of the AWS CLI loop (it is slow)
#   BENCH_CEILING_DEVICES=300 devices of the store scenario's ceiling run
#   BENCH_S3_LATENCY=0       added to each S3 request (s3count -latency), as
#                            S3's round trip from a runner (20ms): moto
#                            answers in milliseconds
#   BENCH_SCENARIOS="nolimit rate10 rate50 rate200 lat50 lat150 rate10-store"
#                            (rateN, any N; SC-store, any SC)
#   BENCH_TOOLS="mfabulk boto3-standard boto3-adaptive awscli"
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
n=${BENCH_DEVICES:-300}
ncli=${BENCH_CLI_DEVICES:-30}
nceiling=${BENCH_CEILING_DEVICES:-300}
s3latency=${BENCH_S3_LATENCY:-0}
# The store scenario's default is rate10: a created device costs eight S3
# requests, and moto_server, one Python process, serves 100-180 a second
# on a 2-core machine: some 20 devices a second (see its ceiling), under
# 50 IAM calls a second, over 10.
scenarios=${BENCH_SCENARIOS:-"nolimit rate10 rate50 rate200 lat50 lat150 rate10-store"}
tools=${BENCH_TOOLS:-"mfabulk boto3-standard boto3-adaptive awscli"}
out=$root/bench/out

for f in bin/mfabulk bin/iamlocal bin/age-keygen; do
  [ -x "$f" ] || { echo "bench: $f is missing: run make build first" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time (GNU time) is needed for peak RSS" >&2; exit 2; }
python3 -c 'import boto3' 2>/dev/null || { echo "bench: python3 with boto3 is needed" >&2; exit 2; }
command -v aws >/dev/null || { echo "bench: the AWS CLI (aws) is needed" >&2; exit 2; }
for sc in $scenarios; do
  case $sc in *-store) ;; *) continue ;; esac
  command -v moto_server >/dev/null || {
    echo "bench: moto_server is missing: the store scenario $sc needs it (pip install 'moto[server]'), or leave $sc out of BENCH_SCENARIOS" >&2
    exit 2
  }
  for f in bin/s3count bin/storeceiling; do
    [ -x $f ] || { echo "bench: $f is missing: make bench builds it (go build -o bin/ ./bench/s3count ./bench/storeceiling)" >&2; exit 2; }
  done
done

# iamlocal accepts any credentials; the clients need some to sign with.
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_IAM AWS_ENDPOINT_URL_S3 MFABULK_ENDPOINT_URL AWS_MAX_ATTEMPTS AWS_RETRY_MODE

# scenario → iamlocal flags and the rate limit (requests a second; 0: none).
# The rate-limited scenarios have IAM-like latency too; SC-store is SC.
flags() {
  case ${1%-store} in
    nolimit) echo "" ;;
    rate*[!0-9]* | rate | rate0*) echo "bench: unknown scenario $1 (rateN: N requests a second)" >&2; exit 2 ;;
    rate*) local s=${1%-store} && echo "-rate ${s#rate} -latency 50ms -jitter 20ms" ;; # rate10, rate50, rate200, any rateN
    lat50) echo "-latency 50ms -jitter 20ms" ;;
    lat150) echo "-latency 150ms -jitter 20ms" ;;
    *) echo "bench: unknown scenario $1" >&2; exit 2 ;;
  esac
}
limit() { local s=${1%-store}; case $s in rate*) echo "${s#rate}" ;; *) echo 0 ;; esac; }
for sc in $scenarios; do flags "$sc" >/dev/null; done # an unknown one stops the bench here
# devices SCENARIO: BENCH_DEVICES, or 30 s at the rate limit if that is more.
devices() { local l; l=$(limit "$1"); echo $((n > 30 * l ? n : 30 * l)); }

rm -rf "$out" && mkdir -p "$out/runs"
# iamlocal, moto_server and s3count, if a run stops midway.
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
bin/age-keygen -o "$out/identity.txt" 2>/dev/null
bin/age-keygen -y "$out/identity.txt" >"$out/recipients.txt"

bucket=mfabulk-bench
manifest() { # N DIR [STORE]: a manifest of N devices under /bench/
  {
    echo "version: 1"
    [ -z "${3:-}" ] || echo "store: $3"
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

# wait_url FILE: waits (5 s at most) for a server to write its URL to FILE.
wait_url() { for _ in $(seq 100); do [ -s "$1" ] && return; sleep 0.05; done; }

# moto DIR: starts moto_server on a free port with a versioned bucket whose
# public access is blocked; sets moto and moto_url.
moto() {
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  moto_server -H 127.0.0.1 -p "$port" >"$1/moto.log" 2>&1 &
  moto=$!
  moto_url=http://127.0.0.1:$port
  for _ in $(seq 300); do curl -fs -o /dev/null "$moto_url/moto-api/" && break; sleep 0.1; done
  curl -fs -o /dev/null "$moto_url/moto-api/" || { echo "bench: moto_server did not start: $1/moto.log" >&2; exit 1; }
  python3 bench/s3bucket.py create "$moto_url" "$bucket"
}

# s3count DIR NAME: starts bin/s3count in front of moto, counting into
# DIR/NAME.json when stopped; sets s3count and s3count_url.
s3count() {
  rm -f "$1/$2.url"
  bin/s3count -target "$moto_url" -url-file "$1/$2.url" -out "$1/$2.json" -latency "$s3latency" >/dev/null &
  s3count=$!
  wait_url "$1/$2.url"
  s3count_url=$(cat "$1/$2.url")
}

# outfiles: the outfiles in the bucket (keys ending .age whose name does not
# start with a dot), and the keys, counted at moto, not through s3count.
outfiles() { python3 bench/s3bucket.py outfiles "$moto_url" "$bucket" bench/; }

run() { # TOOL SCENARIO
  local tool=$1 sc=$2 dir=$out/runs/$2-$1 devices
  devices=$(devices "$2")
  [ "$tool" = awscli ] && devices=$ncli
  mkdir -p "$dir/work"
  # shellcheck disable=SC2046
  bin/iamlocal -url-file "$dir/url" -stats-file "$dir/stats.csv" $(flags "$sc") >/dev/null &
  local iam=$!
  wait_url "$dir/url"
  local url
  url=$(cat "$dir/url")
  local cmd=()
  case $tool in
    mfabulk)
      manifest "$devices" "$dir/work"
      cp "$out/recipients.txt" "$dir/work/"
      cmd=("$root/bin/mfabulk" apply -f m.yaml --auto-approve --endpoint-url "$url" --no-color) ;;
    mfabulk-s3)
      moto "$dir"
      s3count "$dir" s3-apply
      manifest "$devices" "$dir/work" "s3://$bucket/bench/"
      cp "$out/recipients.txt" "$dir/work/"
      cmd=(env AWS_ENDPOINT_URL_S3="$s3count_url" "$root/bin/mfabulk" apply -f m.yaml --auto-approve --endpoint-url "$url" --no-color) ;;
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
  local ok keys=0
  if [ "$tool" = mfabulk-s3 ]; then
    kill -TERM "$s3count" && wait "$s3count" || true
    read -r ok keys < <(outfiles)
    # plan on the store just applied: its S3 requests, through s3count.
    s3count "$dir" s3-plan
    local pstart pcode=0
    pstart=$(ms)
    (cd "$dir/work" && AWS_ENDPOINT_URL_S3="$s3count_url" "$root/bin/mfabulk" plan -f m.yaml --endpoint-url "$url" --no-color \
      >"$dir/plan.stdout" 2>"$dir/plan.stderr") || pcode=$?
    printf '{"start_ms":%s,"end_ms":%s,"exit":%d}\n' "$pstart" "$(ms)" "$pcode" >"$dir/plan.json"
    kill -TERM "$s3count" && wait "$s3count" || true
    # the endpoint's ceiling, under another prefix, counted too.
    s3count "$dir" s3-ceiling
    AWS_ENDPOINT_URL_S3="$s3count_url" bin/storeceiling -store "s3://$bucket/ceiling/" -n "$nceiling" \
      >"$dir/ceiling.json" 2>"$dir/ceiling.stderr" || true
    kill -TERM "$s3count" && wait "$s3count" || true
    kill -TERM "$moto" && wait "$moto" || true # in memory: the seeds go with it
  else
    ok=$( (find "$dir/work/out" -type f -name '*-*' ! -name '.*' 2>/dev/null || true) | wc -l)
  fi
  kill -TERM "$iam" && wait "$iam" || true
  printf '{"tool":"%s","scenario":"%s","limit":%s,"devices":%d,"ok":%d,"start_ms":%s,"end_ms":%s,"exit":%d,"s3_keys":%d,"s3_latency":"%s"}\n' \
    "$tool" "$sc" "$(limit "$sc")" "$devices" "$ok" "$start" "$end" "$code" "$keys" "$s3latency" >"$dir/meta.json"
  echo "$ok ok, $(((end - start) / 1000)).$(((end - start) % 1000 / 100)) s" >&2
  rm -rf "$dir/work/out" # the seeds
}

echo "bench: $n devices (under a limit, 30 s at the limit if more; AWS CLI: $ncli) per run; scenarios: $scenarios" >&2
for sc in $scenarios; do
  case $sc in
    *-store) case " $tools " in *" mfabulk "*) run mfabulk "$sc" && run mfabulk-s3 "$sc" ;; esac ;;
    *) for tool in $tools; do run "$tool" "$sc"; done ;;
  esac
done
python3 bench/report.py "$out"
