#!/usr/bin/env python3
"""make_loss_fixture.py — tests/fixtures/train/losses.json: losses and d loss / d logits from torch for
the training losses of src/train/loss.hpp:
  * F.cross_entropy(logits, labels, weight=w, label_smoothing=e) (mean) for e in {0, 0.1} with and
    without class weights;
  * F.binary_cross_entropy_with_logits(logits, targets, pos_weight=p) (mean), with and without p.
Also the Trainer's LabelSmoother value (transcribed: transformers is not a dependency here), which
equals torch's label_smoothing without weights.

    /usr/bin/python3 tools/make_loss_fixture.py
"""
import json, os
import torch
import torch.nn.functional as F

torch.manual_seed(7)
B, K = 5, 4
logits = (torch.randn(B, K, dtype=torch.float32) * 3).tolist()
labels = [2, 0, 3, 2, 1]
targets = [[1, 0, 1, 0], [0, 0, 0, 1], [1, 1, 0, 0], [0, 0, 0, 0], [0, 1, 1, 1]]
weights = [0.5, 2.0, 1.25, 3.0]

def grad_of(fn):
    z = torch.tensor(logits, dtype=torch.float32, requires_grad=True)
    loss = fn(z)
    loss.backward()
    return float(loss), z.grad.tolist()

def label_smoother(z, y, eps):  # transformers.trainer_pt_utils.LabelSmoother, ignore_index unused
    log_probs = -F.log_softmax(z, dim=-1)
    nll = log_probs.gather(dim=-1, index=y.unsqueeze(-1)).mean()
    smoothed = log_probs.sum(dim=-1, keepdim=True).mean() / log_probs.shape[-1]
    return (1 - eps) * nll + eps * smoothed

cases = []
y = torch.tensor(labels)
for eps in (0.0, 0.1):
    for w in (None, weights):
        wt = None if w is None else torch.tensor(w)
        loss, grad = grad_of(lambda z: F.cross_entropy(z, y, weight=wt, label_smoothing=eps))
        cases.append({"kind": "cross_entropy", "label_smoothing": eps, "weights": w or [], "loss": loss, "dlogits": grad})
smoother = float(label_smoother(torch.tensor(logits), y, 0.1))
t = torch.tensor(targets, dtype=torch.float32)
for p in (None, weights):
    pt = None if p is None else torch.tensor(p)
    loss, grad = grad_of(lambda z: F.binary_cross_entropy_with_logits(z, t, pos_weight=pt))
    cases.append({"kind": "bce", "weights": p or [], "loss": loss, "dlogits": grad})

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "train", "losses.json")
with open(out, "w") as f:
    json.dump({"torch": torch.__version__, "B": B, "K": K, "logits": logits, "labels": labels, "targets": targets,
               "label_smoother_0.1": smoother, "cases": cases}, f)
    f.write("\n")
print("wrote", os.path.normpath(out))
