#!/usr/bin/env bash
# run.sh — the whole performance comparison in one command: bert-emotion vs PyTorch vs ONNX Runtime
# on a random base-size model (distilbert-base-cased shape) and the real TweetEval emotion tweets.
#
#   bench/run.sh                      REPEATS=3 by default; BUILD, WORK, SKIP_ORT=1, SKIP_TORCH=1
#   FAMILIES=distilbert,bert,roberta bench/run.sh    also base-size BERT and RoBERTa (bench/families.sh:
#                                     latency and throughput rows per family); default distilbert
#                                     WHAT=latency: only their latency rows
#
# 1. builds Release (build-bench/: bert-emotion, perf_bench, inference_bench);
# 2. makes the model once (`bert-emotion init --config base --tokenizer ../shared/models/...`)
#    and, for ONNX Runtime, a scratch copy of ../shared/reference/ort (npm ci with
#    ONNXRUNTIME_NODE_INSTALL=skip) plus its export_onnx.py model (Debian's python3-torch + onnx);
# 3. runs every measurement in a fresh process, the engines interleaved REPEATS times, 2 threads,
#    OMP_WAIT_POLICY=PASSIVE for both OpenMP engines, plus for ours the GOMP_SPINCOUNT the CLI would
#    pick (10000 on an idle machine, 0 under load; PyTorch was slower with the spin, so it runs without)
#    (a long-spinning pool on a shared 2-core machine is 2-4x slower, for PyTorch as for us):
#      train      batch-4 step (fwd + bwd + clip + AdamW), real training-tweet lengths, 40 steps
#                 (ours: perf_bench train; PyTorch: ../shared/reference/bench.py train)
#      latency    batch 1, the 27-token median test tweet, median of 100
#      throughput the 1421 test tweets, batch 32, sorted by length
#      load       loading the model (ours: load_model_dir + prepacking the FP32 linears, as
#                 Classifier::load, + touching every weight page; ORT: InferenceSession.create)
#      eval       (ours only) the trainer's per-epoch evaluation: 374 validation tweets, batch 4
# 4. prints medians, ratios and % of the FP32 peak as a Markdown table (docs/PERFORMANCE.md).
#    FLOPs per sequence of L tokens: 84,934,656 L + 18,432 L^2 + 1.2 M (the head); a training step
#    ~ 3x forward; peak 195 GFLOP/s on 2 threads (../shared/docs/ROOFLINE.md). The engines' own
#    shortcuts (our last layer runs the [CLS] row only) are not subtracted: % of peak is
#    "effective", nominal FLOPs over wall time.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
BUILD="${BUILD:-$ROOT/build-bench}"
WORK="${WORK:-/tmp/bert-emotion-bench}"
REPEATS="${REPEATS:-3}"
FAMILIES="${FAMILIES:-distilbert}"
PY=/usr/bin/python3
mkdir -p "$WORK"
# What the CLI picks (src/util/openmp_waits.hpp): a 10000 spin only when the 1-minute load average
# leaves a CPU for each of the 2 threads, else none; decided once, at the start: the load of the
# script's own setup below (build, npm ci, ONNX export) says nothing about other work on the machine.
source "$ROOT/bench/omp_waits.sh"
SPIN=$(cli_spin_count)

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target bert-emotion perf_bench inference_bench >/dev/null
has_family() { [[ ",$FAMILIES," == *",$1,"* ]]; }
MODEL="$WORK/base"
[ -f "$MODEL/model.safetensors" ] || "$BUILD/bert-emotion" init --config base --out "$MODEL" --seed 0 \
  --tokenizer "$SHARED/models/distilbert-base-cased" >/dev/null

ORT_DIR="$WORK/ort"
ONNX="$ORT_DIR/distilbert-cls.onnx"
source "$ROOT/bench/ort_setup.sh"
if [ "${SKIP_ORT:-0}" != 1 ]; then
  ort_setup "$ORT_DIR"
  if has_family distilbert; then ort_export "$ORT_DIR" "$ONNX"; fi
fi
LENGTHS="$WORK/test_lengths.json"
"$BUILD/bench/perf_bench" lengths --model "$MODEL" > "$LENGTHS"

unset OMP_NUM_THREADS GOMP_SPINCOUNT OPENBLAS_NUM_THREADS
export OMP_WAIT_POLICY=PASSIVE GOMP_SPINCOUNT="$SPIN"
RESULTS="$WORK/results.jsonl"
: > "$RESULTS"
tag() { $PY -c 'import json,sys; r=json.loads(sys.stdin.read().strip().splitlines()[-1]); r["engine"]=sys.argv[1]; print(json.dumps(r))' "$1"; }
ours() { "$BUILD/bench/perf_bench" "$@" --model "$MODEL" --threads 2 | tag bert-emotion | tee -a "$RESULTS"; }
ours_inf() { "$BUILD/bench/inference_bench" "$@" --model "$MODEL" --threads 2 | tag bert-emotion | tee -a "$RESULTS"; }
# PyTorch runs with plain PASSIVE: a 10000 spin made it slower here (latency 29.5 -> 36.8 ms).
torch() { [ "${SKIP_TORCH:-0}" = 1 ] || env -u GOMP_SPINCOUNT $PY "$SHARED/reference/bench.py" "$@" --threads 2 | tag pytorch | tee -a "$RESULTS"; }
ort() { [ "${SKIP_ORT:-0}" = 1 ] || node "$ROOT/bench/ort_peer.mjs" "$ORT_DIR" "$ONNX" "$LENGTHS" "$1" --threads 2 | tag onnxruntime | tee -a "$RESULTS"; }

for rep in $(seq 1 "$REPEATS"); do
  has_family distilbert || break
  ours train --seed "$rep"
  torch train --seed "$rep"
  ours_inf latency
  torch latency --seed "$rep"
  ort latency
  ours_inf throughput --sorted
  torch throughput --sorted --seed "$rep"
  ort throughput
  ours load
  ort load
  ours eval
done

has_family distilbert && $PY - "$RESULTS" "$REPEATS" "$LENGTHS" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
lengths = json.load(open(sys.argv[3]))
PEAK = 195e9
def fwd(L): return 84_934_656 * L + 18_432 * L * L + 1.2e6
def med(engine, what, key):
    v = [r[key] for r in rows if r["engine"] == engine and r["what"] == what and key in r]
    return statistics.median(v) if v else None
def fmt(v, f): return "n/m" if v is None else f.format(v)
s = sorted(lengths)
tp_flops = sum(len(s[i:i + 32]) * fwd(max(s[i:i + 32])) for i in range(0, len(s), 32))
lat_L = int(statistics.median(lengths))
import os
print(f"\nmedians of {sys.argv[2]} fresh processes per cell, 2 threads, OMP_WAIT_POLICY=PASSIVE (+ GOMP_SPINCOUNT={os.environ['GOMP_SPINCOUNT']} for bert-emotion); "
      f"% = nominal FLOPs / time / {PEAK/1e9:.0f} GFLOP/s\n")
print("| measurement | bert-emotion | PyTorch | ONNX Runtime | vs PyTorch | vs ORT | % peak ours / PyTorch / ORT |")
print("| --- | --- | --- | --- | --- | --- | --- |")
# train step
o, t = med("bert-emotion", "train", "step_median_s"), med("pytorch", "train", "step_median_s")
Lo = med("bert-emotion", "train", "padded_len_mean") or 0
Lt = med("pytorch", "train", "padded_len_mean") or Lo
pct = lambda fl, sec: "n/m" if not sec else f"{100 * fl / sec / PEAK:.0f}%"
print(f"| train step, batch 4 (fwd+bwd+clip+AdamW) | {fmt(o, '{:.3f} s')} | {fmt(t, '{:.3f} s')} | - | "
      f"{fmt(t / o if o and t else None, '{:.2f}x')} | - | {pct(3 * 4 * fwd(Lo), o)} / {pct(3 * 4 * fwd(Lt), t)} / - |")
po, pt = med("bert-emotion", "train", "projected_full_run_s_fit"), med("pytorch", "train", "projected_full_run_s_fit")
ev = med("bert-emotion", "eval", "seconds")
full = po + 3 * ev if po is not None and ev is not None else None
print(f"| 3-epoch recipe (2445 steps, projected by fit{'; ours + 3 evaluations' if ev else ''}) | "
      f"{fmt(full / 60 if full else None, '{:.1f} min')} | {fmt(pt / 60 if pt else None, '{:.1f} min')} | - | "
      f"{fmt(pt / full if pt and full else None, '{:.2f}x')} | - | - |")
o, t, r = (med(e, "latency", "median_ms") for e in ("bert-emotion", "pytorch", "onnxruntime"))
print(f"| batch-1 latency, {lat_L}-token tweet | {fmt(o, '{:.1f} ms')} | {fmt(t, '{:.1f} ms')} | {fmt(r, '{:.1f} ms')} | "
      f"{fmt(t / o if o and t else None, '{:.2f}x')} | {fmt(r / o if o and r else None, '{:.2f}x')} | "
      f"{pct(fwd(lat_L), o and o / 1e3)} / {pct(fwd(lat_L), t and t / 1e3)} / {pct(fwd(lat_L), r and r / 1e3)} |")
o, t, r = med("bert-emotion", "throughput_sorted", "tweets_per_s"), med("pytorch", "throughput_sorted", "tweets_per_s"), \
    med("onnxruntime", "throughput_sorted", "tweets_per_s")
sec = lambda tps: tps and len(lengths) / tps
print(f"| throughput, {len(lengths)} test tweets, batch 32 sorted | {fmt(o, '{:.1f} tweets/s')} | {fmt(t, '{:.1f} tweets/s')} | "
      f"{fmt(r, '{:.1f} tweets/s')} | {fmt(o / t if o and t else None, '{:.2f}x')} | {fmt(o / r if o and r else None, '{:.2f}x')} | "
      f"{pct(tp_flops, sec(o))} / {pct(tp_flops, sec(t))} / {pct(tp_flops, sec(r))} |")
o, r = med("bert-emotion", "load", "median_ms"), med("onnxruntime", "load", "median_ms")
print(f"| model load | {fmt(o, '{:.0f} ms')} | n/m | {fmt(r, '{:.0f} ms')} | - | {fmt(r / o if o and r else None, '{:.1f}x')} | - |")
e = med("bert-emotion", "eval", "tweets_per_s")
print(f"| evaluation, 374 validation tweets, batch 4 | {fmt(e, '{:.1f} tweets/s')} | - | - | - | - | - |")
for what, label in (("train", "peak RSS, training"), ("latency", "peak RSS, latency"),
                    ("throughput_sorted", "peak RSS, throughput")):
    o, t, r = (med(e, what, "peak_rss_mb") for e in ("bert-emotion", "pytorch", "onnxruntime"))
    print(f"| {label} | {fmt(o, '{:.0f} MB')} | {fmt(t, '{:.0f} MB')} | {fmt(r, '{:.0f} MB')} | "
          f"{fmt(t / o if o and t else None, '{:.2f}x less')} | {fmt(r / o if o and r else None, '{:.2f}x less')} | - |")
PYEOF

# --- other families (bench/families.sh): BERT and RoBERTa rows, and DistilBERT's again per family ---
if [ "$FAMILIES" != distilbert ]; then
  ROOT="$ROOT" SHARED="$SHARED" BUILD="$BUILD" WORK="$WORK" REPEATS="$REPEATS" PY="$PY" RESULTS="$RESULTS" \
    ORT_DIR="$ORT_DIR" LENGTHS="$LENGTHS" FAMILIES="$FAMILIES" "$ROOT/bench/families.sh"
fi
