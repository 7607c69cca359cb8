#!/usr/bin/env bash
# Runs every test: Swift unit tests per layer, then the Interop tests that drive real outside
# clients (livekit-api, livekit, aiortc, ffprobe) against a `sluice` binary. Fails if any fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test

echo "== swift build"
swift build --build-tests
echo "== swift test"
swift test --skip-build --parallel --num-workers 2

echo "== fuzz"
# Every libFuzzer target for a bounded time from its committed seeds (build ~3.5 min from scratch
# plus 8 targets x FUZZ_SECONDS); fails on a crash. fuzz/run.sh with more seconds runs longer.
fuzz/run.sh "${FUZZ_SECONDS:-15}"

echo "== interop"
export SLUICE_BIN="$PWD/.build/debug/sluice"
# -rP prints what passing tests measured (frame counts, timings) into the log.
.build-interop/venv/bin/python -m pytest Interop -v -rP --timeout 300 -p no:cacheprovider
