#!/usr/bin/env bash
# make_bf16_train_fixture.sh — regenerates tests/fixtures/train/traj_bf16/ from the PyTorch reference:
# ../shared/reference/train.py on the traj fixture (tests/fixtures/train/traj: its init model, data
# and order; lr 1e-3, warmup 5, weight decay 0.01, clip 0.45, batch 4, dropout off), 2 epochs
# (20 steps), with the model's forward and loss under torch.autocast("cpu", torch.bfloat16) and the
# backward outside it — what the Trainer's bf16=True does. train.py has no bf16 option, so this
# wraps the model it loads (bert.load_any_model) instead of changing it.
#
#   tools/make_bf16_train_fixture.sh       # from the repository root; needs /usr/bin/python3 + torch
#
# Writes traj_bf16/ref/log.jsonl (per-step loss, lr, grad_norm; per-epoch eval; no timings) and
# traj_bf16/ref/model.safetensors (the final FP32 master weights).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REF=${REF:-$ROOT/../shared/reference}
T=$ROOT/tests/fixtures/train/traj
OUT=$ROOT/tests/fixtures/train/traj_bf16
PY=/usr/bin/python3
rm -rf "$OUT"; mkdir -p "$OUT"
$PY - "$REF" --model "$T/init" --train-ids "$T/train.jsonl" --train-labels "$T/train_labels.txt" \
  --eval-ids "$T/eval.jsonl" --eval-labels "$T/eval_labels.txt" --order "$T/order.txt" --out "$OUT/ref" \
  --dropout off --epochs 2 --batch-size 4 --eval-batch-size 8 --lr 1e-3 --warmup-steps 5 --weight-decay 0.01 \
  --max-grad-norm 0.45 --seed 42 --threads 1 --quiet <<'PYEOF'
import runpy, sys
import torch
ref = sys.argv[1]
sys.path.insert(0, ref)
import bert  # the reference's loader, which train.py calls through this module

load = bert.load_any_model
def load_autocast(path):
    model = load(path)
    forward = model.forward
    def autocast_forward(*args, **kwargs):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return forward(*args, **kwargs)
    model.forward = autocast_forward
    return model
bert.load_any_model = load_autocast
sys.argv = [ref + "/train.py"] + sys.argv[2:]
runpy.run_path(ref + "/train.py", run_name="__main__")
PYEOF
source "$ROOT/tools/reference_training.sh"
strip_log_timings "$OUT/ref/log.jsonl"
rm -f "$OUT/ref/config.json" "$OUT/ref/order.txt"
echo "wrote $OUT"
