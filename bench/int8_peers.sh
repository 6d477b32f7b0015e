#!/usr/bin/env bash
# int8_peers.sh — issue 16's same-run int8 comparison: our --dtype int8 (and FP32) against both int8
# peers, PyTorch's dynamic quantization and ONNX Runtime's quantize_dynamic model, base size.
#
#   bench/int8_peers.sh                 REPEATS=2; BUILD (build), WORK, SKIP_ORT=1, SKIP_TORCH=1
#
# Models (random weights: speed does not depend on the values): ours `bert-emotion init --config
# base` (distilbert-base-cased's shape); PyTorch ../shared/reference/bench.py's own model of that
# shape with `--quant int8` (torch.ao.quantization.quantize_dynamic, engine onednn); ONNX Runtime
# the export of ../shared/reference/ort/export_onnx.py (FP32) and its int8 copy made by
# ../shared/reference/ort/quantize_int8.py (what onnxruntime's quantize_dynamic writes: MatMulInteger
# with per-tensor int8 weights, uint8 activations; see that folder's README), run by
# bench/ort_peer.mjs. Each measurement is a fresh process, the engines interleaved in every repeat,
# 2 threads, OMP_WAIT_POLICY=PASSIVE:
#   latency     batch 1, the 27-token median TweetEval emotion test tweet, median of 100
#   throughput  the 1421 test tweets, batches of 32 sorted by length, one pass
# Prints the raw JSON lines and a Markdown table of medians (docs/PERFORMANCE.md).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
BUILD="${BUILD:-$ROOT/build}"
WORK="${WORK:-/tmp/bert-emotion-int8-peers}"
REPEATS="${REPEATS:-2}"
PY=/usr/bin/python3
mkdir -p "$WORK"
for t in bert-emotion bench/perf_bench bench/inference_bench; do
  [ -x "$BUILD/$t" ] || { echo "int8_peers.sh: $BUILD/$t not built (cmake --build $BUILD --target ${t##*/})" >&2; exit 1; }
done
MODEL="$WORK/base"
[ -f "$MODEL/model.safetensors" ] || "$BUILD/bert-emotion" init --config base --out "$MODEL" --seed 0 \
  --tokenizer "$SHARED/models/distilbert-base-cased" >/dev/null

ORT_DIR="$WORK/ort"
ONNX="$ORT_DIR/distilbert-cls.onnx"
ONNX8="$ORT_DIR/distilbert-cls-int8.onnx"
source "$ROOT/bench/ort_setup.sh"
if [ "${SKIP_ORT:-0}" != 1 ]; then
  ort_setup "$ORT_DIR"
  ort_export "$ORT_DIR" "$ONNX"
  [ -f "$ONNX8" ] || (cd "$ORT_DIR" && $PY quantize_int8.py "$ONNX" "$ONNX8" >/dev/null)  # needs python3-onnx
fi
LENGTHS="$WORK/test_lengths.json"
"$BUILD/bench/perf_bench" lengths --model "$MODEL" > "$LENGTHS"

unset OMP_NUM_THREADS GOMP_SPINCOUNT OPENBLAS_NUM_THREADS
export OMP_WAIT_POLICY=PASSIVE
RESULTS="$WORK/results.jsonl"
: > "$RESULTS"
echo "int8_peers.sh: $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
tag() { $PY -c 'import json,sys; r=json.loads(sys.stdin.read().strip().splitlines()[-1]); r["engine"]=sys.argv[1]; print(json.dumps(r))' "$1"; }
ours() { "$BUILD/bench/inference_bench" "$1" --model "$MODEL" --threads 2 --dtype "$2" ${3:+$3} | tag "ours-$2" | tee -a "$RESULTS"; }
torch() { [ "${SKIP_TORCH:-0}" = 1 ] || $PY "$SHARED/reference/bench.py" "$@" --threads 2 --quant int8 | tag pytorch-int8 | tee -a "$RESULTS"; }
ort() { [ "${SKIP_ORT:-0}" = 1 ] || node "$ROOT/bench/ort_peer.mjs" "$ORT_DIR" "$2" "$LENGTHS" "$1" --threads 2 | tag "$3" | tee -a "$RESULTS"; }

for rep in $(seq 1 "$REPEATS"); do
  ours latency f32
  ours latency int8
  torch latency --seed "$rep"
  ort latency "$ONNX" ort-f32
  ort latency "$ONNX8" ort-int8
  ours throughput f32 --sorted
  ours throughput int8 --sorted
  torch throughput --sorted --seed "$rep"
  ort throughput "$ONNX" ort-f32
  ort throughput "$ONNX8" ort-int8
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

$PY - "$RESULTS" "$REPEATS" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(engine, what, key):
    v = [r[key] for r in rows if r["engine"] == engine and r["what"].startswith(what) and key in r]
    return statistics.median(v) if v else None
engines = ["ours-f32", "ours-int8", "pytorch-int8", "ort-f32", "ort-int8"]
f = lambda v, s: "n/m" if v is None else s.format(v)
print(f"\nmedians of {sys.argv[2]} fresh processes per cell, 2 threads, OMP_WAIT_POLICY=PASSIVE\n")
print("| measurement | ours FP32 | ours int8 | PyTorch int8 | ORT FP32 | ORT int8 | ours int8 vs our FP32 | vs PyTorch int8 | vs ORT int8 |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
lat = [med(e, "latency", "median_ms") for e in engines]
r = lambda a, b: f(a / b if a and b else None, "{:.2f}x")
print("| batch-1 latency, median test tweet | " + " | ".join(f(v, "{:.2f} ms") for v in lat) +
      f" | {r(lat[0], lat[1])} | {r(lat[2], lat[1])} | {r(lat[4], lat[1])} |")
tp = [med(e, "throughput", "tweets_per_s") for e in engines]
print("| batch-32 throughput, 1421 tweets sorted | " + " | ".join(f(v, "{:.1f} tweets/s") for v in tp) +
      f" | {r(tp[1], tp[0])} | {r(tp[1], tp[2])} | {r(tp[1], tp[4])} |")
EOF
