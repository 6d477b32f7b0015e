#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in build-fuzz and runs each for a while.
#
#   scripts/fuzz.sh            # 60 s per target
#   scripts/fuzz.sh 180        # 3 minutes per target
#   TARGETS="safetensors config" scripts/fuzz.sh 30
#
# Each target starts from its committed seeds (fuzz/corpus/<name>, never modified) plus the corpus
# it grew on earlier runs (build-fuzz/corpus/<name>), one process, one target at a time. Prints the
# executions and coverage (cov = edges, ft = features, from libFuzzer's final line) per target and
# exits non-zero if any target crashed, leaked, hit a sanitizer report or a timeout; the input is
# saved as build-fuzz/artifacts/<name>/crash-* (reproduce: build-fuzz/fuzz/fuzz_<name> FILE).
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
BUILD_DIR=${BUILD_DIR:-build-fuzz}
ALL_TARGETS="safetensors config tokenizer_json tokenize dataset tweeteval predict_request torch_pickle"
TARGETS=${TARGETS:-$ALL_TARGETS}

if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DBERT_EMOTION_FUZZ=ON \
    -DBERT_EMOTION_TESTS=OFF -DBERT_EMOTION_BENCH=OFF >/dev/null || exit 1
fi
cmake --build "$BUILD_DIR" -j "$(nproc)" --target $(for t in $TARGETS; do echo "fuzz_$t"; done) || exit 1

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=0
summary=()
for t in $TARGETS; do
  corpus="$BUILD_DIR/corpus/$t"
  artifacts="$BUILD_DIR/artifacts/$t"
  log="$BUILD_DIR/logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  dict=()
  [[ -f fuzz/dict/$t.dict ]] && dict+=(-dict="fuzz/dict/$t.dict")
  case $t in config | tokenizer_json | predict_request) dict=(-dict=fuzz/dict/json.dict "${dict[@]}") ;; esac
  # libFuzzer accepts one -dict: merge into one file when several apply.
  if ((${#dict[@]} > 1)); then
    cat "${dict[@]#-dict=}" >"$BUILD_DIR/logs/$t.dict"
    dict=(-dict="$BUILD_DIR/logs/$t.dict")
  fi
  max_len=4096
  [[ $t == tokenizer_json || $t == torch_pickle ]] && max_len=16384
  echo "== fuzz_$t: ${SECONDS_PER_TARGET}s"
  "$BUILD_DIR/fuzz/fuzz_$t" "$corpus" "fuzz/corpus/$t" "${dict[@]}" \
    -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 \
    -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts/" >"$log" 2>&1
  rc=$?
  runs=$(grep -Eo '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)
  final=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED|RELOAD)' "$log" | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+' <<<"$final" | grep -Eo '[0-9]+')
  ft=$(grep -Eo 'ft: [0-9]+' <<<"$final" | grep -Eo '[0-9]+')
  corp=$(grep -Eo 'corp: [0-9]+/[0-9]+[a-zA-Z]*' <<<"$final")
  line=$(printf '%-16s %s  execs=%s cov=%s ft=%s %s' "$t" "$([[ $rc == 0 ]] && echo ok || echo FAIL rc=$rc)" \
    "${runs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-}")
  echo "$line"
  summary+=("$line")
  if [[ $rc != 0 ]]; then
    failed=1
    grep -E 'ERROR: |runtime error|FUZZ_CHECK|Test unit written|SUMMARY' "$log" | head -10
    echo "   full log: $log"
  fi
done
echo "== summary (${SECONDS_PER_TARGET}s per target)"
printf '%s\n' "${summary[@]}"
exit $failed
