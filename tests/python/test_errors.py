"""Engine errors become the documented Python exceptions, with the engine's messages."""

import pytest

import bert_emotion
from bert_emotion import errors


def test_hierarchy():
    assert issubclass(errors.FormatError, ValueError)
    assert issubclass(errors.Utf8Error, errors.FormatError)
    assert issubclass(errors.InvalidArgumentError, ValueError)
    assert issubclass(errors.UnsupportedError, ValueError)
    assert issubclass(errors.NotFoundError, FileNotFoundError)
    assert issubclass(errors.HubError, ConnectionError)
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), bert_emotion.BertEmotionError)


def test_missing_model_directory(tmp_path, cli):
    missing = tmp_path / "no" / "model"
    with pytest.raises(FileNotFoundError) as e:
        bert_emotion.Classifier(str(missing))
    assert isinstance(e.value, bert_emotion.BertEmotionError)
    # The message is the one the CLI prints.
    r = cli("predict", "--model", missing, "x", check=False)
    assert r.returncode != 0
    assert str(e.value) in r.stderr
    with pytest.raises(FileNotFoundError):
        bert_emotion.pipeline("text-classification", model=str(missing))


def test_malformed_config(models, tmp_path, cli):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(models["softmax4"], broken)
    (broken / "config.json").write_text('{"model_type": "distilbert", "dim": ')
    with pytest.raises(bert_emotion.FormatError) as e:
        bert_emotion.Classifier(str(broken))
    assert "config.json" in str(e.value)
    assert str(e.value) in cli("predict", "--model", broken, "x", check=False).stderr


def test_invalid_utf8_from_a_file(models, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"text,label\nok,joy\n\xff\xfe broken,anger\n")
    with pytest.raises(bert_emotion.FormatError, match="bad.csv"):
        bert_emotion.evaluate(model=str(models["softmax4"]), data=str(bad), split="test")


def test_invalid_arguments(models):
    with pytest.raises(bert_emotion.InvalidArgumentError, match="batch size must be >= 1"):
        bert_emotion.Classifier(str(models["softmax4"]), batch_size=0)
    clf = bert_emotion.Classifier(str(models["softmax4"]))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        clf.logits_from_ids([[101, 10 ** 6, 102]])
    with pytest.raises(ValueError, match="max_length"):
        clf.tokenizer.encode("hello world", max_length=1)


def test_unsupported_model_type(models, tmp_path):
    import json
    import shutil

    other = tmp_path / "gpt"
    shutil.copytree(models["softmax4"], other)
    cfg = json.loads((other / "config.json").read_text())
    cfg["model_type"] = "gpt2"
    (other / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(bert_emotion.UnsupportedError, match="gpt2"):
        bert_emotion.Classifier(str(other))
