#!/usr/bin/env bash
# dtype_accuracy.sh — issue 16's "Accuracy" check on a model fine-tuned here: how far --dtype int8
# (and bf16, where the binary has it) moves the predictions of a trained model from FP32's.
#
#   bench/dtype_accuracy.sh            EPOCHS=6 BATCH=32 LR=3e-4 CONFIG='{"dim":256,...}' DTYPES="f32 int8 bf16"
#   BUILD=build-bench WORK=/tmp/acc bench/dtype_accuracy.sh
#
# No pretrained weights can be downloaded here, so the model is a small DistilBERT-layout `init`
# (default 4 layers, hidden 256, 4 heads, FFN 1024; the distilbert-base-cased tokenizer by path)
# fine-tuned with the CLI on TweetEval emotion for EPOCHS epochs (a bounded time: about 10 minutes
# on the busy 2-core machine). Then, for each dtype, `predict --logits` on the 1421 test tweets and
# `eval --predictions` of that file; a dtype the binary refuses is reported as skipped. Printed:
# agreement of the predicted label with FP32's, macro-F1 and its change in points, and the
# max / mean absolute logit error against FP32 (with the largest |logit| for scale).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
BUILD="${BUILD:-$ROOT/build}"
WORK="${WORK:-/tmp/bert-emotion-dtype-accuracy}"
SMALL='{"dim":256,"n_layers":4,"n_heads":4,"hidden_dim":1024}'
CONFIG="${CONFIG:-$SMALL}"
EPOCHS="${EPOCHS:-6}"
BATCH="${BATCH:-32}"
LR="${LR:-3e-4}"
SEED="${SEED:-42}"
DTYPES="${DTYPES:-f32 int8 bf16}"
PY=/usr/bin/python3
B="$BUILD/bert-emotion"
E="$SHARED/data/tweeteval/datasets/emotion"
[ -x "$B" ] || { echo "dtype_accuracy.sh: $B not built (cmake --build $BUILD --target bert-emotion)" >&2; exit 1; }
mkdir -p "$WORK"
export BERT_EMOTION_DATA_DIR="$SHARED/data"

MODEL="$WORK/model"
if [ ! -f "$MODEL/model.safetensors" ]; then
  rm -rf "$WORK/init" "$MODEL"
  "$B" init --config "$CONFIG" --tokenizer "$SHARED/models/distilbert-base-cased" \
    --labels "$(cut -f2 "$E/mapping.txt" | paste -sd,)" --out "$WORK/init" --seed "$SEED" >/dev/null
  start=$(date +%s)
  "$B" train --model "$WORK/init" --data tweet_eval/emotion --output-dir "$MODEL" --num-train-epochs "$EPOCHS" \
    --per-device-train-batch-size "$BATCH" --learning-rate "$LR" --warmup-ratio 0.1 --seed "$SEED" \
    --eval-strategy epoch --save-strategy no --threads 2 --no-plots --logging-steps 100 >&2
  echo "dtype_accuracy.sh: trained $EPOCHS epochs in $(( $(date +%s) - start )) s" >&2
fi

RESULTS="$WORK/results.jsonl"
: > "$RESULTS"
for d in $DTYPES; do
  if ! "$B" predict --model "$MODEL" --input "$E/test_text.txt" --format jsonl --logits --dtype "$d" --threads 2 \
       > "$WORK/pred_$d.jsonl" 2> "$WORK/pred_$d.err"; then
    echo "{\"dtype\": \"$d\", \"skipped\": $(head -c 300 "$WORK/pred_$d.err" | $PY -c 'import json,sys; print(json.dumps(sys.stdin.read().strip()))')}" |
      tee -a "$RESULTS"
    continue
  fi
  "$B" eval --predictions "$WORK/pred_$d.jsonl" --data tweet_eval/emotion --split test \
    --output "$WORK/eval_$d.json" > /dev/null
  echo "{\"dtype\": \"$d\", \"predictions\": \"$WORK/pred_$d.jsonl\", \"eval\": \"$WORK/eval_$d.json\"}" >> "$RESULTS"
done

$PY - "$RESULTS" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def load(path):
    return [json.loads(l) for l in open(path) if l.strip()]
ref = next((r for r in rows if r["dtype"] == "f32" and "predictions" in r), None)
if ref is None:
    sys.exit("dtype_accuracy.sh: no f32 predictions to compare with")
base = load(ref["predictions"])
base_f1 = json.load(open(ref["eval"]))["eval_f1"]
scale = max(abs(v) for p in base for v in p["logits"])
print("| dtype | label agrees with FP32 | macro-F1 | change | max abs logit error | mean abs logit error |")
print("| --- | --- | --- | --- | --- | --- |")
for r in rows:
    if "skipped" in r:
        print("| %s | skipped: %s | | | | |" % (r["dtype"], r["skipped"].splitlines()[0] if r["skipped"] else "refused"))
        continue
    preds = load(r["predictions"])
    assert len(preds) == len(base), (r["dtype"], len(preds), len(base))
    agree = sum(p["label"] == q["label"] for p, q in zip(preds, base))
    errs = [abs(a - b) for p, q in zip(preds, base) for a, b in zip(p["logits"], q["logits"])]
    f1 = json.load(open(r["eval"]))["eval_f1"]
    print("| %s | %d / %d (%.2f%%) | %.4f | %+.2f points | %.4f | %.5f |" % (
        r["dtype"], agree, len(base), 100.0 * agree / len(base), f1, 100.0 * (f1 - base_f1), max(errs),
        sum(errs) / len(errs)))
print("\nlargest |logit| of FP32 on these tweets: %.3f" % scale)
EOF
