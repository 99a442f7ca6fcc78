#!/usr/bin/env bash
# Runs tests under sanitizers (issue 13), each build in its own scratch path:
#   AddressSanitizer   the test targets that do not need the OpenCL driver (ASAN_FILTER)
#   ThreadSanitizer    the concurrency tests (TSAN_FILTER): pipelines called from many tasks
#
#   scripts/sanitizers.sh [asan|tsan|all]        (default all)
#
# Filters are `swift test --filter` regular expressions; extend them as suites are added, e.g.
#   TSAN_FILTER='EngineTests|MyNewConcurrencyTests' scripts/sanitizers.sh tsan
# Any sanitizer report fails the test process, so fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

which=${1:-all}
case "$which" in asan | tsan | all) ;; *) echo "usage: scripts/sanitizers.sh [asan|tsan|all]" >&2; exit 2 ;; esac

# Under ASan: the targets that need no OpenCL driver, the concurrency tests (.cpu), and the OpenCL
# device-layer suite as a check that PoCL runs clean under ASan (it does: PoCL itself is not
# instrumented, but its allocations go through ASan's malloc). The OpenCL equivalence, model, CLI
# and pipeline suites are left out for time, not for findings: under ASan with PoCL compiling
# kernels they had not finished after 25 minutes on the 2-core machine.
ASAN_FILTER=${ASAN_FILTER:-'PhotonLoadingTests|PhotonTokenizersTests|DeviceLayerTests|ConcurrencyTests'}
TSAN_FILTER=${TSAN_FILTER:-'ConcurrencyTests|EngineTests'}
export PHOTON_CACHE_DIR="${PHOTON_CACHE_DIR:-$PWD/.build/photon-cache}"
export PHOTON_DEVICE="${PHOTON_TEST_DEVICE:-Portable Computing Language}"
mkdir -p "$PHOTON_CACHE_DIR"

# ld.gold warns "Cannot export local symbol" for each Swift symbol the sanitizer runtime sees.
quiet() { grep -v "Cannot export local symbol" || true; }

run() { # sanitizer scratch filter
  local sanitizer=$1 scratch=$2 filter=$3 start
  start=$(date +%s)
  echo "== swift build --build-tests --sanitize=$sanitizer ($scratch)"
  swift build --build-tests --scratch-path "$scratch" --sanitize="$sanitizer" 2>&1 | quiet
  [ "${PIPESTATUS[0]}" = 0 ] || { echo "$sanitizer build failed" >&2; return 1; }
  echo "   built in $(($(date +%s) - start)) s"
  start=$(date +%s)
  echo "== swift test --sanitize=$sanitizer --filter '$filter'"
  swift test --skip-build --scratch-path "$scratch" --sanitize="$sanitizer" --filter "$filter"
  echo "   tested in $(($(date +%s) - start)) s"
}

if [ "$which" = asan ] || [ "$which" = all ]; then
  # detect_leaks=0: LeakSanitizer reports objects held by Swift globals as leaked (enum tags in
  # spare pointer bits hide the references from it).
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" run address .build-asan "$ASAN_FILTER"
fi
if [ "$which" = tsan ] || [ "$which" = all ]; then
  # halt_on_error: the first data race fails the run instead of scrolling past.
  TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1}" run thread .build-tsan "$TSAN_FILTER"
fi
