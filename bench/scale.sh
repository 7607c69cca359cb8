#!/usr/bin/env bash
# One room over several cores (issue #17): the largest N a Sluice room holds (under 1% loss, delay
# settled, every subscriber receiving; sluice-load's search) with one media worker pinned to one
# core, against two workers (rtc.media_workers: 2, rtc.spread_rooms_after: 1) on both cores, taken
# in turns (1w 2w 1w 2w ... for ROUNDS rounds) so that whatever else the shared machine does falls
# on both alike. On a 2-core machine the load tool shares the cores with the two-worker server: its
# own CPU share is reported beside each figure.
#
#   bench/scale.sh                 # ROUNDS=1 SUBSCRIBERS=100,200,300 by default
#
# Needs bench/.build/release/{sluice,sluice-load} (bench/load.sh builds them). Writes
# bench/results/scale.{json,md}. Bounded: every sluice-load run has its own timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${ROUNDS:-1}"
subscribers="${SUBSCRIBERS:-100,200,300}"
tool=bench/.build/release/sluice-load
[ -x "$tool" ] || { echo "build the load tool first: swift build -c release --package-path bench --product sluice-load" >&2; exit 2; }
runs=$(mktemp -d)
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$rounds"); do
    for mode in one two; do
        out="$runs/$mode.$round"; mkdir -p "$out"
        case "$mode" in
            one) args=(--sluice-workers 1) ;;  # pinned: server on the last CPU, tool on the others
            two) args=(--sluice-workers 2 --spread-after 1 --server-cpus "0-$(($(nproc) - 1))") ;;
        esac
        echo "== round $round: $mode worker(s)"
        timeout --signal=INT --kill-after=10 570 "$tool" --servers sluice --subscribers "$subscribers" \
            "${args[@]}" --out "$out" > "$out/stdout" 2>&1 || echo "   run failed: see $out/stdout"
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 bench/summarize_scale.py "$runs" | tee bench/results/scale.md
cp "$runs"/scale.json bench/results/scale.json 2>/dev/null || true
