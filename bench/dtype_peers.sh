#!/usr/bin/env bash
# dtype_peers.sh — issue 16's same-run comparison of our reduced precisions against the peers' own,
# base size, 2 threads: --dtype int8 against PyTorch's dynamic quantization and ONNX Runtime's
# quantize_dynamic model; --dtype bf16 and `train --bf16` against PyTorch's bf16 (model.to(bfloat16)
# for inference, torch.autocast("cpu", bfloat16) for the training step, as the Trainer's --bf16).
#
#   bench/dtype_peers.sh           DTYPES="int8 bf16" REPEATS=2; BUILD (build), WORK, SKIP_ORT=1, SKIP_TORCH=1
#
# Models (random weights: speed does not depend on the values): ours `bert-emotion init --config
# base` (distilbert-base-cased's shape); PyTorch ../shared/reference/bench.py's own model of that
# shape (`--quant int8`: torch.ao.quantization.quantize_dynamic, engine onednn; `--dtype bf16`;
# `train --bf16`); ONNX Runtime the export of ../shared/reference/ort/export_onnx.py (FP32) and its
# int8 copy made by ../shared/reference/ort/quantize_int8.py (what onnxruntime's quantize_dynamic
# writes: MatMulInteger with per-tensor int8 weights, uint8 activations; see that folder's README),
# run by bench/ort_peer.mjs. ONNX Runtime has no bf16 CPU kernels for these ops, so bf16 has no ORT
# column. Each measurement is a fresh process, the engines interleaved in every repeat; as in
# bench/run.sh, each engine waits between parallel regions as it ships: PyTorch under
# OMP_WAIT_POLICY=PASSIVE, ours PASSIVE plus the GOMP_SPINCOUNT the CLI would pick (10000 on an idle
# machine, 0 under load; src/util/openmp_waits.hpp), ONNX Runtime its own pool's default (spinning):
#   latency     batch 1, the 27-token median TweetEval emotion test tweet, median of 100
#   throughput  the 1421 test tweets, batches of 32 sorted by length, one pass
#   train       (bf16) batch-4 step (fwd + bwd + clip + AdamW) on real training-tweet lengths,
#               median of 12 after 2 warm-up steps
# Prints the raw JSON lines and a Markdown table per dtype (docs/PERFORMANCE.md), with the fraction
# of this CPU's peak for that precision our engine reaches: 195 GFLOP/s FP32 on 2 threads
# (../shared/docs/ROOFLINE.md), x2 for bf16 (vdpbf16ps) and x4 for int8 (vpdpbusd); FLOPs per
# sequence as bench/run.sh counts them (nominal, over wall time).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
BUILD="${BUILD:-$ROOT/build}"
WORK="${WORK:-/tmp/bert-emotion-dtype-peers}"
REPEATS="${REPEATS:-2}"
DTYPES="${DTYPES:-int8 bf16}"
PY=/usr/bin/python3
mkdir -p "$WORK"
# What the CLI picks, decided once, at the start (as bench/run.sh).
source "$ROOT/bench/omp_waits.sh"
SPIN=$(cli_spin_count)
for t in bert-emotion bench/perf_bench bench/inference_bench; do
  [ -x "$BUILD/$t" ] || { echo "dtype_peers.sh: $BUILD/$t not built (cmake --build $BUILD --target ${t##*/})" >&2; exit 1; }
done
has_dtype() { [[ " $DTYPES " == *" $1 "* ]]; }
MODEL="$WORK/base"
[ -f "$MODEL/model.safetensors" ] || "$BUILD/bert-emotion" init --config base --out "$MODEL" --seed 0 \
  --tokenizer "$SHARED/models/distilbert-base-cased" >/dev/null

ORT_DIR="$WORK/ort"
ONNX="$ORT_DIR/distilbert-cls.onnx"
ONNX8="$ORT_DIR/distilbert-cls-int8.onnx"
source "$ROOT/bench/ort_setup.sh"
if [ "${SKIP_ORT:-0}" != 1 ] && has_dtype int8; then
  ort_setup "$ORT_DIR"
  ort_export "$ORT_DIR" "$ONNX"
  [ -f "$ONNX8" ] || (cd "$ORT_DIR" && $PY quantize_int8.py "$ONNX" "$ONNX8" >/dev/null)  # needs python3-onnx
fi
LENGTHS="$WORK/test_lengths.json"
"$BUILD/bench/perf_bench" lengths --model "$MODEL" > "$LENGTHS"

unset OMP_NUM_THREADS GOMP_SPINCOUNT OPENBLAS_NUM_THREADS
export OMP_WAIT_POLICY=PASSIVE GOMP_SPINCOUNT="$SPIN"
RESULTS="$WORK/results.jsonl"
: > "$RESULTS"
echo "dtype_peers.sh: $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
tag() { $PY -c 'import json,sys; r=json.loads(sys.stdin.read().strip().splitlines()[-1]); r["engine"]=sys.argv[1]; print(json.dumps(r))' "$1"; }
ours() { "$BUILD/bench/inference_bench" "$1" --model "$MODEL" --threads 2 --dtype "$2" ${3:+$3} | tag "ours-$2" | tee -a "$RESULTS"; }
ours_train() { "$BUILD/bench/perf_bench" train --model "$MODEL" --threads 2 --steps 12 --warmup 2 "${@:2}" | tag "$1" | tee -a "$RESULTS"; }
# torch ENGINE ARGS...: bench.py with ARGS (its precision options included), tagged ENGINE.
torch() { [ "${SKIP_TORCH:-0}" = 1 ] || env -u GOMP_SPINCOUNT $PY "$SHARED/reference/bench.py" "${@:2}" --threads 2 | tag "$1" | tee -a "$RESULTS"; }
ort() { [ "${SKIP_ORT:-0}" = 1 ] || node "$ROOT/bench/ort_peer.mjs" "$ORT_DIR" "$2" "$LENGTHS" "$1" --threads 2 | tag "$3" | tee -a "$RESULTS"; }

for rep in $(seq 1 "$REPEATS"); do
  for what in latency throughput; do
    sorted=; [ "$what" = throughput ] && sorted=--sorted
    ours "$what" f32 $sorted
    if has_dtype int8; then
      ours "$what" int8 $sorted
      torch pytorch-int8 "$what" $sorted --seed "$rep" --quant int8
      ort "$what" "$ONNX" ort-f32
      ort "$what" "$ONNX8" ort-int8
    fi
    if has_dtype bf16; then
      ours "$what" bf16 $sorted
      torch pytorch-f32 "$what" $sorted --seed "$rep"
      torch pytorch-bf16 "$what" $sorted --seed "$rep" --dtype bf16
    fi
  done
  if has_dtype bf16; then
    ours_train ours-f32 --seed "$rep"
    ours_train ours-bf16 --seed "$rep" --bf16
    torch pytorch-f32 train --steps 12 --warmup 2 --seed "$rep"
    torch pytorch-bf16 train --steps 12 --warmup 2 --seed "$rep" --bf16
  fi
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

$PY - "$RESULTS" "$REPEATS" "$LENGTHS" "$DTYPES" <<'EOF'
import json, os, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
lengths, dtypes = json.load(open(sys.argv[3])), sys.argv[4].split()
PEAK = {"f32": 195e9, "bf16": 390e9, "int8": 780e9}
def fwd(L): return 84_934_656 * L + 18_432 * L * L + 1.2e6
s = sorted(lengths)
tp_flops = sum(len(s[i:i + 32]) * fwd(max(s[i:i + 32])) for i in range(0, len(s), 32))
lat_flops = fwd(int(statistics.median(lengths)))
def med(engine, what, key):
    v = [r[key] for r in rows if r["engine"] == engine and r["what"].startswith(what) and key in r]
    return statistics.median(v) if v else None
f = lambda v, s: "n/m" if v is None else s.format(v)
r = lambda a, b: f(a / b if a and b else None, "{:.2f}x")
pct = lambda flops, sec, dt: "n/m" if not sec else f"{100 * flops / sec / PEAK[dt]:.0f}%"
print(f"\nmedians of {sys.argv[2]} fresh processes per cell, 2 threads, OMP_WAIT_POLICY=PASSIVE "
      f"(+ GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT')} for ours); "
      "% peak = nominal FLOPs / time / this CPU's peak for the dtype (FP32 195, bf16 390, int8 780 G/s)")
if "int8" in dtypes:
    engines = ["ours-f32", "ours-int8", "pytorch-int8", "ort-f32", "ort-int8"]
    print("\n| measurement | ours FP32 | ours int8 | PyTorch int8 | ORT FP32 | ORT int8 | ours int8 vs our FP32 | vs PyTorch int8 | vs ORT int8 | % int8 peak, ours |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    lat = [med(e, "latency", "median_ms") for e in engines]
    print("| batch-1 latency, median test tweet | " + " | ".join(f(v, "{:.2f} ms") for v in lat) +
          f" | {r(lat[0], lat[1])} | {r(lat[2], lat[1])} | {r(lat[4], lat[1])} | {pct(lat_flops, lat[1] and lat[1] / 1e3, 'int8')} |")
    tp = [med(e, "throughput", "tweets_per_s") for e in engines]
    print("| batch-32 throughput, 1421 tweets sorted | " + " | ".join(f(v, "{:.1f} tweets/s") for v in tp) +
          f" | {r(tp[1], tp[0])} | {r(tp[1], tp[2])} | {r(tp[1], tp[4])} | {pct(tp_flops, tp[1] and len(lengths) / tp[1], 'int8')} |")
if "bf16" in dtypes:
    print("\n| measurement | ours FP32 | ours bf16 | PyTorch FP32 | PyTorch bf16 | ours bf16 vs our FP32 | vs PyTorch bf16 | % bf16 peak, ours |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    lat = [med(e, "latency", "median_ms") for e in ("ours-f32", "ours-bf16", "pytorch-f32", "pytorch-bf16")]
    print("| batch-1 latency, median test tweet | " + " | ".join(f(v, "{:.2f} ms") for v in lat) +
          f" | {r(lat[0], lat[1])} | {r(lat[3], lat[1])} | {pct(lat_flops, lat[1] and lat[1] / 1e3, 'bf16')} |")
    tp = [med(e, "throughput", "tweets_per_s") for e in ("ours-f32", "ours-bf16", "pytorch-f32", "pytorch-bf16")]
    print("| batch-32 throughput, 1421 tweets sorted | " + " | ".join(f(v, "{:.1f} tweets/s") for v in tp) +
          f" | {r(tp[1], tp[0])} | {r(tp[1], tp[3])} | {pct(tp_flops, tp[1] and len(lengths) / tp[1], 'bf16')} |")
    st = [med(e, "train", "step_median_s") for e in ("ours-f32", "ours-bf16", "pytorch-f32", "pytorch-bf16")]
    L = med("ours-bf16", "train", "padded_len_mean") or 0
    print("| train step, batch 4 (fwd+bwd+clip+AdamW) | " + " | ".join(f(v, "{:.3f} s") for v in st) +
          f" | {r(st[0], st[1])} | {r(st[3], st[1])} | {pct(3 * 4 * fwd(L), st[1], 'bf16')} |")
EOF
