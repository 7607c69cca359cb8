#!/usr/bin/env bash
# Runs Sluice's micro-benchmarks (bench/Benchmarks/Micro, ordo-one/benchmark) in release mode and
# writes bench/results/micro.md (per-packet table) and bench/results/micro.jmh.json (raw export).
#   bench/micro.sh               all benchmarks (about 2 minutes after the first build)
#   bench/micro.sh 'Fan-out.*'   those whose whole name matches the regex (to micro.partial.md)
# Mallocs are counted by the framework's malloc interposer (its MallocInterposer trait): no jemalloc.
set -euo pipefail
cd "$(dirname "$0")"
filter="${1:-.*}"
results=results
mkdir -p "$results"
rm -f "$results/Current_run.jmh.json"
# Low priority: the machines are shared.
nice -n "${NICE:-15}" swift package --allow-writing-to-package-directory benchmark run \
    --filter "$filter" --format jmh --path "$results" --no-progress
# A filtered run must not replace the full table the README quotes: it gets its own files.
name=micro
[ "$filter" = ".*" ] || name=micro.partial
mv "$results/Current_run.jmh.json" "$results/$name.jmh.json"
# Exits non-zero when a benchmark of our own forwarding path allocates (the gate, MALLOC_GATE).
status=0
python3 summarize_micro.py "$results/$name.jmh.json" > "$results/$name.md" || status=$?
cat "$results/$name.md"
exit "$status"
