#!/usr/bin/env bash
# The main job (README): installs what is missing, fetches all-MiniLM-L6-v2, builds photon in
# release mode and runs it on the OpenCL device.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/fetch-model.sh
swift build -c release --product photon >&2
photon=.build/release/photon
echo "== photon devices"
"$photon" devices
