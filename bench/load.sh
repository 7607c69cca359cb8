#!/usr/bin/env bash
# Forwarding load, Sluice vs Janus (issue #8 parts 3-4): builds the sluice server and the
# sluice-load driver in release (at nice 15), then runs one publisher + N subscribers over real
# WebRTC against each server in turn, on 127.0.0.1 only, and writes results/load.md + load.json.
# The previous run's load.json is kept as load.prev.json and compared with this one
# (compare_load.py -> results/load.compare.md): the run-to-run spread, row by row.
# Extra arguments go to sluice-load (--help lists them). Bounded: the run stops itself; the
# timeout below is a second guard.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v janus >/dev/null; then
    echo "janus is missing: apt-get install -y janus (or pass --servers sluice)" >&2
    exit 2
fi
nice -n 15 swift build -c release --package-path bench --product sluice
nice -n 15 swift build -c release --package-path bench --product sluice-load
nice -n 15 swift build -c release --package-path bench --product JanusLoopback
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the figures)"
timeout --signal=INT --kill-after=10 570 bench/.build/release/sluice-load --out bench/results "$@"
if [ -f bench/results/load.prev.json ]; then
    python3 bench/compare_load.py bench/results/load.prev.json bench/results/load.json | tee bench/results/load.compare.md
fi
