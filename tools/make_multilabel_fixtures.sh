#!/usr/bin/env bash
# make_multilabel_fixtures.sh — regenerates tests/fixtures/multilabel/ (multi-label classification).
#
#   tools/make_multilabel_fixtures.sh     # from the repository root; needs /usr/bin/python3 with
#                                         # Debian's python3-sklearn and python3-torch
# Writes:
#   metrics.json    random multi-hot y_true / y_pred and scores (8 cases, some with an all-zero or
#                   all-one label column, some with empty rows) and scikit-learn 's
#                   precision_recall_fscore_support (None/micro/macro/weighted/samples, zero_division=0),
#                   accuracy_score, hamming_loss, roc_auc_score per label (None where undefined) and
#                   classification_report text (digits 2 and 4); plus threshold-tuning cases whose
#                   expected thresholds come from an independent re-implementation of the documented
#                   rule (src/data/thresholds.hpp: grid 0.05..0.95, best per-label F1, ties nearest 0.5).
#   bce.json        torch binary_cross_entropy_with_logits (mean) and its gradient on 3 x 5 logits.
#   traj/           train.py --problem-type multi_label_classification on the single-label trajectory
#                   fixture's model, ids and order (tests/fixtures/train/traj) with random label sets:
#                   train_labels.txt / eval_labels.txt ("2,0" per line), ref/log.jsonl, ref/model.safetensors.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REF=${REF:-$ROOT/../shared/reference}
OUT=$ROOT/tests/fixtures/multilabel
SRC=$ROOT/tests/fixtures/train/traj
PY=/usr/bin/python3
source "$ROOT/tools/reference_training.sh"
mkdir -p "$OUT"

$PY - "$OUT/metrics.json" <<'PYEOF'
import json, sys
import numpy as np
import sklearn
from sklearn.metrics import (precision_recall_fscore_support, accuracy_score, hamming_loss, roc_auc_score,
                             classification_report)
rng = np.random.RandomState(5)
cases = []
for c in range(8):
    N, K = int(rng.randint(3, 25)), int(rng.randint(2, 7))
    y_true = (rng.rand(N, K) < 0.35).astype(int)
    scores = np.round(rng.rand(N, K), 2)  # rounding makes ties
    y_pred = (scores > 0.5).astype(int)
    if c % 3 == 0: y_true[:, 0] = 0       # a label nobody has: AUC undefined
    if c % 4 == 1: y_true[:, -1] = 1      # a label everybody has
    if c % 2 == 0: y_pred[0, :] = 0; y_true[0, :] = 0  # an empty row
    names = ["lab%d" % k for k in range(K)]
    case = {"y_true": y_true.tolist(), "y_pred": y_pred.tolist(), "scores": scores.tolist(), "names": names}
    for avg in [None, "micro", "macro", "weighted", "samples"]:
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average=avg, zero_division=0)
        key = avg or "per_label"
        case[key] = {"precision": np.asarray(p).tolist(), "recall": np.asarray(r).tolist(), "f1": np.asarray(f).tolist()}
    case["subset_accuracy"] = accuracy_score(y_true, y_pred)
    case["hamming_loss"] = hamming_loss(y_true, y_pred)
    aucs = []
    for k in range(K):
        col = y_true[:, k]
        aucs.append(None if col.min() == col.max() else roc_auc_score(col, scores[:, k]))
    case["roc_auc"] = aucs
    for d in (2, 4):
        case["report_%d" % d] = classification_report(y_true, y_pred, target_names=names, digits=d, zero_division=0)
    cases.append(case)

def tune(t, s):
    t, s = np.asarray(t) > 0.5, np.asarray(s)
    out = []
    for k in range(t.shape[1]):
        if not t[:, k].any():
            out.append(0.5); continue
        best = None
        for c in range(1, 20):
            th = 0.05 * c
            p = s[:, k] > np.float32(th)
            tp = int(np.sum(p & t[:, k])); fp = int(np.sum(p & ~t[:, k])); fn = int(np.sum(~p & t[:, k]))
            f1 = 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
            if best is None or f1 > best[0] + 1e-12 or (abs(f1 - best[0]) <= 1e-12 and abs(th - 0.5) < abs(best[1] - 0.5) - 1e-9):
                best = (f1, th)
        out.append(round(best[1], 2))
    return out
tuning = []
for c in range(4):
    N, K = 40, 4
    y = (rng.rand(N, K) < 0.4).astype(int)
    if c == 0: y[:, 1] = 0
    s = np.clip(y * rng.uniform(0.1, 0.9, (N, K)) + rng.uniform(0, 0.5, (N, K)), 0, 1).astype(np.float32)
    s = np.round(s, 3).astype(np.float32)
    tuning.append({"targets": y.tolist(), "scores": s.astype(float).tolist(), "thresholds": tune(y, s)})
json.dump({"generator": "tools/make_multilabel_fixtures.sh (scikit-learn %s)" % sklearn.__version__,
           "cases": cases, "tuning": tuning}, open(sys.argv[1], "w"))
PYEOF

$PY - "$OUT/bce.json" <<'PYEOF'
import json, sys, torch
torch.manual_seed(3)
z = (torch.randn(3, 5) * 4).requires_grad_()
y = (torch.rand(3, 5) < 0.4).float()
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
loss.backward()
json.dump({"generator": "tools/make_multilabel_fixtures.sh (torch %s)" % torch.__version__, "B": 3, "K": 5,
           "logits": z.detach().flatten().tolist(), "targets": y.flatten().tolist(), "loss": loss.item(),
           "grad": z.grad.flatten().tolist()}, open(sys.argv[1], "w"))
PYEOF

T=$OUT/traj
rm -rf "$T"; mkdir -p "$T"
$PY - "$SRC" "$T" <<'PYEOF'
import random, sys
random.seed(17)
def sets(n, path):
    with open(path, "w") as f:
        for _ in range(n):
            labs = sorted(random.sample(range(4), random.choice([0, 1, 1, 2, 3])))
            f.write(",".join(map(str, labs)) + "\n")
sets(sum(1 for _ in open(sys.argv[1] + "/train.jsonl")), sys.argv[2] + "/train_labels.txt")
sets(sum(1 for _ in open(sys.argv[1] + "/eval.jsonl")), sys.argv[2] + "/eval_labels.txt")
PYEOF
reference_train "$T/ref" --model "$SRC/init" --train-ids "$SRC/train.jsonl" --train-labels "$T/train_labels.txt" \
  --eval-ids "$SRC/eval.jsonl" --eval-labels "$T/eval_labels.txt" \
  --problem-type multi_label_classification --order "$SRC/order.txt"
rm -f "$T/ref/config.json" "$T/ref/order.txt"
echo "wrote $OUT"
