#!/usr/bin/env bash
# What the journal writes to disk per message, a measure free of this VM's
# timing noise: the example REST route (`rest`) or the Xiamen hub's push
# (`hub`) under wrk, then the deliveries drained. Prints
#   1. bytes the medbus process wrote to disk (/proc/<pid>/io write_bytes:
#      the WAL, checkpoints, the hub database) per message;
#   2. a second, shorter run with a read snapshot held open, so that no
#      checkpoint empties the WAL: its frames per message, by B-tree
#      (bench/tools/wal_frames.py; each frame is one page rewritten).
# Not part of the tests.
#
#   bench/journal-writes.sh [rest|hub] [seconds=5] [connections=64]
# MEDBUS_BIN=path runs that medbus binary instead of the one built here (to compare builds).
set -euo pipefail
cd "$(dirname "$0")/.."
workload=${1:-rest}
seconds=${2:-5}
connections=${3:-64}
. bench/common.sh

cp -r routes scripts templates mappings medbus.yaml secrets.example.yaml "$work/"
case "$workload" in
  rest)
    url=http://127.0.0.1:19080/api/patients
    cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[{"patientId":"P0001","name":" 张三 ","sex":"1","birthDate":"1980-05-17","idType":"01","idNumber":"110101198005170011","phone":"13800000000","address":"福建省厦门市思明区"}]]
LUA
    bare_flags=() ;;
  hub)
    url=http://127.0.0.1:19088/hub/webservice/emergencyHub
    sed -i 's#http://127.0.0.1:18090/demo/hospital#http://127.0.0.1:19100/hospital#' "$work/mappings/xiamen-120/hospitals.csv"
    {
      echo 'wrk.method = "POST"'
      echo 'wrk.headers["Content-Type"] = "text/xml; charset=utf-8"'
      echo "wrk.headers[\"SOAPAction\"] = '\"\"'"
      echo 'wrk.body = [==['"$(cat routes/xiamen-120/tests/push-apply-record.envelope.xml)"']==]'
    } > "$work/post.lua"
    bare_flags=(--soap) ;;
  *) echo "workload: rest or hub" >&2; exit 2 ;;
esac

"$bin/bare-http" 127.0.0.1:19100 "${bare_flags[@]}" &

run() { # data-dir hold(0/1) -> prints figures
  local data=$1 hold=$2 db="$1/journal.db"
  MEDBUS_HTTP_ADDR=127.0.0.1:19080 MEDBUS_ADMIN_ADDR=127.0.0.1:19081 MEDBUS_DATA_DIR="$data" \
  MEDBUS_LISTENER_ER_HUB=127.0.0.1:19088 MEDBUS_LISTENER_ER_DEMO=127.0.0.1:19090 \
  MEDBUS_LISTENER_HIS_ADT=127.0.0.1:19075 MEDBUS_LISTENER_HIS_DEMO=127.0.0.1:19091 \
  MEDBUS_VALUE_REGISTRY_URL=http://127.0.0.1:19100/registry MEDBUS_LOG=warn \
  MEDBUS_JOURNAL_DURABILITY="${DURABILITY:-full}" "${MEDBUS_BIN:-$bin/medbus}" run -c "$work/medbus.yaml" 2> "$work/medbus.log" &
  local pid=$!
  for _ in $(seq 1 100); do curl -sf http://127.0.0.1:19081/health >/dev/null && break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null || { echo "medbus did not start:" >&2; cat "$work/medbus.log" >&2; exit 1; }
  if [ "$hold" = 1 ]; then
    mkfifo "$work/hold"
    python3 bench/tools/wal_frames.py hold "$db" < "$work/hold" > /dev/null & local holder=$!
    exec 4> "$work/hold"
    sleep 0.3
  fi
  local before after messages
  before=$(awk '/^write_bytes/ {print $2}' "/proc/$pid/io")
  wrk -t2 -c"$connections" -d"${seconds}s" -s "$work/post.lua" "$url" > "$work/wrk.txt"
  for _ in $(seq 1 600); do
    [ "$(sqlite3 "file:$db?mode=ro" "SELECT COUNT(*) FROM deliveries WHERE status = 'pending'")" = 0 ] && break
    sleep 0.2
  done
  kill -0 "$pid" 2>/dev/null || { echo "medbus stopped:" >&2; cat "$work/medbus.log" >&2; exit 1; }
  after=$(awk '/^write_bytes/ {print $2}' "/proc/$pid/io")
  messages=$(sqlite3 "file:$db?mode=ro" "SELECT COUNT(*) FROM messages")
  if [ "$hold" = 1 ]; then
    python3 bench/tools/wal_frames.py tally "$db"
    exec 4>&-; wait "$holder"
  else
    echo "$workload: $messages messages in $seconds s ($(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt") req/s), deliveries drained;" \
      "written to disk: $(( (after - before) / messages )) bytes per message"
  fi
  kill -0 "$pid" 2>/dev/null || { echo "medbus stopped:" >&2; cat "$work/medbus.log" >&2; }
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
run "$work/data1" 0
run "$work/data2" 1
