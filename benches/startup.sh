#!/usr/bin/env bash
# Start-up and memory of the application on the simulated one-year and three-year stores of
# 4,000 customers (issue 15's measurement): the simulation's peak resident memory, then, each
# in a process of its own, folding the whole log into a directory ("replay") and opening the
# application as a restart does ("open"). Prints the figures; docs/benchmarks.md records them.
#
#   bash benches/startup.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d)}"
cargo build -q --release -p service-lifecycle-cli
cargo build -q --release --example startup
tool=target/release/service-lifecycle
startup=target/release/examples/startup
peak() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
for years in 1 3; do
  store="$work/store-$years"
  rm -rf "$store"
  kib=$( { /usr/bin/time -f '%M %e' "$tool" simulate --store "sled:$store" --customers 4000 --years "$years" --seed 7 >/dev/null; } 2>&1 | tail -1)
  read -r sim_kib sim_seconds <<<"$kib"
  echo "$years year(s): simulation ${sim_seconds} s, peak $((sim_kib / 1024)) MiB"
  "$startup" store "$store"
  "$startup" replay "$store"
  "$startup" open "$store"
  "$startup" open "$store"
done
