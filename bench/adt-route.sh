#!/usr/bin/env bash
# Benchmark, quick: the issue 5 route alone (bench/fixtures/adt-a01-route.yaml)
# in a medbus of its own with no other route, on 1 and 8 MLLP connections;
# `mllp-load`'s line per run. For comparing two builds back to back, where
# bench/his-adt-mllp.sh (the bare server, the route and the his-adt pack) is
# the benchmark of record. Not part of the tests.
#
#   bench/adt-route.sh [seconds=6]
# MEDBUS_BIN=path runs that medbus binary; DURABILITY=normal the journal at `normal`.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-6}
. bench/common.sh
read -r port admin_port http_port < <(free_ports 3)

mkdir -p "$work/routes/bench"
cp -r mappings "$work/"
printf 'routes_dir: routes\nmappings_dir: mappings\n' > "$work/medbus.yaml"
sed "s/__PORT__/$port/" bench/fixtures/adt-a01-route.yaml > "$work/routes/bench/adt-a01.yaml"
MEDBUS_HTTP_ADDR="127.0.0.1:$http_port" MEDBUS_ADMIN_ADDR="127.0.0.1:$admin_port" MEDBUS_DATA_DIR="$work/data" \
MEDBUS_LOG=warn MEDBUS_JOURNAL_DURABILITY="${DURABILITY:-full}" \
  "${MEDBUS_BIN:-$bin/medbus}" run -c "$work/medbus.yaml" 2> "$work/medbus.log" &
for _ in $(seq 1 100); do listening "$port" && break; sleep 0.1; done
listening "$port" || { echo "medbus did not come up; its log:" >&2; cat "$work/medbus.log" >&2; exit 1; }
for connections in 1 8; do
  "$bin/mllp-load" --addr "127.0.0.1:$port" --connections "$connections" --seconds "$seconds" --warmup 1 \
    --message bench/fixtures/adt-a01.hl7 | grep '^connections='
done
