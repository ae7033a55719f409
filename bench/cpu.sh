# Where a load run's CPU went: sourced by the load benchmarks.
#
#   before=$(cpu_snapshot "$pid"); <load>; after=$(cpu_snapshot "$pid")
#   cpu_report "$before" "$after" [messages]
#
# prints the machine's busy share (all processes, from /proc/stat) and, for
# each group of the process's threads (named by their thread name without
# its number: tokio-rt-worker, sqlx-sqlite-worker, medbus-journal ...), the
# CPU it used and the time it waited for a CPU while runnable (from
# /proc/<pid>/task/*/schedstat), as percentages of one CPU. A thread that
# is busy in the benchmark's own figures but waited long for a CPU is held
# back by the machine, not by its own work. Given how many messages the
# process took in between, it also prints the CPU time of all its threads per
# message: unlike the rates, this hardly moves with the machine's load.

cpu_snapshot() { # pid -> one line per thread: "name run_ns wait_ns", then "machine busy total"
  local pid=$1 task name
  for task in /proc/"$pid"/task/*; do
    name=$(cat "$task/comm" 2>/dev/null) || continue
    echo "${name// /_} $(cut -d' ' -f1,2 "$task/schedstat" 2>/dev/null)"
  done
  awk '/^cpu / { busy = $2 + $3 + $4 + $7 + $8; total = busy + $5 + $6; print "machine", busy, total }' /proc/stat
  date +"wall %s%N"
}

cpu_report() { # before after [messages]
  awk -v messages="${3:-0}" '
    FNR == 1 { file++ }
    $1 == "wall" { wall[file] = $2; next }
    $1 == "machine" { busy[file] = $2; total[file] = $3; next }
    NF == 3 { name = $1; sub(/[-_]?[0-9]+$/, "", name); run[file, name] += $2; wait[file, name] += $3; names[name] = 1 }
    END {
      seconds = (wall[2] - wall[1]) / 1e9
      cpus = 0; while (("nproc" | getline n) > 0) cpus = n
      printf "machine busy: %.0f%% of %d CPUs; medbus threads (CPU used / waited for a CPU, %% of one CPU):\n",
        100 * (busy[2] - busy[1]) / (total[2] - total[1]), cpus
      for (name in names) {
        used = (run[2, name] - run[1, name]) / 1e9 / seconds
        waited = (wait[2, name] - wait[1, name]) / 1e9 / seconds
        if (used >= 0.005) printf "  %-24s %5.0f%% / %5.0f%%\n", name, 100 * used, 100 * waited
        all += run[2, name] - run[1, name]
      }
      if (messages > 0) printf "  CPU per message, all threads: %.1f us (%d messages)\n", all / 1e3 / messages, messages
    }' <(echo "$1") <(echo "$2")
}
