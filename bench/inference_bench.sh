#!/usr/bin/env bash
# inference_bench.sh — inference speed of bert-emotion vs PyTorch on the same machine, same run.
#
#   bench/inference_bench.sh [BUILD_DIR]          (default: build)   REPEATS=3 by default
#
# On a random base-size model (`bert-emotion init --config base`, distilbert-base-cased shape;
# speed does not depend on the weights) and the real TweetEval emotion test tweets, measures
#   latency    batch 1, the median-length test tweet (27 tokens), median of 100 calls
#   throughput the 1421 test tweets at batch 32, in file order and sorted by length
#   classify   (ours only) the end-to-end Classifier::classify call, tokenization included
# for bert-emotion (bench/inference_bench.cpp) and for PyTorch (../shared/reference/bench.py,
# torch.set_num_threads(2)), each measurement in a fresh process, the two engines interleaved
# REPEATS times, both with 2 threads and OMP_WAIT_POLICY=PASSIVE GOMP_SPINCOUNT=10000 (on a shared 2-core machine a
# spinning OpenMP runtime is 3-100x slower for either engine). Prints every JSON line, then the
# medians and the ratios (PyTorch time / ours) as a Markdown table for docs/PERFORMANCE.md.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
SHARED="$ROOT/../shared"
REPEATS="${REPEATS:-3}"
PY=/usr/bin/python3

cmake --build "$BUILD" --target bert-emotion inference_bench >/dev/null
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
"$BUILD/bert-emotion" init --config base --out "$WORK/base" --seed 0 \
  --tokenizer "$SHARED/models/distilbert-base-cased" >/dev/null

unset OMP_NUM_THREADS GOMP_SPINCOUNT OPENBLAS_NUM_THREADS
export OMP_WAIT_POLICY=PASSIVE GOMP_SPINCOUNT=10000   # the CLI's choice on an idle machine (src/util/openmp_waits.hpp)
OURS=("$BUILD/bench/inference_bench")
TORCH=(env -u GOMP_SPINCOUNT "$PY" "$SHARED/reference/bench.py")   # PyTorch: plain PASSIVE, its faster setting
RESULTS="${RESULTS:-$WORK/results.jsonl}"   # set RESULTS=FILE to keep the raw lines

tag() { $PY -c 'import json,sys; r=json.loads(sys.stdin.read().strip().splitlines()[-1]); r["engine"]=sys.argv[1]; print(json.dumps(r))' "$1"; }

for rep in $(seq 1 "$REPEATS"); do
  "${OURS[@]}" latency --model "$WORK/base" --threads 2 | tag bert-emotion | tee -a "$RESULTS"
  "${TORCH[@]}" latency --seed "$rep" --threads 2 | tag pytorch | tee -a "$RESULTS"
  "${OURS[@]}" throughput --model "$WORK/base" --threads 2 | tag bert-emotion | tee -a "$RESULTS"
  "${TORCH[@]}" throughput --seed "$rep" --threads 2 | tag pytorch | tee -a "$RESULTS"
  "${OURS[@]}" throughput --sorted --model "$WORK/base" --threads 2 | tag bert-emotion | tee -a "$RESULTS"
  "${TORCH[@]}" throughput --sorted --seed "$rep" --threads 2 | tag pytorch | tee -a "$RESULTS"
  "${OURS[@]}" classify --model "$WORK/base" --threads 2 | tag bert-emotion | tee -a "$RESULTS"
done

$PY - "$RESULTS" "$REPEATS" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(engine, what, key):
    v = [r[key] for r in rows if r["engine"] == engine and r["what"] == what]
    return statistics.median(v) if v else None
print()
print(f"medians of {sys.argv[2]} fresh processes per cell, 2 threads, OMP_WAIT_POLICY=PASSIVE (+ GOMP_SPINCOUNT=10000 for bert-emotion)")
print()
print("| measurement | bert-emotion | PyTorch | speed-up (PyTorch time / ours) | peak RSS ours / PyTorch (MB) |")
print("| --- | --- | --- | --- | --- |")
lat_o, lat_t = med("bert-emotion", "latency", "median_ms"), med("pytorch", "latency", "median_ms")
print(f"| batch-1 latency, 27-token tweet | {lat_o:.1f} ms | {lat_t:.1f} ms | {lat_t / lat_o:.2f}x "
      f"| {med('bert-emotion', 'latency', 'peak_rss_mb'):.0f} / {med('pytorch', 'latency', 'peak_rss_mb'):.0f} |")
for what, label in (("throughput_in_order", "batch-32 throughput, file order"),
                    ("throughput_sorted", "batch-32 throughput, sorted by length")):
    o, t = med("bert-emotion", what, "tweets_per_s"), med("pytorch", what, "tweets_per_s")
    print(f"| {label} | {o:.1f} tweets/s | {t:.1f} tweets/s | {o / t:.2f}x "
          f"| {med('bert-emotion', what, 'peak_rss_mb'):.0f} / {med('pytorch', what, 'peak_rss_mb'):.0f} |")
c = med("bert-emotion", "classify_end_to_end", "tweets_per_s")
t = med("pytorch", "throughput_sorted", "tweets_per_s")
print(f"| Classifier::classify end to end (tokenize + sort + batch 32) | {c:.1f} tweets/s | "
      f"{t:.1f} tweets/s (sorted, pre-tokenized) | {c / t:.2f}x "
      f"| {med('bert-emotion', 'classify_end_to_end', 'peak_rss_mb'):.0f} / - |")
PYEOF
