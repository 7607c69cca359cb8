#!/usr/bin/env bash
# Before/after forwarding cost of two or more sluice binaries in one run (issues #16, #19, #22, #23
# ask "CPU per forwarded packet not worse than before, same run"): each binary gets the same rows
# from sluice-load (--servers sluice, no search), taken in turns A B C A B C ... so that whatever
# else the shared machine does falls on every binary alike. Each row carries its own floor
# (SRTP protect + sendmmsg measured just before it), so the ratio to the floor is what is compared.
#
#   bench/ab_load.sh LABEL=PATH LABEL=PATH [...]      e.g. before=/tmp/old/sluice after=.build/release/sluice
#   ROUNDS=3 SUBSCRIBERS=200 bench/ab_load.sh ...
#   ARGS_after="--sluice-workers 2 --spread-after 0" bench/ab_load.sh before=... after=...
#                                  more sluice-load arguments for one label's runs (config keys an
#                                  older binary would refuse are only written when given)
#
# Needs bench/.build/release/sluice-load (bench/load.sh builds it). Writes
# bench/results/ab_load.{json,md}. Bounded: every sluice-load run has its own timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${ROUNDS:-3}"
subscribers="${SUBSCRIBERS:-200}"
tool=bench/.build/release/sluice-load
[ -x "$tool" ] || { echo "build the load tool first: swift build -c release --package-path bench --product sluice-load" >&2; exit 2; }
[ $# -ge 2 ] || { echo "usage: bench/ab_load.sh LABEL=PATH LABEL=PATH [...]" >&2; exit 2; }
runs=$(mktemp -d)
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$rounds"); do
    for pair in "$@"; do
        label="${pair%%=*}"; binary="${pair#*=}"
        extra_var="ARGS_$label"; read -r -a extra <<< "${!extra_var:-}"
        out="$runs/$label.$round"; mkdir -p "$out"
        echo "== round $round: $label ($binary)"
        timeout --signal=INT --kill-after=10 240 "$tool" --servers sluice --subscribers "$subscribers" \
            --no-search --sluice "$binary" "${extra[@]}" --out "$out" > "$out/stdout" 2>&1 || echo "   run failed: see $out/stdout"
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 bench/summarize_ab.py "$runs" "$@" | tee bench/results/ab_load.md
cp "$runs"/ab_load.json bench/results/ab_load.json 2>/dev/null || true
