"""bert_emotion.Classifier and bert_emotion.Tokenizer: ids/offsets as Hugging Face tokenizers
(fixtures made with the npm `tokenizers` bindings), logits as NumPy, threads, the CLI's numbers."""

import json
import threading

import numpy as np
import pytest

import bert_emotion


def hard_cases(fixtures_dir):
    data = (fixtures_dir / "tokenizer" / "hard_cases.txt").read_bytes().decode("utf-8")
    lines = data.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def code_points(text, byte_offset):
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8"))


def test_encode_equals_hugging_face_tokenizers(fixtures_dir, tokenizer_dir):
    tok = bert_emotion.Tokenizer(str(tokenizer_dir))
    texts = hard_cases(fixtures_dir)
    expected = [json.loads(line) for line in (fixtures_dir / "tokenizer" / "hard_cases_cased.jsonl").open()]
    assert len(texts) == len(expected) >= 50
    batch = tok.encode_batch(texts)
    for text, want, e_batch in zip(texts, expected, batch):
        e = tok.encode(text)
        assert e.ids == want["ids"] == e_batch.ids
        assert e.tokens == want["tokens"]
        assert e.type_ids == want["type_ids"]
        assert e.special_tokens_mask == want["special_tokens_mask"]
        assert e.attention_mask == [1] * len(e.ids)
        # The fixtures hold byte offsets; tokenizers' Python Encoding reports code points.
        assert e.offsets == [(code_points(text, b), code_points(text, end)) for b, end in want["offsets"]]
        assert len(e) == len(e.ids)


def test_encode_pairs_equals_hugging_face_tokenizers(fixtures_dir, tokenizer_dir):
    tok = bert_emotion.Tokenizer(str(tokenizer_dir))
    texts = hard_cases(fixtures_dir)
    checked = 0
    for line in (fixtures_dir / "tokenizer" / "pairs_cased.jsonl").open():
        want = json.loads(line)
        if want["a"][0] != "hard" or want["b"][0] != "hard":
            continue
        a, b = texts[want["a"][1]], texts[want["b"][1]]
        e = tok.encode(a, b, max_length=want["max_length"] or None)
        assert e.ids == want["ids"]
        assert e.type_ids == want["type_ids"]
        assert e.n_sequences == 2
        if "offsets" in want:  # the fixtures hold them at the default length
            offsets = [
                (code_points(b if t else a, s), code_points(b if t else a, end))
                for (s, end), t in zip(want["offsets"], want["type_ids"])
            ]
            assert e.offsets == offsets
        assert tok.encode_batch([(a, b)], max_length=want["max_length"] or None)[0].ids == want["ids"]
        checked += 1
    assert checked >= 5


def test_roberta_pair_offsets_point_into_their_own_text(tokenizer_dir):
    # RoBERTa's pairs are type 0 on both sides: which text a token came from is its sequence id.
    tok = bert_emotion.Tokenizer(str(tokenizer_dir.parent / "roberta-bpe-test"))
    a, b = "h\u00e9llo w\u00f6rld", "\u00fcn\u00efcode is here"
    e = tok.encode(a, b)
    assert set(e.type_ids) == {0}
    assert e.n_sequences == 2
    seq = e.sequence_ids
    assert len(seq) == len(e.ids) and seq[0] is None and seq[-1] is None
    assert [s is None for s in seq] == [m == 1 for m in e.special_tokens_mask]
    first, second = tok.encode(a), tok.encode(b)
    assert [o for o, s in zip(e.offsets, seq) if s == 0] == first.offsets[1:-1]
    assert [o for o, s in zip(e.offsets, seq) if s == 1] == second.offsets[1:-1]
    assert tok.encode(a).n_sequences == 1


def test_tokenizer_vocabulary(tokenizer_dir):
    tok = bert_emotion.Tokenizer(str(tokenizer_dir))
    assert tok.get_vocab_size() == 28996
    assert tok.token_to_id("[CLS]") == tok.cls_token_id == 101
    assert tok.id_to_token(102) == "[SEP]"
    assert tok.token_to_id("no-such-token-here") is None
    assert tok.model_max_length == 512
    assert tok.encode("hello", max_length=3).tokens == ["[CLS]", "hello", "[SEP]"]


def test_logits_shapes_and_cli_agreement(models, cli):
    path = models["softmax4"]
    clf = bert_emotion.Classifier(str(path))
    assert clf.labels == ["anger", "joy", "optimism", "sadness"] and clf.num_labels == 4
    assert clf.config["id2label"]["1"] == "joy"
    one = clf.logits("hello there")
    many = clf.logits(["hello there", "so sad"])
    assert one.dtype == np.float32 and one.shape == (4,)
    assert many.shape == (2, 4)
    np.testing.assert_allclose(many[0], one, rtol=1e-5, atol=1e-6)
    rows = [json.loads(x) for x in cli("predict", "--model", path, "--logits", "hello there", "so sad").stdout.splitlines()]
    np.testing.assert_allclose(many, np.array([r["logits"] for r in rows], dtype=np.float32), rtol=1e-5, atol=1e-6)
    assert clf.logits([]).shape == (0, 4)
    single = clf.classify("so sad")
    assert single["label"] == rows[1]["label"] and single["label_id"] == clf.labels.index(rows[1]["label"])


def test_int8_dtype_close_to_f32_and_bad_dtype_refused(models):
    path = str(models["softmax4"])
    texts = ["hello there", "so sad", "I am furious about this", "what a wonderful day"]
    f32 = bert_emotion.Classifier(path, dtype="f32").logits(texts)
    i8 = bert_emotion.Classifier(path, dtype="int8").logits(texts)
    assert not np.array_equal(f32, i8)  # int8 really ran
    np.testing.assert_allclose(i8, f32, atol=0.05 * float(np.abs(f32).max()))
    with pytest.raises(ValueError, match="--dtype: unknown dtype 'int4'"):
        bert_emotion.Classifier(path, dtype="int4")


def test_two_threads_classify_at_once(models):
    clf = bert_emotion.Classifier(str(models["softmax4"]), batch_size=4)
    texts = [f"text number {i} " + "happy " * (i % 23) for i in range(120)]
    expected = clf.logits(texts)
    results, errors = {}, []
    start = threading.Barrier(2)

    def work(name, subset):
        try:
            start.wait()
            for _ in range(3):
                results[name] = clf.logits(subset)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=("even", texts[0::2])),
               threading.Thread(target=work, args=("odd", texts[1::2]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    np.testing.assert_allclose(results["even"], expected[0::2], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(results["odd"], expected[1::2], rtol=1e-5, atol=1e-6)


def test_the_gil_is_released_while_computing(models):
    """A Python thread keeps running while another thread is inside a long classify call."""
    clf = bert_emotion.Classifier(str(models["softmax4"]), batch_size=8)
    texts = ["word " * 100] * 400
    ticks = []
    done = threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(1)
            done.wait(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        clf.classify(texts)
    finally:
        done.set()
        t.join()
    assert len(ticks) > 5


def test_text_pair_lengths_must_match(models):
    clf = bert_emotion.Classifier(str(models["softmax4"]))
    with pytest.raises(bert_emotion.InvalidArgumentError, match="text_pair"):
        clf.logits(["a", "b"], ["x"])
    np.testing.assert_allclose(
        clf.logits(["a", "b"], [None, "x"])[1], clf.logits_from_ids([clf.tokenizer.encode("b", "x").ids])[0], rtol=1e-5
    )


def test_multi_label_labels_and_threshold(models):
    """A multi-label model reports the labels passing the threshold (keyword, else thresholds.json / 0.5)."""
    everything = bert_emotion.Classifier(str(models["multi_label"]), threshold=0.0)
    assert everything.problem_type == "multi_label_classification"
    assert everything.thresholds == [0.0] * 4
    p = everything.classify("so happy")
    assert sorted(p["labels"]) == sorted(everything.labels)
    assert p["labels"][0] == p["label"]
    assert bert_emotion.Classifier(str(models["multi_label"]), threshold=1.0).classify("so happy")["labels"] == []
    assert bert_emotion.Classifier(str(models["multi_label"])).thresholds == [0.5] * 4
    assert "labels" not in bert_emotion.Classifier(str(models["softmax4"])).classify("so happy")
    with pytest.raises(ValueError):
        bert_emotion.Classifier(str(models["multi_label"]), threshold=1.5)
