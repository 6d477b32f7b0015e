#!/usr/bin/env bash
# Builds the whole test suite with g++ AddressSanitizer + UndefinedBehaviorSanitizer
# (-DBERT_EMOTION_SANITIZE=ON, Debug-ish -O1 so the stacks are readable) in build-asan, then runs
# ctest. Any ASan/UBSan report fails the test that triggered it (UBSan is -fno-sanitize-recover).
#
#   scripts/sanitize.sh                 # configure + build + ctest
#   BUILD_DIR=build-asan2 JOBS=1 scripts/sanitize.sh -R errors   # extra args go to ctest
# Warnings are errors here, as in scripts/test.sh;
# BERT_EMOTION_WERROR=OFF turns that off.
#
# Runtime options (no suppressions for our code):
#   detect_leaks=1            LeakSanitizer on (our code must not leak).
#   abort_on_error=1          a report kills the test with a non-zero status.
#   detect_odr_violation=0    oneDNN/OpenBLAS ship duplicate globals across their shared objects.
#   halt_on_error / print_stacktrace for UBSan.
# OpenMP (libgomp) keeps its thread pool alive at exit; LSan does not report it as a leak.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-asan}
JOBS=${JOBS:-$(nproc)}
# MPI is off here: Open MPI is not instrumented and keeps allocations until exit by design, which
# LeakSanitizer reports from inside libmpi; the MPI tests run in the normal build (scripts/test.sh).
start=$(date +%s)
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DBERT_EMOTION_SANITIZE=ON -DBERT_EMOTION_BENCH=OFF -DBERT_EMOTION_MPI=OFF \
  -DBERT_EMOTION_WERROR="${BERT_EMOTION_WERROR:-ON}" >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"
built=$(date +%s)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_odr_violation=0:strict_string_checks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# Sanitized code runs 2-5x slower: give every test a larger timeout budget.
status=0
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 1500 "$@" || status=$?
done_=$(date +%s)
echo "sanitize.sh: build $((built - start)) s, tests $((done_ - built)) s, total $((done_ - start)) s, ctest status $status"
exit $status
