"""bert_emotion: fine-tune, evaluate and serve transformer text classifiers on a native C++ engine.

    import bert_emotion
    clf = bert_emotion.pipeline("text-classification", model="runs/emo")   # transformers' pipeline
    clf(["I love this!", "so sad today"])      # [{"label": "joy", "score": 0.93}, ...]

    c = bert_emotion.Classifier("runs/emo")    # load once; thread-safe
    c.logits(["I love this!"])                 # numpy float32 (1, num_labels)
    bert_emotion.Tokenizer("runs/emo").encode("Hello @user")   # ids, tokens, offsets, ...
    bert_emotion.train(model=..., data=..., output_dir=...)    # the CLI's train, same outputs

See docs/PYTHON.md. Errors are the classes of bert_emotion.errors (ValueError / FileNotFoundError
subclasses under BertEmotionError).
"""

import os

# OpenMP reads its waiting policy when the engine loads: the CLI's defaults unless the user chose
# (src/util/openmp_waits.hpp, README "Speed"): sleep when idle, after a short spin (~0.1 ms) only
# if the 1-minute load average leaves a CPU for every thread (all cores here).
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        _contended = os.getloadavg()[0] > 0.5
    except OSError:
        _contended = False
    os.environ["GOMP_SPINCOUNT"] = "0" if _contended else "10000"

from . import errors  # noqa: E402  (before _core: the engine's errors are raised as these classes)
from ._core import Classifier, Encoding, Tokenizer, __version__  # noqa: E402
from .errors import *  # noqa: E402,F401,F403
from .pipeline import ClassificationFunction, TextClassificationPipeline, pipeline  # noqa: E402
from .training import evaluate, train  # noqa: E402

__all__ = [
    "pipeline",
    "TextClassificationPipeline",
    "ClassificationFunction",
    "Classifier",
    "Tokenizer",
    "Encoding",
    "train",
    "evaluate",
    "__version__",
] + errors.__all__
