#!/usr/bin/env bash
# Benchmark: the shipped example REST route (parse, validate, map, script,
# template, journal at `full` durability, enqueue for delivery) under load
# from wrk, beside a bare axum handler with a fixed reply, in the same run.
# Prints req/s and p99 of both and their ratio. Not part of the tests.
#
#   bench/rest-example.sh [connections=64] [seconds=15]
# MEDBUS_BIN=path runs that medbus binary instead of the one built here (to compare builds).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/cpu.sh
connections=${1:-64}
seconds=${2:-15}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
. bench/common.sh
cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[{"patientId":"P0001","name":" 张三 ","sex":"1","birthDate":"1980-05-17","idType":"01","idNumber":"110101198005170011","phone":"13800000000","address":"福建省厦门市思明区"}]]
LUA

measure() { # url -> "req/s p99_ms"
  wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/post.lua" "$1" > "$work/out.txt"
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/out.txt")
  p99=$(awk '$1=="99%" {print $2}' "$work/out.txt")
  local non2xx
  non2xx=$(awk '/Non-2xx/ {print $4}' "$work/out.txt")
  echo "$rps $p99 ${non2xx:-0}"
}

"$bin/bare-http" 127.0.0.1:19100 & sleep 0.5
read -r bare_rps bare_p99 _ < <(measure http://127.0.0.1:19100/api/patients)

# The bare server stays up as the person registry: medbus delivers every
# registration to it while under load, as in production.
MEDBUS_HTTP_ADDR=127.0.0.1:19080 MEDBUS_ADMIN_ADDR=127.0.0.1:19081 MEDBUS_DATA_DIR="$work/data" \
MEDBUS_LISTENER_ER_HUB=127.0.0.1:19088 MEDBUS_LISTENER_ER_DEMO=127.0.0.1:19090 \
MEDBUS_LISTENER_HIS_ADT=127.0.0.1:19075 MEDBUS_LISTENER_HIS_DEMO=127.0.0.1:19091 \
MEDBUS_VALUE_REGISTRY_URL=http://127.0.0.1:19100/registry MEDBUS_LOG=warn \
MEDBUS_JOURNAL_DURABILITY="${DURABILITY:-full}" "${MEDBUS_BIN:-$bin/medbus}" run -c medbus.yaml 2> "$work/medbus.log" &
medbus_pid=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:19081/health >/dev/null && break; sleep 0.1; done
cpu_before=$(cpu_snapshot "$medbus_pid")
read -r medbus_rps medbus_p99 medbus_errors < <(measure http://127.0.0.1:19080/api/patients)
cpu_after=$(cpu_snapshot "$medbus_pid")
delivered=$(curl -s http://127.0.0.1:19081/metrics | awk '/^medbus_deliveries_total/ && /outcome="delivered"/ {s+=$2} END {print s+0}')
batch=$(curl -s http://127.0.0.1:19081/metrics | awk '/^medbus_journal_commit_batch_size_sum/ {s=$2} /^medbus_journal_commit_batch_size_count/ {c=$2} END {if (c>0) printf "%.1f", s/c; else print "n/a"}')

echo "connections: $connections, $seconds s each, journal: SQLite, durability ${DURABILITY:-full}"
printf "%-28s %12s %10s\n" "" "req/s" "p99"
printf "%-28s %12s %10s\n" "bare axum, fixed reply" "$bare_rps" "$bare_p99"
printf "%-28s %12s %10s\n" "medbus examples route" "$medbus_rps" "$medbus_p99"
echo "non-2xx answers from medbus: $medbus_errors"
echo "mean journal commit batch: $batch messages; delivered to the registry by the end: $delivered"
awk -v m="$medbus_rps" -v b="$bare_rps" 'BEGIN { printf "ratio medbus/bare: %.2f\n", m/b }'
cpu_report "$cpu_before" "$cpu_after"
