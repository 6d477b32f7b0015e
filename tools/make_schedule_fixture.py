#!/usr/bin/env python3
"""make_schedule_fixture.py — tests/fixtures/train/schedules.json: the learning-rate factor of every
--lr-scheduler-type for steps 0..N+2, computed with transformers.optimization's lr lambdas
(transformers 4.35, transcribed below because the package is not a Debian dependency here; with
transformers installed the script checks its transcription against the real get_scheduler).

    /usr/bin/python3 tools/make_schedule_fixture.py
"""
import json, math, os

def factor(kind, step, W, N, lr):
    if kind == "constant":
        return 1.0
    if kind == "constant_with_warmup":
        return float(step) / float(max(1.0, W)) if step < W else 1.0
    if step < W:
        return float(step) / float(max(1, W))
    if kind == "linear":
        return max(0.0, float(N - step) / float(max(1, N - W)))
    progress = float(step - W) / float(max(1, N - W))
    if kind == "cosine":
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(0.5) * 2.0 * progress)))
    if kind == "cosine_with_restarts":
        if progress >= 1.0:
            return 0.0
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((float(1) * progress) % 1.0))))
    if kind == "polynomial":
        lr_end, power = 1e-7, 1.0
        if step > N:
            return lr_end / lr
        pct_remaining = 1 - (step - W) / (N - W)
        return ((lr - lr_end) * pct_remaining ** power + lr_end) / lr
    if kind == "inverse_sqrt":
        timescale = W or 10_000
        shift = timescale - W
        return 1.0 / math.sqrt((step + shift) / timescale)
    raise ValueError(kind)

KINDS = ["linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup", "inverse_sqrt"]
cases = []
for kind in KINDS:
    for W, N, lr in [(0, 12, 5e-5), (3, 12, 1e-3), (5, 7, 2e-5)]:
        cases.append({"type": kind, "warmup": W, "total": N, "lr": lr,
                      "factors": [factor(kind, k, W, N, lr) for k in range(N + 3)]})
try:  # cross-check against transformers when it is installed
    import torch, transformers
    for c in cases:
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=c["lr"])
        s = transformers.get_scheduler(c["type"], opt, num_warmup_steps=c["warmup"], num_training_steps=c["total"])
        for k, f in enumerate(c["factors"]):
            assert abs(s.lr_lambdas[0](k) - f) < 1e-15, (c["type"], k)
except ImportError:
    pass
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "train", "schedules.json")
with open(out, "w") as f:
    json.dump({"generator": "tools/make_schedule_fixture.py", "cases": cases}, f)
print("wrote", os.path.normpath(out))
