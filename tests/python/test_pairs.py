"""Sentence pairs from Python against the PyTorch reference.

tests/fixtures/pairs/bert (tools/make_pair_fixtures.sh): a tiny BERT with its WordPiece vocabulary and
forward.py's logits for five pairs, [CLS] A [SEP] B [SEP] with token types 0 then 1 (and, to show the
types matter, the logits with every type 0). Classifier.classify(texts, text_pairs), logits(texts,
text_pair) and the pipeline's {"text", "text_pair"} inputs must all give the typed logits.
tests/fixtures/pairs/bert_traj (tools/make_pair_train_fixture.sh): train.py's 50-step run on CSV/JSONL
pairs; train(..., text_pair_column=...) must end at its final evaluation loss.
tests/fixtures/pairs/roberta (tools/make_roberta_pair_fixture.sh): RoBERTa pairs and their reference logits.
"""

import json

import numpy as np
import pytest

import bert_emotion


@pytest.fixture(scope="module")
def pair_fixture(fixtures_dir):
    d = fixtures_dir / "pairs" / "bert"
    ref = json.loads((d / "pairs.json").read_text())
    return d, ref


def softmax(rows):
    rows = np.asarray(rows, dtype=np.float64)
    e = np.exp(rows - rows.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_classify_pairs_gives_the_reference_with_types(pair_fixture):
    d, ref = pair_fixture
    clf = bert_emotion.Classifier(str(d), threads=1, batch_size=2)
    a = [p[0] for p in ref["pairs"]]
    b = [p[1] for p in ref["pairs"]]
    want = softmax(ref["logits"])
    got = clf.classify(a, b)
    assert len(got) == len(a)
    for row, p in zip(got, want):
        assert [row["scores"][name] for name in clf.labels] == pytest.approx(p.tolist(), abs=1e-5)
        assert row["label"] == clf.labels[int(np.argmax(p))]
    # One pair as two strs: a dict, the same answer.
    one = clf.classify(a[1], b[1])
    assert one["scores"] == pytest.approx(got[1]["scores"], abs=1e-6)
    # None in the list: that row is a single text (the first text alone).
    mixed = clf.classify(a[:2], [None, b[1]])
    assert mixed[0]["scores"] == pytest.approx(clf.classify(a[0])["scores"], abs=1e-6)
    assert mixed[1]["scores"] == pytest.approx(got[1]["scores"], abs=1e-6)
    # The types matter: with every type 0 the reference answers differently.
    assert np.abs(np.asarray(ref["logits"]) - np.asarray(ref["logits_all_type_0"])).max() > 1e-2
    with pytest.raises(bert_emotion.InvalidArgumentError, match="text_pair"):
        clf.classify(a, b[:2])


def test_logits_and_pipeline_pass_token_types(pair_fixture):
    d, ref = pair_fixture
    clf = bert_emotion.Classifier(str(d), threads=1)
    a = [p[0] for p in ref["pairs"]]
    b = [p[1] for p in ref["pairs"]]
    np.testing.assert_allclose(clf.logits(a, b), ref["logits"], atol=1e-5)
    types = [clf.tokenizer.encode(x, y).type_ids for x, y in zip(a, b)]
    assert types == ref["token_type_ids"]
    np.testing.assert_allclose(clf.logits_from_ids(ref["input_ids"], types), ref["logits"], atol=1e-5)
    np.testing.assert_allclose(clf.logits_from_ids(ref["input_ids"]), ref["logits_all_type_0"], atol=1e-5)
    with pytest.raises(bert_emotion.InvalidArgumentError, match="type_ids"):
        clf.logits_from_ids(ref["input_ids"], types[:1])

    pipe = bert_emotion.pipeline("text-classification", model=clf, top_k=None)
    out = pipe([{"text": x, "text_pair": y} for x, y in zip(a, b)])
    for rows, p in zip(out, softmax(ref["logits"])):
        assert {r["label"]: r["score"] for r in rows} == pytest.approx(dict(zip(clf.labels, p.tolist())), abs=1e-5)
    best = bert_emotion.pipeline("text-classification", model=clf)({"text": a[3], "text_pair": b[3]})
    assert best["label"] == clf.labels[int(np.argmax(ref["logits"][3]))]
    assert best["score"] == pytest.approx(float(softmax(ref["logits"][3]).max()), abs=1e-5)


def test_roberta_pairs_give_the_reference(fixtures_dir):
    # tools/make_roberta_pair_fixture.sh: <s> A </s></s> B </s>, every token type 0.
    d = fixtures_dir / "pairs" / "roberta"
    ref = json.loads((d / "pairs.json").read_text())
    clf = bert_emotion.Classifier(str(d), threads=1)
    a = [p[0] for p in ref["pairs"]]
    b = [p[1] for p in ref["pairs"]]
    enc = [clf.tokenizer.encode(x, y) for x, y in zip(a, b)]
    assert [e.ids for e in enc] == ref["input_ids"]
    assert [e.type_ids for e in enc] == ref["token_type_ids"]
    np.testing.assert_allclose(clf.logits(a, b), ref["logits"], atol=1e-5)
    np.testing.assert_allclose(clf.logits(a), ref["first_texts_logits"], atol=1e-5)
    got = clf.classify(a, b)
    for row, p in zip(got, softmax(ref["logits"])):
        assert [row["scores"][name] for name in clf.labels] == pytest.approx(p.tolist(), abs=1e-5)
    out = bert_emotion.pipeline("text-classification", model=clf, top_k=None)(
        [{"text": x, "text_pair": y} for x, y in zip(a, b)])
    for rows, p in zip(out, softmax(ref["logits"])):
        assert {r["label"]: r["score"] for r in rows} == pytest.approx(dict(zip(clf.labels, p.tolist())), abs=1e-5)


RECIPE = dict(learning_rate=1e-3, warmup_steps=5, weight_decay=0.01, max_grad_norm=0.45,
              per_device_train_batch_size=4, per_device_eval_batch_size=8, num_train_epochs=5, dropout="off",
              save_strategy="no", threads=1, no_plots=True, test_split="none")


def test_train_on_pairs_reaches_the_reference(fixtures_dir, tmp_path):
    t = fixtures_dir / "pairs" / "bert_traj"
    ref_evals = [json.loads(line) for line in (t / "ref" / "log.jsonl").open()]
    ref_loss = [r for r in ref_evals if r["type"] == "eval"][-1]["eval_loss"]
    metrics = bert_emotion.train(model=t / "init", data=t / "data", output_dir=tmp_path / "out",
                                 text_pair_column="text_pair", order=t / "order.txt", progress=False, **RECIPE)
    assert metrics["eval_loss"] == pytest.approx(ref_loss, rel=1e-4)
    args = json.loads((tmp_path / "out" / "training_args.json").read_text())
    assert args["text_pair_column_name"] == "text_pair"
    # The trained model scores the validation pairs with that loss through evaluate() too.
    ev = bert_emotion.evaluate(model=tmp_path / "out", data=t / "data" / "val.jsonl", text_pair_column="text_pair")
    assert ev["eval_loss"] == pytest.approx(ref_loss, rel=1e-4)


def test_train_with_a_missing_pair_column_names_file_and_column(fixtures_dir, tmp_path):
    t = fixtures_dir / "pairs" / "bert_traj"
    with pytest.raises(bert_emotion.FormatError, match=r"train\.csv.*'premise'"):
        bert_emotion.train(model=t / "init", data=t / "data", output_dir=tmp_path / "out",
                           text_pair_column="premise", progress=False, **RECIPE)
    assert not (tmp_path / "out" / "model.safetensors").exists()
