"""bert_emotion.pipeline against the expected structures of transformers' TextClassificationPipeline
(tests/fixtures/python/pipeline_cases.json, written from transformers' source) and the CLI's numbers.

Each expected leaf is filled from reference logits that do not come through the pipeline: the
CLI's `predict --logits` for texts, Classifier.logits_from_ids of Tokenizer.encode(text, pair) for
pairs. Scores are compared to 1e-5, labels and nesting exactly.
"""

import builtins
import json
import math
import warnings

import numpy as np
import pytest

import bert_emotion

def load_cases(fixtures_dir):
    return json.loads((fixtures_dir / "python" / "pipeline_cases.json").read_text())


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        import os
        from pathlib import Path

        root = os.environ.get("BERT_EMOTION_FIXTURES")
        cases = load_cases(Path(root))["cases"] if root else []
        metafunc.parametrize("case", cases, ids=[c["name"] for c in cases])


@pytest.fixture(scope="module")
def spec(fixtures_dir):
    return load_cases(fixtures_dir)


@pytest.fixture(scope="module")
def reference_logits(models, spec, cli):
    """{model name: {input key: float32 logits}} without the pipeline's code path."""
    out = {}
    texts = spec["texts"]
    singles = {k: v for k, v in texts.items() if isinstance(v, str)}
    for name, model_dir in models.items():
        r = cli("predict", "--model", model_dir, "--logits", *singles.values())
        rows = [json.loads(line) for line in r.stdout.splitlines()]
        table = {k: np.array(row["logits"], dtype=np.float32) for k, row in zip(singles, rows)}
        clf = bert_emotion.Classifier(str(model_dir))
        for k, v in texts.items():
            if isinstance(v, dict):
                ids = clf.tokenizer.encode(v["text"], v.get("text_pair")).ids
                table[k] = clf.logits_from_ids([ids])[0]
        out[name] = table
    return out


def scores(logits, fn):
    x = logits.astype(np.float64)
    if fn == "softmax":
        e = np.exp(x - x.max())
        return e / e.sum()
    if fn == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    assert fn == "none"
    return x


def input_key(x, texts):
    if isinstance(x, str):
        return x
    for k, v in texts.items():
        if v == x or (isinstance(v, str) and x == {"text": v}):
            return k
    raise KeyError(x)


def expand(template, logits, labels, texts):
    """The expected result: the template's nesting with its leaves computed from the logits."""
    if isinstance(template, list):
        return [expand(t, logits, labels, texts) for t in template]
    for kind in ("best", "ranked", "by_id"):
        if kind in template:
            s = scores(logits[input_key(template[kind], texts)], template["fn"])
            if kind == "best":
                return {"label": labels[int(np.argmax(s))], "score": float(np.max(s))}
            entries = [{"label": labels[i], "score": float(v)} for i, v in enumerate(s)]
            if kind == "by_id":
                return entries
            entries.sort(key=lambda d: d["score"], reverse=True)
            return entries if template["k"] is None else entries[: template["k"]]
    raise ValueError(f"bad template {template}")


def assert_same(got, want, path="result"):
    assert type(got) is type(want), f"{path}: got {type(got).__name__} {got!r}, want {type(want).__name__} {want!r}"
    if isinstance(want, list):
        assert len(got) == len(want), f"{path}: {len(got)} items, want {len(want)}: {got!r}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{path}[{i}]")
    elif isinstance(want, dict):
        assert list(got) == list(want), f"{path}: keys {list(got)}, want {list(want)}"
        assert got["label"] == want["label"], f"{path}: label {got['label']!r}, want {want['label']!r}"
        assert isinstance(got["score"], float)
        assert math.isclose(got["score"], want["score"], rel_tol=1e-5, abs_tol=1e-6), f"{path}: {got} vs {want}"


def resolve_input(x, texts):
    if isinstance(x, str):
        return texts[x] if x in texts else x
    if isinstance(x, list) and all(isinstance(i, str) for i in x):
        return [texts[i] for i in x]
    return x


def test_pipeline_case(case, spec, models, reference_logits):
    texts = spec["texts"]
    inputs = resolve_input(case["input"], texts)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pipe = bert_emotion.pipeline("text-classification", model=str(models[case["model"]]), **case.get("init", {}))
        if "raises" in case:
            with pytest.raises(getattr(builtins, case["raises"])):
                pipe(inputs, **case.get("call", {}))
            return
        got = pipe(inputs, **case.get("call", {}))
    assert bool(case.get("warns")) == any("return_all_scores" in str(w.message) for w in caught)
    labels = json.loads((models[case["model"]] / "config.json").read_text())["id2label"]
    labels = [labels[str(i)] for i in range(len(labels))]
    want = expand(case["expected"], reference_logits[case["model"]], labels, texts)
    assert_same(got, want)


def test_scores_equal_the_cli_predict(models, cli):
    texts = ["I love this so much!", "this is awful", "", "Tomorrow will be better 🙂 #hope @user"]
    r = cli("predict", "--model", models["softmax4"], *texts)
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    pipe = bert_emotion.pipeline("text-classification", model=str(models["softmax4"]), top_k=None)
    got = pipe(texts)
    clf = bert_emotion.Classifier(str(models["softmax4"]))
    classified = clf.classify(texts)
    for row, ranked, c in zip(rows, got, classified):
        assert ranked[0]["label"] == row["label"] == c["label"]
        assert {d["label"]: d["score"] for d in ranked} == pytest.approx(row["scores"], rel=1e-5)
        assert c["scores"] == pytest.approx(row["scores"], rel=1e-6)
        assert c["score"] == pytest.approx(row["score"], rel=1e-6)


def test_generator_input_gives_an_iterator(models):
    pipe = bert_emotion.pipeline("text-classification", model=str(models["softmax4"]), batch_size=2)
    texts = ["a", "b", "c"]
    got = pipe(t for t in texts)
    assert not isinstance(got, list)
    assert list(got) == pipe(texts)


def test_truncation(models):
    path = str(models["softmax4"])
    clf = bert_emotion.Classifier(path)
    long_text = " ".join(["word"] * 300)  # more tokens than the tiny model's 128 positions
    pipe = bert_emotion.pipeline("text-classification", model=path, function_to_apply="none")
    with pytest.raises(ValueError, match="at most 128"):
        pipe(long_text, top_k=None)  # transformers does not truncate unless asked
    full = pipe(long_text, top_k=None, truncation=True)
    ids = clf.tokenizer.encode(long_text, max_length=128).ids
    assert len(ids) == 128
    want = clf.logits_from_ids([ids])[0]
    assert {d["label"]: d["score"] for d in full} == pytest.approx(dict(zip(clf.labels, want.tolist())), rel=1e-5)
    # max_length alone turns truncation on (longest_first), as in transformers' tokenizers.
    short = pipe(long_text, top_k=None, max_length=8)
    want8 = clf.logits_from_ids([clf.tokenizer.encode(long_text, max_length=8).ids])[0]
    assert {d["label"]: d["score"] for d in short} == pytest.approx(dict(zip(clf.labels, want8.tolist())), rel=1e-5)
    pair = pipe({"text": long_text, "text_pair": "and a second text"}, top_k=None, truncation="longest_first",
                max_length=16)
    want_pair = clf.logits_from_ids([clf.tokenizer.encode(long_text, "and a second text", max_length=16).ids])[0]
    assert {d["label"]: d["score"] for d in pair} == pytest.approx(dict(zip(clf.labels, want_pair.tolist())), rel=1e-5)


def test_a_classifier_object_can_be_the_model(models):
    clf = bert_emotion.Classifier(str(models["softmax4"]), batch_size=3)
    pipe = bert_emotion.pipeline(model=clf)
    assert pipe.classifier is clf
    assert pipe(["x", "y"])[1]["label"] in clf.labels


@pytest.mark.parametrize(
    "kwargs, engine_dtype",
    [({"torch_dtype": "torch.bfloat16"}, "bf16"), ({"dtype": "bfloat16"}, "bf16"), ({"dtype": "int8"}, "int8"),
     ({"dtype": "float32"}, "f32"), ({}, "f32")],
)
def test_dtype_picks_the_engine_precision(models, kwargs, engine_dtype):
    path = str(models["softmax4"])
    texts = ["I love this so much!", "this is awful", "Tomorrow will be better"]
    pipe = bert_emotion.pipeline("text-classification", model=path, function_to_apply="none", top_k=None, **kwargs)
    assert pipe.classifier.dtype == engine_dtype
    want = bert_emotion.Classifier(path, dtype=engine_dtype).logits(texts)
    for ranked, row in zip(pipe(texts), want):
        assert {d["label"]: d["score"] for d in ranked} == pytest.approx(dict(zip(pipe.classifier.labels, row.tolist())),
                                                                          rel=1e-6, abs=1e-7)
    if engine_dtype != "f32":  # the precision really changed
        f32 = bert_emotion.Classifier(path, dtype="f32").logits(texts)
        assert not np.array_equal(want, f32)


def test_dtype_conflicts_are_refused(models):
    path = str(models["softmax4"])
    with pytest.raises(bert_emotion.InvalidArgumentError, match="disagree"):
        bert_emotion.pipeline(model=path, dtype="float32", torch_dtype="torch.bfloat16")
    clf = bert_emotion.Classifier(path, dtype="int8")
    assert bert_emotion.pipeline(model=clf, dtype="int8").classifier is clf
    with pytest.raises(bert_emotion.InvalidArgumentError, match="runs 'int8'"):
        bert_emotion.pipeline(model=clf, torch_dtype="torch.bfloat16")


@pytest.mark.parametrize(
    "kwargs",
    [{"device": 0}, {"device": "cuda"}, {"dtype": "float16"}, {"torch_dtype": "torch.float64"}, {"framework": "tf"}],
)
def test_what_the_engine_cannot_do_is_refused(models, kwargs):
    with pytest.raises(bert_emotion.UnsupportedError):
        bert_emotion.pipeline("text-classification", model=str(models["softmax4"]), **kwargs)


def test_other_tasks_are_refused(models):
    with pytest.raises(ValueError, match="text-classification"):
        bert_emotion.pipeline("token-classification", model=str(models["softmax4"]))
