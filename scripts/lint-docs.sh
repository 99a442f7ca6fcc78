#!/usr/bin/env bash
# Style and documentation gate (CI): `swift format lint` with the repository's .swift-format over
# every Swift file, any finding failing the run (--strict), then Photon's DocC catalogue built with
# swift-docc-plugin, any warning (an unresolved symbol link, say) failing the run.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== swift format lint (.swift-format)"
swift format lint --strict --recursive --parallel Package.swift Sources Tests Kernels

echo "== DocC: Photon"
swift package generate-documentation --target Photon --warnings-as-errors
