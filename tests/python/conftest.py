"""Shared fixtures of the Python tests: the CLI, tiny random models, a small labelled dataset.

ctest (python/CMakeLists.txt) sets PYTHONPATH to the build tree's package and passes paths in the
environment: BERT_EMOTION_BIN (the CLI), BERT_EMOTION_TEST_TOKENIZER (a tokenizer directory,
../shared/models/distilbert-base-cased), BERT_EMOTION_FIXTURES (tests/fixtures).
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

LABELS = ["anger", "joy", "optimism", "sadness"]


def _env_path(name):
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"{name} is not set (run through ctest or scripts/test.sh)")
    return Path(value)


@pytest.fixture(scope="session")
def cli():
    """Runs the bert-emotion CLI; returns its stdout (fails the test on a non-zero exit)."""
    binary = _env_path("BERT_EMOTION_BIN")

    def run(*args, check=True):
        r = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
        if check and r.returncode != 0:
            raise AssertionError(f"bert-emotion {' '.join(map(str, args))} exited {r.returncode}:\n{r.stderr}")
        return r

    return run


@pytest.fixture(scope="session")
def fixtures_dir():
    return _env_path("BERT_EMOTION_FIXTURES")


@pytest.fixture(scope="session")
def tokenizer_dir():
    return _env_path("BERT_EMOTION_TEST_TOKENIZER")


def _edit_config(model_dir, **changes):
    path = model_dir / "config.json"
    cfg = json.loads(path.read_text())
    cfg.update(changes)
    path.write_text(json.dumps(cfg, indent=2, sort_keys=True))


@pytest.fixture(scope="session")
def models(tmp_path_factory, cli, tokenizer_dir):
    """Tiny random models (bert-emotion init), one per way transformers picks the score function:
    softmax4 (4 labels), multi_label, one_label (1 label: sigmoid), regression (none) and
    all_scores (config.json return_all_scores: true)."""
    root = tmp_path_factory.mktemp("models")
    out = {}

    def init(name, labels, seed):
        d = root / name
        cli("init", "--config", "tiny", "--out", d, "--tokenizer", tokenizer_dir, "--labels", ",".join(labels),
            "--seed", seed)
        out[name] = d
        return d

    init("softmax4", LABELS, 7)
    _edit_config(init("multi_label", LABELS, 8), problem_type="multi_label_classification")
    init("one_label", ["positive"], 9)
    _edit_config(init("regression", ["score"], 10), problem_type="regression")
    _edit_config(init("all_scores", LABELS, 11), return_all_scores=True)
    return out


@pytest.fixture(scope="session")
def dataset(tmp_path_factory):
    """A folder of train/val/test CSV splits with the four emotion labels."""
    d = tmp_path_factory.mktemp("data")
    train = [
        ("I love this so much", "joy"), ("This is terrible and I hate it", "anger"),
        ("Tomorrow will be better, I hope", "optimism"), ("I miss you so much it hurts", "sadness"),
        ("what a wonderful day", "joy"), ("so angry right now", "anger"),
        ("things will work out", "optimism"), ("crying all night", "sadness"),
        ("best news ever!", "joy"), ("furious about the delay", "anger"),
        ("keep going you can do it", "optimism"), ("lonely and tired", "sadness"),
    ]
    val = [("I am so happy", "joy"), ("this makes me mad", "anger"), ("we will get there", "optimism"),
           ("such a sad ending", "sadness")]
    test = [("lovely", "joy"), ("annoying", "anger"), ("hopeful", "optimism"), ("heartbroken", "sadness"),
            ("great", "joy")]
    for name, rows in (("train", train), ("val", val), ("test", test)):
        lines = ["text,label"] + [f'"{t}",{label}' for t, label in rows]
        (d / f"{name}.csv").write_text("\n".join(lines) + "\n")
    return d
