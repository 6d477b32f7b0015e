#!/usr/bin/env python3
"""Regenerates tests/fixtures/data/metrics_reference.json: random label vectors and the metrics of
../shared/reference/train.py's classification_metrics (stated there as equal to scikit-learn's
precision_recall_fscore_support with zero_division=0). Every class occurs in y_true or y_pred, so
the reference's "classes present" equals labels=range(K). Run with the system interpreter:
    /usr/bin/python3 tools/make_metric_fixtures.py"""
import json
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "..", "shared", "reference"))
from train import classification_metrics  # noqa: E402

rng = random.Random(1234)
cases = []


def add(name, y_true, y_pred, k):
    assert set(y_true) | set(y_pred) == set(range(k)), name
    cases.append({"name": name, "num_labels": k, "y_true": y_true, "y_pred": y_pred,
                  "expected": classification_metrics(y_true, y_pred, k)})


# TweetEval-emotion-like: 4 classes, imbalanced, a weak classifier that is right 40% of the time.
t = [rng.choices(range(4), weights=[558, 358, 123, 382])[0] for _ in range(500)]
add("emotion_like", t, [y if rng.random() < 0.4 else rng.randrange(4) for y in t], 4)
# Class 2 is never predicted (precision 0/0 -> 0).
t = [rng.randrange(3) for _ in range(60)]
add("never_predicted", t, [y if y != 2 else rng.choice([0, 1]) for y in t], 3)
# Class 3 never occurs in y_true but is predicted (recall 0/0 -> 0).
t = [rng.randrange(3) for _ in range(40)]
add("absent_from_gold", t, [3 if i % 7 == 0 else y for i, y in enumerate(t)], 4)
# Many classes, heavy skew.
t = [min(5, int(rng.expovariate(0.8))) for _ in range(300)]
add("six_skewed", t, [rng.randrange(6) if rng.random() < 0.5 else y for y in t], 6)

out = os.path.join(ROOT, "tests", "fixtures", "data", "metrics_reference.json")
with open(out, "w") as f:
    json.dump({"source": "../shared/reference/train.py classification_metrics", "cases": cases}, f)
print(out, len(cases), "cases")
