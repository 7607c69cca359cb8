#!/usr/bin/env bash
# Runs the Swift unit tests under a sanitizer (issue #20):
#   scripts/sanitize.sh address     AddressSanitizer: use after free, out-of-bounds, leaks at exit
#   scripts/sanitize.sh thread      ThreadSanitizer: data races between the media workers, the
#                                   egress writer threads and Swift concurrency
# Each builds into its own scratch directory (.build-asan, .build-tsan), from scratch the first
# time (slow: about as long as the normal debug build, and the tests run several times slower).
# Not part of CI for that reason; see bench/results/sanitizers.md for the last results.
# Extra arguments go to `swift test`, e.g. `--filter MediaTests`.
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-}"
case "$kind" in
    address) scratch=.build-asan ;;
    thread) scratch=.build-tsan ;;
    *) echo "usage: scripts/sanitize.sh address|thread [swift test arguments]" >&2; exit 2 ;;
esac
shift
scripts/deps.sh system

# Reports go to stderr and into $scratch/sanitizer.log.<pid> (one file per process).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=0:log_path=$PWD/$scratch/sanitizer.log}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=0:second_deadlock_stack=1:log_path=$PWD/$scratch/sanitizer.log}"
rm -f "$scratch"/sanitizer.log.*

start=$(date +%s)
swift build --build-tests --sanitize="$kind" --scratch-path "$scratch"
built=$(date +%s)
echo "== $kind: built in $((built - start)) s"
set +e
swift test --skip-build --sanitize="$kind" --scratch-path "$scratch" --parallel --num-workers 2 "$@"
rc=$?
set -e
echo "== $kind: tests exit $rc after $(( $(date +%s) - built )) s"
reports=$(cat "$scratch"/sanitizer.log.* 2>/dev/null | grep -c "^WARNING: ThreadSanitizer\|^==.*ERROR: AddressSanitizer" || true)
echo "== $kind: $reports sanitizer reports (in $scratch/sanitizer.log.*)"
[ "$rc" -eq 0 ] && [ "$reports" -eq 0 ]
