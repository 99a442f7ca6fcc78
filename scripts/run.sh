#!/usr/bin/env bash
# The main job (README): installs what is missing, fetches all-MiniLM-L6-v2, builds photon in
# release mode, then on the OpenCL device (.gpu): embeds sentences and shows which are similar,
# checks the GPU embeddings against the CPU reference, and classifies text with a classifier
# folder (argument 1; default: the tiny random-weight BERT classifier from the test fixtures).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/fetch-model.sh
swift build -c release --product photon >&2
photon=.build/release/photon
classifier="${1:-Tests/Fixtures/tiny-models/tiny-bert-classifier}"

sentences=(
  "A man is playing a guitar on the street."
  "Someone plays an acoustic guitar outside."
  "What is the capital of France?"
  "Paris is the capital and most populous city of France."
  "The stock market fell 3.2% on Tuesday after the announcement."
  "Shares dropped sharply after the company's news."
  "Café au lait and croissants for breakfast."
)

echo "== OpenCL devices"
"$photon" devices

echo
echo "== Every op on the OpenCL device vs the CPU reference (MiniLM sizes)"
"$photon" check

echo
echo "== Sentence similarity with all-MiniLM-L6-v2 on .gpu"
printf '%s\n' "${sentences[@]}" | "$photon" similarity --backend gpu --top 6

echo
echo "== .gpu embeddings vs the .cpu reference"
printf '%s\n' "${sentences[@]}" | "$photon" embed --backend gpu >"${TMPDIR:-/tmp}/photon-gpu.jsonl"
printf '%s\n' "${sentences[@]}" | "$photon" embed --backend cpu >"${TMPDIR:-/tmp}/photon-cpu.jsonl"
python3 - "${TMPDIR:-/tmp}/photon-gpu.jsonl" "${TMPDIR:-/tmp}/photon-cpu.jsonl" <<'PY'
import json, math, sys
gpu = [json.loads(l) for l in open(sys.argv[1])]
cpu = [json.loads(l) for l in open(sys.argv[2])]
cos = [sum(a * b for a, b in zip(g, c)) / math.sqrt(sum(a * a for a in g) * sum(b * b for b in c)) for g, c in zip(gpu, cpu)]
diff = max(abs(a - b) for g, c in zip(gpu, cpu) for a, b in zip(g, c))
print(f"{len(gpu)} embeddings of {len(gpu[0])} floats: min cosine {min(cos):.9f}, max abs diff {diff:.2e}")
PY

echo
echo "== Text classification on .gpu with $classifier"
printf '%s\n' "The movie was absolutely wonderful, I loved every minute of it!" \
  "The service was slow and the food arrived cold." |
  "$photon" classify --backend gpu --model "$classifier" --top-k 3
