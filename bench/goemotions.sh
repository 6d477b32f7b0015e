#!/usr/bin/env bash
# goemotions.sh — issue 15's benchmark: a full GoEmotions fine-tune at base size, projected from
# measured steps, bert-emotion vs PyTorch in the same run.
#
#   bench/goemotions.sh                       FAMILIES="distilbert roberta" STEPS=20 WARMUP=3 BATCH=4
#   BUILD=build-bench WORK=/tmp/ge bench/goemotions.sh
#
# For each family a random base-size model (`bert-emotion init --config base|roberta-base`, 28
# labels from labels.txt; the same directory is the starting point of both engines) is fine-tuned
# on ../shared/data/goemotions/train.tsv (43,410 comments) as a multi-label task (BCE with logits),
# the main job's recipe: batch 4, lr 5e-5, AdamW, linear schedule, dropout on, clip 1.0, 3 epochs.
#   ours:    bert-emotion train --data go_emotions --problem-type multi_label_classification
#            --order ORDER --max-steps W+S --logging-steps 1 --eval-strategy no
#   PyTorch: ../shared/reference/train.py (the HF Trainer's step restated in plain PyTorch) on the
#            reference tokenizer's ids of the same texts (wordpiece.py / bpe.py), same ORDER
# Both replay one example order (ORDER: numpy RandomState(42) permutations, train.py's own), so
# they see the very same batches. bench/step_timer.py stamps each engine's per-step progress line,
# drops WARMUP steps, times the next STEPS and kills the run; the full fine-tune is projected as
# median step x 3 x ceil(43410 / BATCH). 2 threads each, OMP_WAIT_POLICY=PASSIVE, one engine at a time.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
BUILD="${BUILD:-$ROOT/build}"
WORK="${WORK:-/tmp/bert-emotion-goemotions-bench}"
FAMILIES="${FAMILIES:-distilbert roberta}"
STEPS="${STEPS:-20}"
WARMUP="${WARMUP:-3}"
BATCH="${BATCH:-4}"
EPOCHS=3
PY=/usr/bin/python3
G="$SHARED/data/goemotions"
B="$BUILD/bert-emotion"
R="$SHARED/reference"
mkdir -p "$WORK"
[ -x "$B" ] || { echo "goemotions.sh: $B not built (cmake --build $BUILD --target bert-emotion)" >&2; exit 1; }

# The texts and label-id lists of train.tsv, in file order (train.py's inputs), and the order.
cut -f1 "$G/train.tsv" > "$WORK/train_text.txt"
cut -f2 "$G/train.tsv" > "$WORK/train_labels.txt"
N=$(wc -l < "$G/train.tsv")
TOTAL=$((EPOCHS * ((N + BATCH - 1) / BATCH)))
$PY - "$N" "$EPOCHS" "$WORK/order.txt" <<'EOF'
import sys, numpy as np
n, epochs, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = np.random.RandomState(42)
with open(out, "w") as f:
    for _ in range(epochs):
        f.write(" ".join(map(str, rng.permutation(n).tolist())) + "\n")
EOF
LABELS=$(paste -sd, "$G/labels.txt")

export OMP_WAIT_POLICY=PASSIVE
unset OMP_NUM_THREADS GOMP_SPINCOUNT OPENBLAS_NUM_THREADS
RESULTS="$WORK/results.jsonl"
: > "$RESULTS"
echo "goemotions.sh: $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg), $N examples, batch $BATCH, $TOTAL steps in $EPOCHS epochs" >&2
for fam in $FAMILIES; do
  case "$fam" in
    distilbert) preset=base; tok="$SHARED/models/distilbert-base-cased"
                ids=(wordpiece.py --vocab "$tok/vocab.txt") ;;
    roberta)    preset=roberta-base; tok="$SHARED/models/roberta-bpe-test"
                ids=(bpe.py --tokenizer "$tok") ;;
    *) echo "goemotions.sh: unknown family $fam (distilbert, roberta)" >&2; exit 1 ;;
  esac
  MODEL="$WORK/$fam-init"
  [ -f "$MODEL/model.safetensors" ] || "$B" init --config "$preset" --tokenizer "$tok" --labels "$LABELS" \
    --out "$MODEL" --seed 0 >/dev/null
  [ -f "$WORK/$fam-ids.jsonl" ] || $PY "$R/${ids[0]}" "${ids[@]:1}" --text "$WORK/train_text.txt" --out "$WORK/$fam-ids.jsonl"
  rm -rf "$WORK/$fam-ours" "$WORK/$fam-torch"
  BERT_EMOTION_GOEMOTIONS_DIR="$G" $PY "$ROOT/bench/step_timer.py" --engine bert-emotion --warmup "$WARMUP" \
    --steps "$STEPS" --total-steps "$TOTAL" --log "$WORK/$fam-ours.log" -- \
    "$B" train --model "$MODEL" --data go_emotions --output-dir "$WORK/$fam-ours" \
    --problem-type multi_label_classification --per-device-train-batch-size "$BATCH" --learning-rate 5e-5 \
    --num-train-epochs "$EPOCHS" --max-steps $((WARMUP + STEPS)) --order "$WORK/order.txt" --logging-steps 1 \
    --eval-strategy no --save-strategy no --threads 2 --no-plots |
    $PY -c 'import json,sys; r=json.loads(sys.stdin.read()); r["family"]=sys.argv[1]; print(json.dumps(r))' "$fam" |
    tee -a "$RESULTS"
  $PY "$ROOT/bench/step_timer.py" --engine pytorch --warmup "$WARMUP" --steps "$STEPS" --total-steps "$TOTAL" \
    --log "$WORK/$fam-torch.log" -- \
    $PY "$R/train.py" --model "$MODEL" --train-ids "$WORK/$fam-ids.jsonl" --train-labels "$WORK/train_labels.txt" \
    --out "$WORK/$fam-torch" --problem-type multi_label_classification --batch-size "$BATCH" --lr 5e-5 \
    --epochs "$EPOCHS" --max-steps $((WARMUP + STEPS)) --order "$WORK/order.txt" --threads 2 |
    $PY -c 'import json,sys; r=json.loads(sys.stdin.read()); r["family"]=sys.argv[1]; print(json.dumps(r))' "$fam" |
    tee -a "$RESULTS"
done

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
$PY - "$RESULTS" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {(r["family"], r["engine"]): r for r in rows}
print("| model | measured steps | ours, median step | PyTorch, median step | ours, 3 epochs projected | PyTorch, 3 epochs projected | speed-up |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for fam in dict.fromkeys(r["family"] for r in rows):
    o, t = by.get((fam, "bert-emotion")), by.get((fam, "pytorch"))
    if not o or not t:
        continue
    h = lambda s: "%.1f h" % (s / 3600)
    print("| %s (padded len %.1f) | %d after %d | %.3f s | %.3f s | %s | %s | %.2fx |" % (
        fam, t.get("padded_len_mean", float("nan")), o["steps_measured"], o["warmup"], o["step_median_s"],
        t["step_median_s"], h(o["projected_full_run_s_median"]), h(t["projected_full_run_s_median"]),
        t["step_median_s"] / o["step_median_s"]))
EOF
