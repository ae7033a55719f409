# Sourced by the bench scripts: builds the release binaries into `$bin`,
# makes a work folder `$work` that is removed on exit (kept with KEEP=1), the
# background jobs stopped, and gives the port helpers.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/medbus-target}"
cargo build --release -q -p medbus -p medbus-bench
bin="$CARGO_TARGET_DIR/release"

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_ports() { # count -> that many distinct ports nobody listens on
  local picked=() port
  while ((${#picked[@]} < $1)); do
    port=$((20000 + RANDOM % 20000))
    [[ " ${picked[*]} " == *" $port "* ]] || listening "$port" || picked+=("$port")
  done
  echo "${picked[@]}"
}
