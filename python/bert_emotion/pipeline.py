"""``bert_emotion.pipeline("text-classification", ...)``: a drop-in for transformers' pipeline.

The outputs are those of transformers' ``TextClassificationPipeline`` for the same arguments, shape
quirks included (read from ``transformers/pipelines/text_classification.py``):

* ``top_k`` not given at call time and a ``str`` input: a list around the result;
  ``top_k`` unset: ``{"label", "score"}`` of the best label (a list of those for a list input);
  ``top_k=None``: every label, best first; ``top_k=n``: the ``n`` best, always as lists.
* the legacy ``return_all_scores`` (when ``top_k`` is unset): ``True`` gives every label in label-id
  order (not sorted), ``False`` the best label; the config's ``return_all_scores`` is its default.
* ``function_to_apply`` unset: none for ``problem_type`` regression, sigmoid for multi-label or a
  single label, softmax otherwise; ``"sigmoid"``, ``"softmax"`` or ``"none"`` force one.
* inputs: a ``str``, a ``{"text": ..., "text_pair": ...}`` dict, ``[[text, pair]]`` (the old pair
  form), a list of those, or a generator (then an iterator of results comes back). Pairs are
  tokenized as ``tokenizer(text, text_pair)``; BERT models see the second text as token type 1.

Parameters set when the pipeline is built are the defaults of every call; call arguments override
them one by one, as in transformers. Scores are computed as transformers does (float32 NumPy,
the same softmax/sigmoid), so they agree with it to float rounding for the same logits.

    from bert_emotion import pipeline
    clf = pipeline("text-classification", model="runs/emo", top_k=None)
    clf("I love this!")       # [[{"label": "joy", "score": 0.93}, {"label": "optimism", ...}, ...]]
"""

import enum
import types
import warnings

import numpy as np

from . import _core
from .errors import InvalidArgumentError, UnsupportedError

TASKS = ("text-classification", "sentiment-analysis")


class ClassificationFunction(str, enum.Enum):
    """What turns logits into scores (transformers' enum of the same name)."""

    SIGMOID = "sigmoid"
    SOFTMAX = "softmax"
    NONE = "none"


def sigmoid(outputs):
    return 1.0 / (1.0 + np.exp(-outputs))


def softmax(outputs):
    maxes = np.max(outputs, axis=-1, keepdims=True)
    shifted_exp = np.exp(outputs - maxes)
    return shifted_exp / shifted_exp.sum(axis=-1, keepdims=True)


# Tokenizer keyword arguments the pipeline accepts; padding never changes the results (batches are
# packed without padding), add_special_tokens=False is not supported.
_TOKENIZER_KWARGS = ("truncation", "max_length", "padding", "add_special_tokens")
_TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second", "do_not_truncate")


class TextClassificationPipeline:
    """Text classification with a bert-emotion Classifier, as transformers' pipeline of that name."""

    def __init__(self, classifier, batch_size=None, **kwargs):
        self.classifier = classifier
        self.model_config = classifier.config
        self.labels = classifier.labels
        self.batch_size = batch_size
        self._preprocess_params, self._postprocess_params = self._sanitize_parameters(**kwargs)

    # Which arguments go to tokenization and which to postprocessing (top_k "" = not given,
    # None = every label: the two differ).
    def _sanitize_parameters(self, return_all_scores=None, function_to_apply=None, top_k="", **tokenizer_kwargs):
        for name in tokenizer_kwargs:
            if name not in _TOKENIZER_KWARGS:
                warnings.warn(f"Keyword argument {name!r} is not recognized and is ignored.", UserWarning, stacklevel=3)
        preprocess_params = {k: v for k, v in tokenizer_kwargs.items() if k in _TOKENIZER_KWARGS}

        postprocess_params = {}
        if "return_all_scores" in self.model_config and return_all_scores is None:
            return_all_scores = self.model_config["return_all_scores"]

        if isinstance(top_k, int) or top_k is None:
            postprocess_params["top_k"] = top_k
            postprocess_params["_legacy"] = False
        elif return_all_scores is not None:
            warnings.warn(
                "`return_all_scores` is deprecated: use `top_k=None` for every score, `top_k=1` for the best.",
                UserWarning,
                stacklevel=3,
            )
            postprocess_params["top_k"] = None if return_all_scores else 1

        if isinstance(function_to_apply, str):
            function_to_apply = ClassificationFunction[function_to_apply.upper()]
        if function_to_apply is not None:
            postprocess_params["function_to_apply"] = function_to_apply
        return preprocess_params, postprocess_params

    def __call__(self, inputs, **kwargs):
        """Classifies a text, a {"text", "text_pair"} dict, or a list (or generator) of them."""
        batch_size = kwargs.pop("batch_size", None)
        kwargs.pop("num_workers", None)
        if batch_size is None:
            batch_size = self.batch_size
        preprocess_params, postprocess_params = self._sanitize_parameters(**kwargs)
        preprocess_params = {**self._preprocess_params, **preprocess_params}
        postprocess_params = {**self._postprocess_params, **postprocess_params}

        if isinstance(inputs, types.GeneratorType):
            return self._iterate(inputs, batch_size, preprocess_params, postprocess_params)
        if isinstance(inputs, list):
            return self._run(inputs, batch_size, preprocess_params, postprocess_params)
        result = self._run([inputs], batch_size, preprocess_params, postprocess_params)[0]
        legacy = "top_k" not in kwargs
        if isinstance(inputs, str) and legacy:
            # transformers: "This pipeline is odd, and return a list when single item is run".
            return [result]
        return result

    def _iterate(self, generator, batch_size, preprocess_params, postprocess_params):
        chunk = []
        step = batch_size or self.classifier.batch_size
        for item in generator:
            chunk.append(item)
            if len(chunk) == step:
                yield from self._run(chunk, batch_size, preprocess_params, postprocess_params)
                chunk = []
        if chunk:
            yield from self._run(chunk, batch_size, preprocess_params, postprocess_params)

    def _run(self, items, batch_size, preprocess_params, postprocess_params):
        texts, pairs = [], []
        for item in items:
            text, pair = _text_and_pair(item)
            texts.append(text)
            pairs.append(pair)
        truncation, max_length = _truncation(preprocess_params)
        logits = self.classifier.logits(
            texts,
            pairs if any(p is not None for p in pairs) else None,
            truncation=truncation,
            max_length=max_length,
            batch_size=batch_size,
        )
        return [self.postprocess(row, **postprocess_params) for row in logits]

    def _default_function(self):
        problem_type = self.model_config.get("problem_type")
        num_labels = len(self.labels)
        if problem_type == "regression":
            return ClassificationFunction.NONE
        if problem_type == "multi_label_classification" or num_labels == 1:
            return ClassificationFunction.SIGMOID
        if problem_type == "single_label_classification" or num_labels > 1:
            return ClassificationFunction.SOFTMAX
        if "function_to_apply" in self.model_config:
            return self.model_config["function_to_apply"]
        return ClassificationFunction.NONE

    def postprocess(self, logits, function_to_apply=None, top_k=1, _legacy=True):
        """Scores of one row of logits, shaped as transformers' postprocess shapes them."""
        if function_to_apply is None:
            function_to_apply = self._default_function()
        outputs = np.asarray(logits, dtype=np.float32)
        if function_to_apply == ClassificationFunction.SIGMOID:
            scores = sigmoid(outputs)
        elif function_to_apply == ClassificationFunction.SOFTMAX:
            scores = softmax(outputs)
        elif function_to_apply == ClassificationFunction.NONE:
            scores = outputs
        else:
            raise ValueError(f"Unrecognized `function_to_apply` argument: {function_to_apply}")

        if top_k == 1 and _legacy:
            return {"label": self.labels[scores.argmax().item()], "score": scores.max().item()}

        dict_scores = [{"label": self.labels[i], "score": score.item()} for i, score in enumerate(scores)]
        if not _legacy:
            dict_scores.sort(key=lambda x: x["score"], reverse=True)
            if top_k is not None:
                dict_scores = dict_scores[:top_k]
        return dict_scores


def _text_and_pair(item):
    """The (text, text_pair) of one pipeline input, as transformers' preprocess accepts them."""
    if isinstance(item, dict):
        unknown = set(item) - {"text", "text_pair"}
        if unknown:
            raise ValueError(f"text classification inputs take the keys 'text' and 'text_pair', got {sorted(unknown)}")
        if "text" not in item:
            raise ValueError("a text classification input dict needs a 'text' key")
        text, pair = item["text"], item.get("text_pair")
    elif isinstance(item, list) and len(item) == 1 and isinstance(item[0], list) and len(item[0]) == 2:
        text, pair = item[0][0], item[0][1]  # the old [[text, text_pair]] form
    elif isinstance(item, list):
        raise ValueError(
            "The pipeline received invalid inputs: to send text pairs, send a dictionary "
            '`{"text": "My text", "text_pair": "My pair"}`.'
        )
    else:
        text, pair = item, None
    if not isinstance(text, str) or not (pair is None or isinstance(pair, str)):
        raise ValueError(f"text input must be of type `str`, got {type(text).__name__}")
    return text, pair


def _truncation(params):
    """(truncate?, max_length) from tokenizer arguments, with transformers' defaults: no truncation
    unless asked, except that a max_length alone turns longest-first truncation on."""
    truncation = params.get("truncation")
    max_length = params.get("max_length")
    if params.get("add_special_tokens", True) is not True:
        raise UnsupportedError("add_special_tokens=False is not supported: the classifier needs [CLS] and [SEP]")
    if isinstance(truncation, str):
        if truncation not in _TRUNCATION_STRATEGIES:
            raise ValueError(f"truncation must be a bool or one of {_TRUNCATION_STRATEGIES}, got {truncation!r}")
        if truncation in ("only_first", "only_second"):
            raise UnsupportedError(f"truncation={truncation!r} is not supported (longest_first is)")
        truncation = truncation != "do_not_truncate"
    elif truncation is None:
        truncation = max_length is not None
    if max_length is not None and (not isinstance(max_length, int) or max_length < 2):
        raise InvalidArgumentError(f"max_length must be an integer >= 2 ([CLS] and [SEP]), got {max_length!r}")
    return bool(truncation), max_length


def _check_device(device):
    if device is None or device == -1 or str(device) == "cpu":
        return
    raise UnsupportedError(f"bert-emotion runs on the CPU: device={device!r} is not supported (use 'cpu')")


# transformers' dtype / torch_dtype spellings (torch dtypes arrive as "torch.bfloat16" via str()) ->
# the engine's inference dtypes. "int8" (dynamic quantization) has no torch spelling: ours only.
_DTYPES = {
    "auto": "auto",
    "float32": "f32", "torch.float32": "f32", "fp32": "f32", "f32": "f32",
    "bfloat16": "bf16", "torch.bfloat16": "bf16", "bf16": "bf16",
    "int8": "int8",
}


def _engine_dtype(dtype):
    """The Classifier dtype for a pipeline's dtype= / torch_dtype= ("auto" for None)."""
    if dtype is None:
        return "auto"
    name = str(dtype)
    if name in _DTYPES:
        return _DTYPES[name]
    raise UnsupportedError(
        f"dtype={dtype!r} is not supported: bert-emotion runs float32, bfloat16 or int8 on the CPU "
        f"(one of {sorted(_DTYPES)})"
    )


def pipeline(
    task=None,
    model=None,
    *,
    device=None,
    dtype=None,
    torch_dtype=None,
    batch_size=None,
    tokenizer=None,
    revision=None,
    framework=None,
    threads=0,
    **kwargs,
):
    """transformers.pipeline for text classification, running on bert-emotion.

    ``model`` is a model directory, a hub id (``org/name``, downloaded into the Hugging Face cache)
    or a ``Classifier``. ``top_k``, ``function_to_apply``, ``return_all_scores`` and the tokenizer
    arguments ``truncation`` / ``max_length`` / ``padding`` become the defaults of every call.
    ``device`` must be the CPU. ``dtype`` (or ``torch_dtype``) picks the precision of the linear
    layers: ``float32``, ``bfloat16`` (also as ``torch.bfloat16``) or ``int8`` (dynamic
    quantization); ``None`` / ``"auto"`` runs the model directory's own (int8 for a directory
    written by ``bert-emotion quantize``). ``threads`` sets the OpenMP threads per call.
    """
    if task is not None and task not in TASKS:
        raise UnsupportedError(f"bert-emotion provides the tasks {TASKS}, not {task!r}")
    if model is None:
        raise ValueError("bert_emotion.pipeline needs model= (a model directory or hub id)")
    _check_device(device)
    if dtype is not None and torch_dtype is not None and _engine_dtype(dtype) != _engine_dtype(torch_dtype):
        raise InvalidArgumentError(f"dtype={dtype!r} and torch_dtype={torch_dtype!r} disagree")
    engine_dtype = _engine_dtype(dtype if dtype is not None else torch_dtype)
    if framework not in (None, "pt"):
        raise UnsupportedError(f"framework={framework!r} is not supported")
    # Accepted for compatibility; they change nothing here.
    for name in ("trust_remote_code", "use_fast", "model_kwargs", "device_map", "token", "num_workers"):
        kwargs.pop(name, None)
    if isinstance(model, _core.Classifier):
        classifier = model
        if engine_dtype not in ("auto", classifier.dtype):
            raise InvalidArgumentError(
                f"dtype={engine_dtype!r}: the Classifier given as model runs {classifier.dtype!r}; "
                f"create it with Classifier(..., dtype={engine_dtype!r})"
            )
    else:
        model = str(model)
        if revision is not None:
            model = f"{model}@{revision}"
        classifier = _core.Classifier(model, threads=threads, dtype=engine_dtype)
    if tokenizer is not None and str(tokenizer) not in (classifier.model_dir, str(model)):
        raise UnsupportedError("tokenizer= must be the model's own (its directory's tokenizer files are used)")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise InvalidArgumentError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    return TextClassificationPipeline(classifier, batch_size=batch_size, **kwargs)
