#!/bin/sh
# tokenizer_peer.sh — times bert-emotion's tokenizer (bench/tokenizer_bench) and Hugging Face's
# npm `tokenizers` (Rust core, 1 thread) on the same 5052 TweetEval tweets in one invocation,
# interleaved, and prints the ratio.
#   bench/tokenizer_peer.sh [BUILD_DIR] [ROUNDS] [MODEL_DIR]  (default build, 3, distilbert-base-cased)
#   bench/tokenizer_peer.sh build 3 ../shared/models/roberta-bpe-test   # byte-level BPE
# Needs node/npm; installs the pinned package into tools/tokenizer-fixtures/node_modules if absent.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
rounds=${2:-3}
shared=${SHARED:-$root/../shared}
model=$(cd "${3:-$shared/models/distilbert-base-cased}" && pwd)
export TOKENIZER_BENCH_MODEL=$model
bench=$build/bench/tokenizer_bench
[ -x "$bench" ] || { echo "build $bench first: cmake --build $build --target tokenizer_bench" >&2; exit 2; }
fixtures=$root/tools/tokenizer-fixtures
[ -d "$fixtures/node_modules/tokenizers" ] || (cd "$fixtures" && npm ci --no-audit --no-fund >/dev/null)
export RAYON_NUM_THREADS=1 RAYON_RS_NUM_CPUS=1 TOKENIZERS_PARALLELISM=false UV_THREADPOOL_SIZE=1
NODE_PATH=$fixtures/node_modules exec node "$root/bench/tokenizer_peer.js" "$bench" "$shared" "$rounds" "$model"
