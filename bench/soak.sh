#!/usr/bin/env bash
# Soak (issue #20): 10 rooms x (1 publisher + 20 subscribers) for 10 minutes against a release
# sluice, one subscriber leaving and another joining every second (sluice-load --churn). Samples
# the server's RSS, open fds, threads and CPU every 10 s and writes bench/results/soak.{json,md}
# with the acceptance checks: RSS growth from minute 2 to the end under 5%, fds and threads back to
# the baseline once everyone left, no log warnings/errors but the churn's own leaves.
# Exit status 1 when a check fails. Extra arguments go to sluice-load (e.g. --minutes 2 for a
# quick look, --bitrate 2500000 for the full rate).
#
# The bitrate defaults to 300 kbit/s: 210 peers at 2.5 Mbit/s are 500 Mbit/s of SRTP through one
# 2-core machine that also runs the load tool's 210 peer connections; the soak is about memory,
# descriptors and threads under churn, not forwarding capacity (bench/load.sh measures that).
set -euo pipefail
cd "$(dirname "$0")/.."
nice -n 15 swift build -c release --package-path bench --product sluice
nice -n 15 swift build -c release --package-path bench --product sluice-load
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the figures)"
# 10 minutes of churn + setup + up to 60 s for the fds and threads to come back.
timeout --signal=INT --kill-after=10 900 bench/.build/release/sluice-load --servers sluice --churn \
    --rooms 10 --subscribers 20 --minutes 10 --sample-seconds 10 --bitrate 300000 --fps 30 \
    --out bench/results "$@"
