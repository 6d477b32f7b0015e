#!/usr/bin/env bash
# families.sh — the BERT and RoBERTa rows of bench/run.sh (FAMILIES=distilbert,bert,roberta): batch-1
# latency and batch-32 throughput of a random bert-base / roberta-base classifier, bert-emotion vs
# PyTorch vs ONNX Runtime in the same run, on the token counts of the DistilBERT rows (the WordPiece
# lengths of the 1421 TweetEval emotion test tweets, $LENGTHS) so that the families differ by
# architecture only (RoBERTa's byte-level BPE would give other lengths; speed does not depend on ids).
#
#   FAMILIES=bert,roberta bench/run.sh          (run.sh calls this with its environment: ROOT SHARED
#                                                BUILD WORK REPEATS PY RESULTS ORT_DIR LENGTHS FAMILIES)
#   ours     inference_bench latency | throughput --sorted --lengths $LENGTHS on
#            `bert-emotion init --config bert-base|roberta-base` (random weights)
#   PyTorch  bench/torch_peer.py: ../shared/reference/bench.py's measurements on bert.py's model
#   ORT      bench/ort_peer.mjs on bench/export_onnx_family.py's export of that same model
# Each measurement in a fresh process, engines interleaved REPEATS times, 2 threads, the same
# OpenMP settings as run.sh (GOMP_SPINCOUNT printed with the table). WHAT=latency: latency rows only. Prints a Markdown table, a row per family and measurement (DistilBERT's
# from run.sh's own results), % of the 195 GFLOP/s FP32 peak from each family's forward FLOPs.
set -euo pipefail
: "${ROOT:?} ${SHARED:?} ${BUILD:?} ${WORK:?} ${REPEATS:?} ${PY:?} ${RESULTS:?} ${ORT_DIR:?} ${LENGTHS:?} ${FAMILIES:?}"
REFERENCE="$SHARED/reference"
families=()
for f in ${FAMILIES//,/ }; do
  case "$f" in
    distilbert) ;;  # run.sh's own rows
    bert|roberta) families+=("$f") ;;
    *) echo "families.sh: unknown family '$f' (expected distilbert, bert, roberta)" >&2; exit 2 ;;
  esac
done

for f in "${families[@]}"; do
  tokenizer="$SHARED/models/distilbert-base-cased"
  [ "$f" = roberta ] && tokenizer="$SHARED/models/roberta-bpe-test"
  [ -f "$WORK/$f-base/model.safetensors" ] || "$BUILD/bert-emotion" init --config "$f-base" --out "$WORK/$f-base" \
    --seed 0 --tokenizer "$tokenizer" >/dev/null
  if [ "${SKIP_ORT:-0}" != 1 ] && [ ! -f "$ORT_DIR/$f-cls.onnx" ]; then
    $PY "$ROOT/bench/export_onnx_family.py" --family "$f" --reference "$REFERENCE" "$ORT_DIR/$f-cls.onnx" >/dev/null 2>&1
  fi
done

tag() { $PY -c 'import json,sys; r=json.loads(sys.stdin.read().strip().splitlines()[-1]); r["engine"], r["family"] = sys.argv[1:3]; print(json.dumps(r))' "$1" "$2"; }
ours() { "$BUILD/bench/inference_bench" "$2" --model "$WORK/$1-base" --lengths "$LENGTHS" --threads 2 "${@:3}" | tag bert-emotion "$1" | tee -a "$RESULTS"; }
torch() { [ "${SKIP_TORCH:-0}" = 1 ] || env -u GOMP_SPINCOUNT $PY "$ROOT/bench/torch_peer.py" --family "$1" --reference "$REFERENCE" \
  "${@:2}" --threads 2 | tag pytorch "$1" | tee -a "$RESULTS"; }
ort() { [ "${SKIP_ORT:-0}" = 1 ] || node "$ROOT/bench/ort_peer.mjs" "$ORT_DIR" "$ORT_DIR/$1-cls.onnx" "$LENGTHS" "$2" --threads 2 \
  | tag onnxruntime "$1" | tee -a "$RESULTS"; }

for rep in $(seq 1 "$REPEATS"); do
  for f in "${families[@]}"; do
    ours "$f" latency
    torch "$f" latency --seed "$rep"
    ort "$f" latency
    [ "${WHAT:-all}" = latency ] && continue
    ours "$f" throughput --sorted
    torch "$f" throughput --sorted --seed "$rep"
    ort "$f" throughput
  done
done

$PY - "$RESULTS" "$REPEATS" "$LENGTHS" "$FAMILIES" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
lengths = json.load(open(sys.argv[3]))
PEAK = 195e9
LAYERS = {"distilbert": 6, "bert": 12, "roberta": 12}
NAMES = {"distilbert": "DistilBERT (distilbert-base-cased)", "bert": "BERT (bert-base)", "roberta": "RoBERTa (roberta-base)"}
# per layer: Q,K,V,O 8 H^2 L + FFN 4 H F L (H 768, F 3072) + scores and context 4 H L^2; + ~1.2 M for the head
def fwd(family, L): return LAYERS[family] * (14_155_776 * L + 3_072 * L * L) + 1.2e6
def med(family, engine, what, key):
    v = [r[key] for r in rows if r["engine"] == engine and r["what"] == what and key in r
         and r.get("family", "distilbert") == family]
    return statistics.median(v) if v else None
def fmt(v, f): return "n/m" if v is None else f.format(v)
def pct(fl, sec): return "n/m" if not sec else f"{100 * fl / sec / PEAK:.0f}%"
s = sorted(lengths)
lat_L = int(statistics.median(lengths))
engines = ("bert-emotion", "pytorch", "onnxruntime")
import os
print(f"\nper family: medians of {sys.argv[2]} fresh processes per cell, 2 threads, OMP_WAIT_POLICY=PASSIVE "
      f"(+ GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT')} for bert-emotion); % = nominal FLOPs / time / "
      f"{PEAK/1e9:.0f} GFLOP/s\n")
print("| family | measurement | bert-emotion | PyTorch | ONNX Runtime | vs PyTorch | vs ORT | % peak ours / PyTorch / ORT |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for fam in sys.argv[4].split(","):
    if not any(r.get("family", "distilbert") == fam for r in rows):
        continue
    o, t, r = (med(fam, e, "latency", "median_ms") for e in engines)
    fl = fwd(fam, lat_L)
    print(f"| {NAMES[fam]} | batch-1 latency, {lat_L}-token tweet | {fmt(o, '{:.1f} ms')} | {fmt(t, '{:.1f} ms')} | "
          f"{fmt(r, '{:.1f} ms')} | {fmt(t / o if o and t else None, '{:.2f}x')} | {fmt(r / o if o and r else None, '{:.2f}x')} | "
          f"{pct(fl, o and o / 1e3)} / {pct(fl, t and t / 1e3)} / {pct(fl, r and r / 1e3)} |")
    o, t, r = (med(fam, e, "throughput_sorted", "tweets_per_s") for e in engines)
    if (o, t, r) == (None, None, None):
        continue
    fl = sum(len(s[i:i + 32]) * fwd(fam, max(s[i:i + 32])) for i in range(0, len(s), 32))
    sec = lambda tps: tps and len(lengths) / tps
    print(f"| {NAMES[fam]} | throughput, {len(lengths)} tweets, batch 32 sorted | {fmt(o, '{:.1f} tweets/s')} | "
          f"{fmt(t, '{:.1f} tweets/s')} | {fmt(r, '{:.1f} tweets/s')} | {fmt(o / t if o and t else None, '{:.2f}x')} | "
          f"{fmt(o / r if o and r else None, '{:.2f}x')} | {pct(fl, sec(o))} / {pct(fl, sec(t))} / {pct(fl, sec(r))} |")
PYEOF
