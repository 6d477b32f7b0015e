"""Ctrl-C (SIGINT) interrupts long calls: classify between batches, train after a step (with a
checkpoint of that step, as the CLI). The signal arrives while the engine holds no GIL."""

import os
import signal
import threading

import pytest

import bert_emotion


def interrupt_soon(delay):
    timer = threading.Timer(delay, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_ctrl_c_interrupts_classify(models):
    clf = bert_emotion.Classifier(str(models["softmax4"]), batch_size=4)
    texts = ["word " * 120] * 200_000  # minutes of work: the interrupt must cut it short
    timer = interrupt_soon(0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            clf.logits(texts)
    finally:
        timer.cancel()
    assert clf.classify("still works")["label"] in clf.labels


def test_ctrl_c_stops_training_with_a_checkpoint(models, dataset, tmp_path):
    out = tmp_path / "run"
    timer = interrupt_soon(1.0)
    try:
        with pytest.raises(KeyboardInterrupt):
            bert_emotion.train(model=str(models["softmax4"]), data=str(dataset), output_dir=out, max_steps=100_000,
                               save_total_limit=1, eval_split="none", test_split="none", threads=1, progress=False,
                               no_plots=True)
    finally:
        timer.cancel()
    checkpoints = [p for p in out.iterdir() if p.name.startswith("checkpoint-")]
    assert len(checkpoints) == 1
    assert (checkpoints[0] / "training_state.json").is_file()
    assert not (out / "all_results.json").exists()
