#!/usr/bin/env bash
# Benchmark: live reload with 200 routes. Measures (1) the time from a
# route file changed on disk to the new route answering, through the file
# watcher and through POST /api/reload, and (2) the throughput, second by
# second, of a load on one route while other routes are reloaded. Not part
# of the tests.
#
#   bench/reload.sh [rounds=20] [connections=64]
# MEDBUS_BIN=path runs that medbus binary instead of the one built here (to compare builds).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-20}
connections=${2:-64}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/medbus-target}"
cargo build --release -q -p medbus -p medbus-bench -p medbus-tests --bin medbus --bin reload-latency --bin load-client
bin="$CARGO_TARGET_DIR/release"

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/routes" "$work/scripts" "$work/mappings" "$work/templates"
printf 'code,name\n1,male\n2,female\n' > "$work/mappings/sex.csv"
echo 'vars.checked = true;' > "$work/scripts/check.rhai"
for n in $(seq 1 200); do
  cat > "$work/routes/route-$n.yaml" <<YAML
id: bench.route-$n
source:
  http: { path: /r/$n }
steps:
  - parse: { format: json }
  - script: { file: check.rhai }
reply:
  content_type: application/json
  body: '{"id":"{{ msg.id }}","v":"start"}'
YAML
done
echo "log: warn" > "$work/medbus.yaml"

(cd "$work" && MEDBUS_HTTP_ADDR=127.0.0.1:19180 MEDBUS_ADMIN_ADDR=127.0.0.1:19181 MEDBUS_DATA_DIR="$work/data" \
  MEDBUS_JOURNAL_DURABILITY="${DURABILITY:-full}" "${MEDBUS_BIN:-$bin/medbus}" run -c medbus.yaml 2> "$work/medbus.log") &
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:19181/health >/dev/null && break; sleep 0.1; done

echo "200 routes, journal: SQLite, durability ${DURABILITY:-full}"
echo "file changed on disk -> new route answering:"
"$bin/reload-latency" watch "$work/routes/route-100.yaml" http://127.0.0.1:19180/r/100 http://127.0.0.1:19181 "$rounds"
"$bin/reload-latency" api "$work/routes/route-100.yaml" http://127.0.0.1:19180/r/100 http://127.0.0.1:19181 "$rounds"
curl -s -X POST http://127.0.0.1:19181/api/reload | python3 -c 'import json,sys; r=json.load(sys.stdin); print("a reload with nothing changed: %d ms (%d routes unchanged)" % (r["took_ms"], r["routes"]["unchanged"]))'

# Throughput on route 1 for 9 s; routes 150..159 change at 3, 4 and 5 s
# (file writes, picked up by the watcher; the last one also by the API).
"$bin/load-client" --url http://127.0.0.1:19180/r/1 --rate 100000 --connections "$connections" --duration 9s > "$work/load.json" &
load=$!
for second in 3 4 5; do
  sleep 1; [ "$second" = 3 ] && sleep 2
  for n in $(seq 150 159); do sed -i "s/\"v\":\"[^\"]*\"/\"v\":\"dip-$second\"/" "$work/routes/route-$n.yaml"; done
  [ "$second" = 5 ] && curl -s -o /dev/null -X POST http://127.0.0.1:19181/api/reload
done
wait "$load"
python3 - "$work/load.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
per = r["ok_per_second"]
print("req/s per second of load on an unchanged route (reloads during seconds 3, 4, 5):")
print("  " + "  ".join(f"{s}s:{n}" for s, n in enumerate(per)))
before = sum(per[1:3]) / 2
during = sum(per[3:6]) / 3
after = sum(per[6:8]) / 2
print(f"  before {before:.0f}, during {during:.0f} ({100 * during / before:.0f} %), after {after:.0f}; failed requests: {r['failed']}")
PY
reloads=$(curl -s http://127.0.0.1:19181/metrics | awk '/^medbus_reloads_total/ {print $1"="$2}' | tr '\n' ' ')
echo "reloads: $reloads"
