#!/usr/bin/env bash
# reference_training.sh — sourced by the fixture scripts: ../shared/reference/train.py's run with the
# trajectory recipe every training fixture uses (5 epochs of batch 4, eval batch 8, lr 1e-3 with 5
# warmup steps, weight decay 0.01, clip 0.45, seed 42, dropout off, one thread), then its log.jsonl
# without the wall-clock "seconds", so that regenerating gives identical files.
#
#   source "$ROOT/tools/reference_training.sh"
#   reference_train "$T/ref" --model "$T/init" --train-ids ... --train-labels ... [--eval-ids ... --order ...]
#   strip_log_timings "$OUT/log.jsonl"     # for a run of train.py made otherwise
# Needs REF (the reference folder) and PY (/usr/bin/python3 with torch).
reference_train() {
  local out=$1
  shift
  "$PY" "$REF/train.py" "$@" --out "$out" --dropout off \
    --epochs 5 --batch-size 4 --eval-batch-size 8 --lr 1e-3 --warmup-steps 5 --weight-decay 0.01 \
    --max-grad-norm 0.45 --seed 42 --threads 1 --quiet
  strip_log_timings "$out/log.jsonl"
}

# strip_log_timings LOG: train.py's log.jsonl without the wall-clock "seconds" of each record.
strip_log_timings() {
  "$PY" - "$1" <<'PYEOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
with open(sys.argv[1], "w") as f:
    for r in recs:
        r.pop("seconds", None)
        f.write(json.dumps(r) + "\n")
PYEOF
}
