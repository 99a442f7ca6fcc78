#!/usr/bin/env bash
# Fuzzes Photon's parsers with libFuzzer under AddressSanitizer (issue 13).
#
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer flags…]   one target
#   scripts/fuzz.sh all SECONDS [libFuzzer flags…]      every target, one after another (CI: 60 s each)
#   scripts/fuzz.sh list                                the targets
#
# Targets (Sources/PhotonFuzz): safetensors, shard-index, config, tokenizer-json, encode-wordpiece,
# encode-bpe, encode-unigram, json-scan, jsonl-line. Seeds: Tests/Fuzz/Corpus/<target>/ (made by
# Tests/Fuzz/make_corpus.py); inputs libFuzzer finds go to .build-fuzz/corpus/<target>/ (ignored by
# git); a crash, hang (-timeout), or allocation over -rss_limit_mb / -malloc_limit_mb is written to
# .build-fuzz/artifacts/<target>/ and fails the run. Replay one: PHOTON_FUZZ_TARGET=<target>
# .build-fuzz/release/PhotonFuzz <file>.
#
# The binary is built only here (PHOTON_FUZZ=1 adds the target to Package.swift), in its own
# scratch path, so the ordinary build never sees it. PHOTON_FUZZ_CONFIG=debug builds faster and
# fuzzes slower.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(safetensors shard-index config tokenizer-json encode-wordpiece encode-bpe encode-unigram json-scan jsonl-line)
usage="usage: scripts/fuzz.sh TARGET|all SECONDS [libFuzzer flags…]; targets: ${targets[*]}"
if [ "${1:-}" = list ]; then printf '%s\n' "${targets[@]}"; exit 0; fi
[ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
which=$1 seconds=$2
shift 2
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "$usage" >&2; exit 2; }
if [ "$which" = all ]; then
  selected=("${targets[@]}")
elif printf '%s\n' "${targets[@]}" | grep -qx -- "$which"; then
  selected=("$which")
else
  echo "unknown target '$which'; $usage" >&2
  exit 2
fi

config=${PHOTON_FUZZ_CONFIG:-release}
scratch=.build-fuzz
echo "== building the fuzz binary ($config, -sanitize=fuzzer,address)"
# ld.gold warns "Cannot export local symbol" for every Swift symbol the sanitizer runtime sees:
# harmless, and thousands of lines.
PHOTON_FUZZ=1 swift build --product PhotonFuzz --scratch-path "$scratch" -c "$config" \
  -Xswiftc -sanitize=fuzzer,address 2>&1 | grep -v "Cannot export local symbol" || true
binary=$scratch/$config/PhotonFuzz
[ -x "$binary" ] && [ "${PIPESTATUS[0]:-0}" = 0 ] || { echo "fuzz build failed" >&2; exit 1; }

failed=()
summary=$scratch/summary.txt
: >"$summary"
for target in "${selected[@]}"; do
  corpus=$scratch/corpus/$target
  artifacts=$scratch/artifacts/$target
  log=$scratch/logs/$target.log
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  echo "== fuzzing $target for ${seconds}s"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb also caps any single malloc.
  # -detect_leaks=0: LeakSanitizer reports objects held by globals (the fixture tokenizers loaded
  # once) as leaked, since Swift packs enum tags into spare pointer bits it cannot follow; memory
  # that grows per input still trips -rss_limit_mb.
  # -max_len 65536: long enough for the quadratic-time cases the probe found (80 KB words took
  # 10 s), short enough to keep executions fast.
  status=0
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" PHOTON_FUZZ_TARGET=$target "$binary" "$corpus" "Tests/Fuzz/Corpus/$target" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 -detect_leaks=0 "$@" >"$log" 2>&1 || status=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  line="$target: ${runs:-?} executions in ${seconds}s (${rate:-?}/s), corpus $(ls "$corpus" | wc -l) new inputs, exit $status"
  echo "$line" | tee -a "$summary"
  if [ "$status" != 0 ]; then
    failed+=("$target")
    grep -E -A30 "ERROR: |==[0-9]+== |Fatal error|SUMMARY" "$log" | head -n 60 >&2 || tail -n 40 "$log" >&2
    ls "$artifacts" >&2
  fi
done
echo "== summary (also in $summary)"
cat "$summary"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found problems in: ${failed[*]} (inputs in $scratch/artifacts/, logs in $scratch/logs/)" >&2
  exit 1
fi
