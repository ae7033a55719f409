#!/usr/bin/env bash
# Benchmark: the Xiamen 120 hub's pushApplyRecord (routes/xiamen-120): SOAP 1.1
# envelope read, XML parameter decoded, secret checked, record validated, the
# hospital found, journal at `full` durability, answered `ok`; then delivered
# to the hub database (SQLite) and to the hospital. Under load from wrk, beside
# a bare axum server answering a fixed SOAP response in the same run. Every
# hospital's endpoint is that bare server (the hospitals are not under test).
# Prints calls/s and p99 of both and their ratio. Not part of the tests.
#
#   bench/xiamen-push.sh [connections=64] [seconds=15]
# MEDBUS_BIN=path runs that medbus binary instead of the one built here (to compare builds).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/cpu.sh
connections=${1:-64}
seconds=${2:-15}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
. bench/common.sh
# The shipped configuration, with every hospital at the bare server.
cp -r routes scripts templates mappings medbus.yaml secrets.example.yaml "$work/"
sed -i 's#http://127.0.0.1:18090/demo/hospital#http://127.0.0.1:19100/hospital#' "$work/mappings/xiamen-120/hospitals.csv"
# wrk sends one envelope; applyNo repeats, so the hub database upserts one row.
{
  echo 'wrk.method = "POST"'
  echo 'wrk.headers["Content-Type"] = "text/xml; charset=utf-8"'
  echo "wrk.headers[\"SOAPAction\"] = '\"\"'"
  echo 'wrk.body = [==['"$(cat routes/xiamen-120/tests/push-apply-record.envelope.xml)"']==]'
} > "$work/post.lua"

measure() { # url -> "calls/s p99 non2xx"
  wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/post.lua" "$1" > "$work/out.txt"
  local rps p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/out.txt")
  p99=$(awk '$1=="99%" {print $2}' "$work/out.txt")
  non2xx=$(awk '/Non-2xx/ {print $4}' "$work/out.txt")
  echo "$rps $p99 ${non2xx:-0}"
}

"$bin/bare-http" 127.0.0.1:19100 --soap & sleep 0.5
read -r bare_rps bare_p99 _ < <(measure http://127.0.0.1:19100/hub/webservice/emergencyHub)

MEDBUS_HTTP_ADDR=127.0.0.1:19080 MEDBUS_ADMIN_ADDR=127.0.0.1:19081 MEDBUS_DATA_DIR="$work/data" \
MEDBUS_LISTENER_ER_HUB=127.0.0.1:19088 MEDBUS_LISTENER_ER_DEMO=127.0.0.1:19090 MEDBUS_LOG=warn \
MEDBUS_LISTENER_HIS_ADT=127.0.0.1:19075 MEDBUS_LISTENER_HIS_DEMO=127.0.0.1:19091 \
MEDBUS_JOURNAL_DURABILITY="${DURABILITY:-full}" "${MEDBUS_BIN:-$bin/medbus}" run -c "$work/medbus.yaml" 2> "$work/medbus.log" &
medbus_pid=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:19081/health >/dev/null && break; sleep 0.1; done
check=$(curl -s -H 'Content-Type: text/xml; charset=utf-8' --data-binary @routes/xiamen-120/tests/push-apply-record.envelope.xml \
  http://127.0.0.1:19088/hub/webservice/emergencyHub)
case "$check" in *"<return>ok</return>"*) ;; *) echo "the hub did not answer ok: $check"; exit 1 ;; esac
cpu_before=$(cpu_snapshot "$medbus_pid")
read -r hub_rps hub_p99 hub_errors < <(measure http://127.0.0.1:19088/hub/webservice/emergencyHub)
cpu_after=$(cpu_snapshot "$medbus_pid")
metrics=$(curl -s http://127.0.0.1:19081/metrics)
delivered() { echo "$metrics" | awk -v d="destination=\"$1\"" '/^medbus_deliveries_total/ && /route="xiamen-120.push-apply-record"/ && index($0, d) && /outcome="delivered"/ {s+=$2} END {print s+0}'; }
busy=$(echo "$metrics" | awk -v s="$seconds" '/^medbus_journal_commit_seconds_sum/ {printf "%.0f", 100*$2/s}')
batch=$(echo "$metrics" | awk '/^medbus_journal_commit_batch_size_sum/ {s=$2} /^medbus_journal_commit_batch_size_count/ {c=$2} END {if (c>0) printf "%.1f", s/c; else print "n/a"}')

echo "connections: $connections, $seconds s each, journal: SQLite, durability ${DURABILITY:-full}"
printf "%-34s %12s %10s\n" "" "calls/s" "p99"
printf "%-34s %12s %10s\n" "bare axum, fixed SOAP answer" "$bare_rps" "$bare_p99"
printf "%-34s %12s %10s\n" "medbus hub, pushApplyRecord" "$hub_rps" "$hub_p99"
echo "non-2xx answers from medbus: $hub_errors"
echo "journal writer busy: ${busy}% of the run; mean journal commit batch: $batch messages; delivered by the end: hospital $(delivered hospital), hub-db $(delivered hub-db)"
awk -v m="$hub_rps" -v b="$bare_rps" 'BEGIN { printf "ratio medbus/bare: %.2f\n", m/b }'
cpu_report "$cpu_before" "$cpu_after"
