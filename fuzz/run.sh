#!/usr/bin/env bash
# Builds the libFuzzer targets (release, -sanitize=fuzzer plus AddressSanitizer, so an
# out-of-bounds read through an unsafe buffer is a crash, not a silent wrong byte) and runs each
# for N seconds from its committed seed corpus. Fails if any target crashes, leaks or times out.
#
#   fuzz/run.sh [seconds-per-target] [target...]      default 30 s, every target
#
# New inputs the fuzzer finds go to .build-fuzz/corpus/<target>/ (kept between runs, never
# committed by this script); a crashing input is saved as .build-fuzz/crashes/<target>/crash-*
# and its path printed. Replay one with: .build-fuzz/release/<target> <file>
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
all=(FuzzRTP FuzzRTCP FuzzSDP FuzzVP8 FuzzH264 FuzzOpus FuzzSignalRequest FuzzTwirp)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all[@]}"); fi

scratch=.build-fuzz
start=$(date +%s)
echo "== fuzz: building ${#targets[@]} targets"
# SwiftPM's --sanitize=fuzzer links libFuzzer's main in place of the executable's (whose
# renamed entry point these targets lack), but compiled the dependencies (Media, Egress...)
# without coverage instrumentation here, so the fuzzer ran blind ("no interesting inputs"):
# -Xswiftc -sanitize=fuzzer,address instruments every module. -parse-as-library: each target's
# one file defines LLVMFuzzerTestOneInput and nothing else.
swift build --package-path fuzz --scratch-path "$scratch" -c release \
    --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
built=$(date +%s)
echo "== fuzz: built in $((built - start)) s; ${seconds} s per target"

failed=()
summary=()
for t in "${targets[@]}"; do
    mkdir -p "$scratch/corpus/$t" "$scratch/crashes/$t"
    log="$scratch/$t.log"
    # The first directory receives what the fuzzer finds; the committed seeds are read only.
    set +e
    "$scratch/release/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="$scratch/crashes/$t/" \
        "$scratch/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    set -e
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
    line="$t: ${execs} execs in ${seconds} s, coverage ${cov}, corpus $(ls "$scratch/corpus/$t" | wc -l) files"
    if [ $rc -ne 0 ]; then
        line+=" -- FAILED (exit $rc): $(ls "$scratch/crashes/$t" | head -3 | tr '\n' ' ')"
        failed+=("$t")
        grep -E "ERROR|Fatal error|SUMMARY|deadly signal|panic" "$log" | head -20 || true
    fi
    echo "$line"
    summary+=("$line")
done
echo "== fuzz: $(( $(date +%s) - start )) s in all"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crashes in ${failed[*]} (inputs under $scratch/crashes/)" >&2
    exit 1
fi
