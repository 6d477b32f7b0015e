#!/usr/bin/env bash
# Installs every build, test and benchmark dependency from Debian's packages.
# Used by the README's commands and by .ci/run. Idempotent; needs root (or sudo).
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libdnnl-dev libopenblas-dev          # GEMM (oneDNN sgemm; OpenBLAS as an alternative backend)
  nlohmann-json3-dev libutf8proc-dev libcli11-dev libcpp-httplib-dev libcurl4-openssl-dev libssl-dev
  libminizip-dev                       # the zip directory of pytorch_model.bin checkpoints
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev             # fuzzing and sanitizer builds
  clang-format clang-tidy              # scripts/check-format.sh and scripts/tidy.sh (Debian 12: version 14)
  libopenmpi-dev openmpi-bin           # optional: data-parallel training / sharded inference under mpirun
  python3 curl ccache
  chromium                             # tests/js: the page in headless Chromium
  # The Python module (python/, docs/PYTHON.md): pybind11, headers, NumPy, pytest, and what
  # `pip install --no-build-isolation .` builds with.
  pybind11-dev python3-dev python3-numpy python3-pytest python3-setuptools python3-wheel python3-pip python3-venv
)
# tests/js (the real HF client, the OpenAPI validator, puppeteer-core) need node and npm. A machine
# whose node came from elsewhere (e.g. NodeSource's nodejs, which bundles npm and conflicts with
# Debian's npm package) keeps it; otherwise Debian's packages.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
if [ "${BERT_EMOTION_WITH_PEERS:-0}" = 1 ]; then
  packages+=(python3-torch python3-numpy python3-onnx wrk hyperfine)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# tests/js's npm packages, exactly as package-lock.json pins them.
(cd "$(dirname "$0")/../tests/js" && npm ci --no-audit --no-fund --loglevel=error)
