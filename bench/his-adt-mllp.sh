#!/usr/bin/env bash
# Benchmark: ADT^A01 from the HIS over MLLP, beside a bare MLLP server
# answering a fixed ACK (bare-mllp) in the same run, into two routes of one
# medbus: the issue's route (frame read, HL7 v2 parsed, validated, sex mapped
# through two tables, journal at `full` durability, ACK answered; written here
# from bench/fixtures/adt-a01-route.yaml on a listener of its own), and the shipped
# pack's `his-adt` listener (the same plus two scripts, the JSON request
# rendered and delivered, ordered per patient, to the demo platform, which
# journals and writes it too, all in the same process). mllp-load sends as
# MLLP senders do, one message at a time per connection, the next after the
# ACK, with its own MSH-10, over 1 and then 8 connections. Prints msg/s and p99,
# the ratios to the bare server and the targets (>= 2,500 msg/s on 1
# connection, >= 15,000 on 8), which apply to the issue's route, and the CPU medbus
# used per message of the route on 8 connections (steadier than the rates on
# a noisy machine). Not part of the tests.
#
#   bench/his-adt-mllp.sh [seconds=10]
# MEDBUS_BIN=path runs that medbus binary instead of the one built here (to compare builds).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/cpu.sh
seconds=${1:-10}
warmup=1
message=bench/fixtures/adt-a01.hl7
. bench/common.sh
read -r bare_port http_port admin_port adt_port route_port hub_port hub_demo_port demo_port < <(free_ports 8)

measure() { # port connections -> "msg/s p99_ms failed"
  local line
  line=$("$bin/mllp-load" --addr "127.0.0.1:$1" --connections "$2" --seconds "$seconds" --warmup "$warmup" \
    --message "$message" 2> "$work/load.err" | grep '^connections=') || true
  [ -s "$work/load.err" ] && sed "s/^/  ($2 conn) /" "$work/load.err" >&2
  [ -n "$line" ] || { echo "0 n/a all"; return; }
  awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
         print f["msg_per_s"], f["p99_ms"], f["errors"] + f["mismatches"] }' <<< "$line"
}
metric() { # metrics-text name -> its value, summed over label sets
  awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $2 } END { print s + 0 }' <<< "$1"
}
journal_totals() { # -> "commit seconds, batch size sum, commits"
  local m
  m=$(curl -s "http://127.0.0.1:$admin_port/metrics")
  echo "$(metric "$m" medbus_journal_commit_seconds_sum) $(metric "$m" medbus_journal_commit_batch_size_sum)" \
    "$(metric "$m" medbus_journal_commit_batch_size_count)"
}
received() { # route -> messages it has received so far
  curl -s "http://127.0.0.1:$admin_port/metrics" |
    awk -v r="route=\"$1\"" '/^medbus_messages_total/ && index($0, r) && /outcome="received"/ { s += $2 } END { print s + 0 }'
}
journal_use() { # totals-before totals-after -> "busy% mean-batch" over one load run
  awk -v b="$1" -v a="$2" -v s="$((seconds + warmup))" 'BEGIN { split(b, x, " "); split(a, y, " "); n = y[3] - x[3]
    printf "%.0f%% %s\n", 100 * (y[1] - x[1]) / s, (n > 0 ? sprintf("%.1f", (y[2] - x[2]) / n) : "n/a") }'
}

"$bin/bare-mllp" "127.0.0.1:$bare_port" &
for _ in $(seq 1 50); do listening "$bare_port" && break; sleep 0.1; done
read -r bare1_rate bare1_p99 bare1_failed < <(measure "$bare_port" 1)
read -r bare8_rate bare8_p99 bare8_failed < <(measure "$bare_port" 8)

cp -r routes scripts templates mappings medbus.yaml secrets.example.yaml "$work/"
# The demo platform on a free port, not the default a medbus already running may hold.
sed -i "s#127.0.0.1:18091#127.0.0.1:$demo_port#g" "$work"/routes/his-adt/*.yaml "$work/medbus.yaml"
mkdir -p "$work/routes/bench"
sed "s/__PORT__/$route_port/" bench/fixtures/adt-a01-route.yaml > "$work/routes/bench/adt-a01.yaml"
MEDBUS_HTTP_ADDR="127.0.0.1:$http_port" MEDBUS_ADMIN_ADDR="127.0.0.1:$admin_port" MEDBUS_DATA_DIR="$work/data" \
MEDBUS_LISTENER_HIS_ADT="127.0.0.1:$adt_port" MEDBUS_LISTENER_HIS_DEMO="127.0.0.1:$demo_port" \
MEDBUS_LISTENER_ER_HUB="127.0.0.1:$hub_port" MEDBUS_LISTENER_ER_DEMO="127.0.0.1:$hub_demo_port" MEDBUS_LOG=warn MEDBUS_JOURNAL_DURABILITY="${DURABILITY:-full}" \
  "${MEDBUS_BIN:-$bin/medbus}" run -c "$work/medbus.yaml" 2> "$work/medbus.log" &
medbus_pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$admin_port/health" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$admin_port/health" >/dev/null || {
  echo "medbus did not come up; its log:" >&2; cat "$work/medbus.log" >&2; exit 1; }
for _ in $(seq 1 50); do listening "$adt_port" && break; sleep 0.1; done
if ! "$bin/mllp-load" --addr "127.0.0.1:$adt_port" --connections 1 --warmup 0 --messages 1 --accept AA \
  --message "$message" > "$work/check.out" 2>&1; then
  echo "medbus did not answer an ADT^A01 on the his-adt listener (127.0.0.1:$adt_port) with an AA ACK:" >&2
  sed 's/^/  /' "$work/check.out" >&2
  echo "This needs the engine's MLLP support and the pack's \`his-adt\` listener with its route." >&2
  [ -s "$work/medbus.log" ] && { echo "medbus log:" >&2; tail -n 20 "$work/medbus.log" >&2; }
  exit 1
fi
before=$(journal_totals)
read -r route1_rate route1_p99 route1_failed < <(measure "$route_port" 1)
after1=$(journal_totals)
cpu_route8_before=$(cpu_snapshot "$medbus_pid")
route8_received=$(received bench.adt-a01)
read -r route8_rate route8_p99 route8_failed < <(measure "$route_port" 8)
route8_received=$(( $(received bench.adt-a01) - route8_received ))
cpu_route8_after=$(cpu_snapshot "$medbus_pid")
after8=$(journal_totals)
read -r route_busy1 route_batch1 < <(journal_use "$before" "$after1")
read -r route_busy8 route_batch8 < <(journal_use "$after1" "$after8")
before=$(journal_totals)
read -r adt1_rate adt1_p99 adt1_failed < <(measure "$adt_port" 1)
after1=$(journal_totals)
cpu_adt8_before=$(cpu_snapshot "$medbus_pid")
read -r adt8_rate adt8_p99 adt8_failed < <(measure "$adt_port" 8)
cpu_adt8_after=$(cpu_snapshot "$medbus_pid")
after8=$(journal_totals)
read -r busy1 batch1 < <(journal_use "$before" "$after1")
read -r busy8 batch8 < <(journal_use "$after1" "$after8")
metrics=$(curl -s "http://127.0.0.1:$admin_port/metrics")
deliveries() { awk -v o="outcome=\"$1\"" '/^medbus_deliveries_total/ && /his-adt/ && index($0, o) { s += $2 } END { print s + 0 }' <<< "$metrics"; }

echo "ADT^A01 over MLLP ($(wc -c < "$message") bytes), $seconds s per run after ${warmup} s warm-up, journal: SQLite, durability ${DURABILITY:-full}"
printf "%-40s %14s %10s %14s %10s\n" "" "1 conn msg/s" "p99 ms" "8 conn msg/s" "p99 ms"
printf "%-40s %14s %10s %14s %10s\n" "bare MLLP server, fixed ACK" "$bare1_rate" "$bare1_p99" "$bare8_rate" "$bare8_p99"
printf "%-40s %14s %10s %14s %10s\n" "medbus ADT^A01 route (map, journal, ACK)" "$route1_rate" "$route1_p99" "$route8_rate" "$route8_p99"
printf "%-40s %14s %10s %14s %10s\n" "medbus his-adt pack (+ delivery)" "$adt1_rate" "$adt1_p99" "$adt8_rate" "$adt8_p99"
awk -v m1="$route1_rate" -v b1="$bare1_rate" -v m8="$route8_rate" -v b8="$bare8_rate" -v p1="$adt1_rate" -v p8="$adt8_rate" 'BEGIN {
  printf "ratio medbus/bare: route %.3f on 1 connection, %.3f on 8; pack %.3f, %.3f\n", m1 / b1, m8 / b8, p1 / b1, p8 / b8
  printf "targets (the route): >= 2,500 msg/s on 1 connection: %s; >= 15,000 msg/s on 8: %s\n",
    (m1 >= 2500 ? "met" : "MISSED"), (m8 >= 15000 ? "met" : "MISSED") }'
echo "failed messages (error or wrong control id): route $route1_failed on 1 connection, $route8_failed on 8; pack $adt1_failed, $adt8_failed; bare $bare1_failed, $bare8_failed"
echo "journal writer busy, 1 / 8 connections: route $route_busy1 / $route_busy8 (mean commit batch $route_batch1 / $route_batch8 messages); pack $busy1 / $busy8 ($batch1 / $batch8)"
echo "deliveries of his-adt routes by the end: $(deliveries delivered) delivered, $(deliveries failed) failed attempts, $(deliveries dead) dead"
echo "the route on 8 connections:"
cpu_report "$cpu_route8_before" "$cpu_route8_after" "$route8_received"
echo "the pack on 8 connections:"
cpu_report "$cpu_adt8_before" "$cpu_adt8_after"
