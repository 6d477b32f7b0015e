#!/bin/sh
# Regenerates tests/fixtures/tokenizer/* (bpe/: byte-level BPE) and src/tokenizer/unicode_exceptions.inc from Hugging
# Face's official `tokenizers` bindings (npm package, pinned in package-lock.json).
# Run from anywhere; needs node/npm and g++ with libutf8proc-dev. SHARED defaults to ../shared.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${SHARED:-$root/../shared}
out=$root/tests/fixtures/tokenizer
mkdir -p "$out"
cd "$here"
[ -d node_modules/tokenizers ] || npm ci --no-audit --no-fund
node hard_cases.js "$out/hard_cases.txt"
node unicode_truth.js "$out"
node unicode_bpe_truth.js "$out"
node generate.js "$shared" "$out"
mkdir -p "$out/bpe"
node bpe_hard_cases.js "$out/bpe/hard_cases.txt"
node generate_bpe.js "$shared" "$out"
# The exception table: HF truth vs raw utf8proc (unicode.cpp built without its exceptions).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
g++ -std=c++20 -O1 -I"$root/src" -DBERT_EMOTION_UNICODE_RAW "$here/gen_unicode_exceptions.cpp" \
  "$root/src/tokenizer/unicode.cpp" -lutf8proc -o "$tmp/gen"
"$tmp/gen" "$out" "$root/src/tokenizer/unicode_exceptions.inc"
