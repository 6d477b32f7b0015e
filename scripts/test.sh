#!/usr/bin/env bash
# Checks the formatting and runs clang-tidy on the src/ files changed since main (both fail before
# a long build), builds (Release, warnings as errors) and runs every test with ctest. The README's
# test command; CI runs it (.ci/run). The whole-tree tidy run (scripts/tidy.sh, 8.5 min of CPU over
# 2 jobs, 33 min wall on a busy 2-core machine) would push CI's ~34 minutes too close to its 45-minute
# limit, so CI tidies what changed (docs/DEVELOPING.md, "Format and tidy").
#   BERT_EMOTION_WERROR=OFF scripts/test.sh     # a compiler newer than CI's may warn about more
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
./scripts/check-format.sh
./scripts/tidy.sh --changed
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBERT_EMOTION_WERROR="${BERT_EMOTION_WERROR:-ON}"
cmake --build "$BUILD_DIR" -j "$(nproc)"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)"
