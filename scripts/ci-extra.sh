#!/usr/bin/env bash
# The robustness CI stage: the whole test suite under g++ ASan + UBSan (scripts/sanitize.sh, in
# build-asan), then every libFuzzer target for FUZZ_SECONDS (default 60) each (scripts/fuzz.sh, in
# build-fuzz, clang). Exits non-zero if either fails. See docs/ERRORS.md for timings.
#
#   scripts/ci-extra.sh              # sanitizers + 60 s per fuzz target
#   FUZZ_SECONDS=600 scripts/ci-extra.sh
set -uo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
status=0
./scripts/sanitize.sh || status=1
sanitized=$(date +%s)
./scripts/fuzz.sh "${FUZZ_SECONDS:-60}" || status=1
done_=$(date +%s)
echo "ci-extra: sanitize $((sanitized - start)) s, fuzz $((done_ - sanitized)) s, total $((done_ - start)) s, status $status"
exit $status
