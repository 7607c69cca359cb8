#!/usr/bin/env bash
# Builds and runs Sluice with embedded defaults: dev key `devkey` / secret `secret`,
# HTTP + WebSocket on 127.0.0.1:7880, SQLite under ./data. Extra arguments go to `sluice serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh system
swift build -c release --product sluice
exec .build/release/sluice serve --dev "$@"
