#!/usr/bin/env bash
# Installs what Photon needs on a fresh Debian 12 machine that has the Swift toolchain:
# the OpenCL loader and headers, PoCL (the OpenCL device on machines without a GPU), CLBlast,
# OpenBLAS (the CPU reference's sgemm), Oclgrind (the GPU simulator the tests run on), Mesa's
# OpenCL (rusticl on llvmpipe, the tests' third implementation) and clinfo.
# A second run installs nothing.
set -euo pipefail

packages=(pocl-opencl-icd ocl-icd-opencl-dev opencl-headers libclblast-dev libopenblas-dev oclgrind mesa-opencl-icd clinfo unzip)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_=""
  [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
