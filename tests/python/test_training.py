"""bert_emotion.train / evaluate: the same runs as the CLI's train / eval, the same metrics."""

import json

import pytest

import bert_emotion

# Keys that measure time, not the run.
TIMING = ("runtime", "per_second")


def without_timing(metrics):
    return {k: v for k, v in metrics.items() if not any(t in k for t in TIMING)}


def common_options(models, dataset):
    return dict(model=str(models["softmax4"]), data=str(dataset), num_train_epochs=2,
                per_device_train_batch_size=4, learning_rate=1e-3, logging_steps=2, threads=1, no_plots=True)


def cli_flags(options):
    flags = []
    for k, v in options.items():
        if v is True:
            flags.append("--" + k.replace("_", "-"))
        else:
            flags += ["--" + k.replace("_", "-"), str(v)]
    return flags


@pytest.fixture(scope="module")
def cli_run(models, dataset, cli, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli_run") / "out"
    cli("train", *cli_flags(common_options(models, dataset)), "--output-dir", out, "--quiet")
    return out


def test_python_training_equals_the_cli(models, dataset, cli_run, tmp_path):
    steps = []
    metrics = bert_emotion.train(output_dir=tmp_path / "py", callback=steps.append, **common_options(models, dataset))
    cli_metrics = json.loads((cli_run / "all_results.json").read_text())
    assert metrics == json.loads((tmp_path / "py" / "all_results.json").read_text())
    assert set(metrics) == set(cli_metrics)
    assert without_timing(metrics) == pytest.approx(without_timing(cli_metrics), rel=1e-9, abs=1e-12)
    for key in ("train_loss", "eval_loss", "eval_f1", "test_loss", "test_f1", "epoch"):
        assert key in metrics
    # Every step's loss, as logged by both runs.
    py_log = [json.loads(line) for line in (tmp_path / "py" / "train_log.jsonl").open()]
    cli_log = [json.loads(line) for line in (cli_run / "train_log.jsonl").open()]
    assert [r["loss"] for r in py_log] == [r["loss"] for r in cli_log]
    # The callback saw every step (12 rows, batch 4: 3 steps per epoch, 2 epochs).
    assert [s["step"] for s in steps] == [1, 2, 3, 4, 5, 6]
    assert {s["total_steps"] for s in steps} == {6}
    assert [s["loss"] for s in steps] == pytest.approx([r["loss"] for r in cli_log], rel=1e-6)
    # Bit-identical weights.
    assert (tmp_path / "py" / "model.safetensors").read_bytes() == (cli_run / "model.safetensors").read_bytes()


def test_evaluate_equals_the_cli(cli_run, dataset, cli, tmp_path):
    out = tmp_path / "eval.json"
    cli("eval", "--model", cli_run, "--data", dataset, "--split", "val", "--batch-size", 3, "--output", out)
    got = bert_emotion.evaluate(model=cli_run, data=dataset, split="val", batch_size=3, output=tmp_path / "py.json")
    want = json.loads(out.read_text())
    assert set(got) == set(want)
    assert without_timing(got) == pytest.approx(without_timing(want), rel=1e-9, abs=1e-12)
    assert json.loads((tmp_path / "py.json").read_text()) == got
    assert got["eval_samples"] == 4


def test_an_interrupted_run_saves_a_checkpoint_and_resumes_identically(models, dataset, cli_run, tmp_path):
    def stop_at_4(info):
        if info["step"] == 4:
            raise KeyboardInterrupt  # what Ctrl-C raises from the signal check after a step

    out = tmp_path / "resumed"
    options = common_options(models, dataset)
    with pytest.raises(KeyboardInterrupt):
        bert_emotion.train(output_dir=out, callback=stop_at_4, **options)
    # The stop lands on the step after the callback's (the trainer asks should_stop as a step starts).
    newest = max(int(p.name.split("-")[1]) for p in out.glob("checkpoint-*"))
    assert 4 <= newest < 6
    assert (out / f"checkpoint-{newest}" / "optimizer.safetensors").is_file()
    assert not (out / "all_results.json").exists()
    metrics = bert_emotion.train(output_dir=out, resume_from_checkpoint=True, progress=False, **options)
    cli_metrics = json.loads((cli_run / "all_results.json").read_text())
    assert metrics["train_loss"] == pytest.approx(cli_metrics["train_loss"], rel=1e-9)
    assert metrics["eval_loss"] == pytest.approx(cli_metrics["eval_loss"], rel=1e-9)
    assert (out / "model.safetensors").read_bytes() == (cli_run / "model.safetensors").read_bytes()


def test_callback_errors_propagate(models, dataset, tmp_path):
    def boom(info):
        raise RuntimeError("callback failed")

    with pytest.raises(RuntimeError, match="callback failed"):
        bert_emotion.train(output_dir=tmp_path / "x", callback=boom, **common_options(models, dataset))


def test_options_are_checked(models, dataset, tmp_path):
    options = common_options(models, dataset)
    with pytest.raises(TypeError, match="unexpected keyword argument 'learning_rat'"):
        bert_emotion.train(output_dir=tmp_path, learning_rat=1.0, **options)
    with pytest.raises(TypeError, match="learning_rate"):
        bert_emotion.train(output_dir=tmp_path, **{**options, "learning_rate": "fast"})
    with pytest.raises(ValueError, match="--per-device-train-batch-size must be >= 1"):
        bert_emotion.train(output_dir=tmp_path, **{**options, "per_device_train_batch_size": 0})
    with pytest.raises(ValueError, match="--num-train-epochs must be > 0"):
        bert_emotion.train(output_dir=tmp_path, **{**options, "num_train_epochs": 0})
    with pytest.raises(ValueError, match=r"--save-strategy must be no, steps or epoch \(got 'sometimes'\)"):
        bert_emotion.train(output_dir=tmp_path, save_strategy="sometimes", **options)
    with pytest.raises(bert_emotion.InvalidArgumentError):
        bert_emotion.evaluate(model=options["model"], data=str(dataset), split="nope")


def test_evaluate_in_slices_equals_the_cli(cli_run, cli, tmp_path):
    """40 rows at batch size 1: evaluate() runs 3 slices (Ctrl-C checks between them); same numbers."""
    labels = ["anger", "joy", "optimism", "sadness"]
    rows = [f'"example {i} {"happy " * (i % 7)}{"sad " * (i % 5)}",{labels[i % 4]}' for i in range(40)]
    (tmp_path / "test.csv").write_text("text,label\n" + "\n".join(rows) + "\n")
    out = tmp_path / "cli.json"
    cli("eval", "--model", cli_run, "--data", tmp_path / "test.csv", "--batch-size", 1, "--output", out)
    got = bert_emotion.evaluate(model=cli_run, data=tmp_path / "test.csv", batch_size=1)
    want = json.loads(out.read_text())
    assert without_timing(got) == pytest.approx(without_timing(want), rel=1e-9, abs=1e-12)
    assert got["eval_samples"] == 40


def test_trainer_options_equal_the_cli(models, dataset, cli, tmp_path):
    """Step strategies, the best model, early stopping, label smoothing and class weights as
    keywords: the same run as the CLI's flags."""
    options = dict(common_options(models, dataset), eval_strategy="steps", eval_steps=2, save_strategy="steps",
                   save_steps=2, load_best_model_at_end=True, metric_for_best_model="f1", early_stopping_patience=2,
                   label_smoothing_factor=0.1, class_weights="balanced", lr_scheduler_type="cosine",
                   gradient_accumulation_steps=2)
    cli("train", *cli_flags(options), "--output-dir", tmp_path / "cli", "--quiet")
    metrics = bert_emotion.train(output_dir=tmp_path / "py", **options)
    cli_metrics = json.loads((tmp_path / "cli" / "all_results.json").read_text())
    assert without_timing(metrics) == pytest.approx(without_timing(cli_metrics), rel=1e-9, abs=1e-12)
    py_state = json.loads((tmp_path / "py" / "trainer_state.json").read_text())
    cli_state = json.loads((tmp_path / "cli" / "trainer_state.json").read_text())
    assert py_state["best_metric"] == cli_state["best_metric"]
    assert py_state["best_model_checkpoint"].endswith("checkpoint-" + str(py_state["best_global_step"]))
    args = json.loads((tmp_path / "py" / "training_args.json").read_text())
    assert args["label_smoothing_factor"] == 0.1 and args["eval_strategy"] == "steps"
    with pytest.raises(ValueError, match="save and eval strategy to match"):
        bert_emotion.train(output_dir=tmp_path / "bad", **dict(options, save_strategy="epoch"))
