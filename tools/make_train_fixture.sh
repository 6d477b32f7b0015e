#!/usr/bin/env bash
# make_train_fixture.sh — regenerates tests/fixtures/train/ from the PyTorch reference.
#
#   tools/make_train_fixture.sh            # run from the repository root; needs /usr/bin/python3 + torch
#
# Writes:
#   adamw.json          torch.optim.AdamW + clip_grad_norm_ + linear warmup/decay on three small tensors
#                       (a decayed weight, a no-decay bias, a second decayed weight), 6 steps, with the
#                       parameters, moments and pre-clip norms after every step.
#   traj/init/          a random tiny DistilBERT (vocab 1000, dim 32, 2 layers; config.json + model.safetensors)
#   traj/train.jsonl    38 random token-id sequences ([CLS]=101 ... [SEP]=102, ids < 1000), labels in 0..3
#   traj/eval.jsonl     12 more, for the per-epoch evaluation
#   traj/order.txt      the example order train.py drew (numpy RandomState(42)), replayed with --order
#   traj/ref/           train.py's log.jsonl and final model.safetensors
#                       (lr 1e-3, 5 warmup steps, weight decay 0.01, clip 0.45, batch 4, 5 epochs = 50 steps,
#                       dropout off)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REF=${REF:-$ROOT/../shared/reference}
OUT=$ROOT/tests/fixtures/train
PY=/usr/bin/python3
source "$ROOT/tools/reference_training.sh"
mkdir -p "$OUT"

# ---- AdamW / clipping / schedule on small tensors -------------------------------------------------
$PY - "$OUT/adamw.json" <<'PYEOF'
import json, math, sys
import torch
torch.manual_seed(7)
shapes = {"w": (5, 3), "b": (3,), "u": (7,)}
params = {k: torch.nn.Parameter(torch.randn(*s)) for k, s in shapes.items()}
init = {k: p.detach().clone() for k, p in params.items()}
lr, wd, max_norm, warmup, total = 0.01, 0.05, 3.0, 2, 6
opt = torch.optim.AdamW([{"params": [params["w"], params["u"]], "weight_decay": wd},
                         {"params": [params["b"]], "weight_decay": 0.0}],
                        lr=lr, betas=(0.9, 0.98), eps=1e-6, weight_decay=wd)
def sched(step):
    if step < warmup:
        return float(step) / float(max(1, warmup))
    return max(0.0, float(total - step) / float(max(1, total - warmup)))
steps = []
for k in range(total):
    grads = {n: (torch.randn(*shapes[n]) * (0.3 + k)).float() for n in shapes}
    for n, p in params.items():
        p.grad = grads[n].clone()
    cur = lr * sched(k)
    for g in opt.param_groups:
        g["lr"] = cur
    norm = torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm)
    opt.step()
    rec = {"lr": cur, "grad": {n: grads[n].flatten().tolist() for n in shapes},
           "clipped_grad": {n: params[n].grad.flatten().tolist() for n in shapes},
           "norm": norm.item(),
           "param": {n: params[n].detach().flatten().tolist() for n in shapes},
           "exp_avg": {n: opt.state[params[n]]["exp_avg"].flatten().tolist() for n in shapes},
           "exp_avg_sq": {n: opt.state[params[n]]["exp_avg_sq"].flatten().tolist() for n in shapes}}
    steps.append(rec)
out = {"generator": "tools/make_train_fixture.sh (torch %s)" % torch.__version__,
       "lr": lr, "weight_decay": wd, "betas": [0.9, 0.98], "eps": 1e-6, "max_grad_norm": max_norm,
       "warmup_steps": warmup, "total_steps": total,
       "order": ["w", "b", "u"], "no_decay": {"w": False, "b": True, "u": False},
       "shapes": {n: list(s) for n, s in shapes.items()},
       "init": {n: init[n].flatten().tolist() for n in shapes}, "steps": steps}
with open(sys.argv[1], "w") as f:
    json.dump(out, f)
PYEOF

# ---- training trajectory -------------------------------------------------------------------------
T=$OUT/traj
rm -rf "$T"; mkdir -p "$T"
$PY "$REF/make_model.py" --config '{"vocab_size": 1000, "max_position_embeddings": 64, "n_layers": 2, "n_heads": 2, "dim": 32, "hidden_dim": 64, "dropout": 0.0, "attention_dropout": 0.0, "seq_classif_dropout": 0.0}' \
  --out "$T/init" --seed 3 --tokenizer-dir /nonexistent >/dev/null
$PY - "$T" <<'PYEOF'
import random, sys, json
random.seed(11)
def make(n, path_ids, path_labels):
    with open(path_ids, "w") as f, open(path_labels, "w") as g:
        for _ in range(n):
            L = random.randint(1, 18)
            ids = [101] + [random.randint(103, 999) for _ in range(L)] + [102]
            f.write(json.dumps(ids) + "\n")
            g.write("%d\n" % random.randint(0, 3))
make(38, sys.argv[1] + "/train.jsonl", sys.argv[1] + "/train_labels.txt")
make(12, sys.argv[1] + "/eval.jsonl", sys.argv[1] + "/eval_labels.txt")
PYEOF
reference_train "$T/ref" --model "$T/init" --train-ids "$T/train.jsonl" --train-labels "$T/train_labels.txt" \
  --eval-ids "$T/eval.jsonl" --eval-labels "$T/eval_labels.txt"
mv "$T/ref/order.txt" "$T/order.txt"
rm -f "$T/ref/config.json"
echo "wrote $OUT"
