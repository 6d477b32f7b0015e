"""``bert_emotion.train(...)`` and ``bert_emotion.evaluate(...)``: the CLI's train and eval from Python.

Keyword arguments are the CLI's flags in snake_case (``learning_rate``, ``num_train_epochs``,
``per_device_train_batch_size``, ``max_steps``, ``output_dir``, ...; the Trainer's names that the
CLI accepts work too). Both return the metrics dict the CLI writes: ``train`` the
``all_results.json`` of the output directory (``train_loss``, ``eval_loss``, ``eval_f1``, ...,
``test_*``), ``evaluate`` what ``eval --output`` writes (``eval_loss``, ``eval_f1``, ...).

    import bert_emotion
    metrics = bert_emotion.train(model="distilbert-base-cased", data="tweet_eval/emotion",
                                 output_dir="runs/emo", num_train_epochs=3)
    bert_emotion.evaluate(model="runs/emo", data="tweet_eval/emotion", split="test")["eval_f1"]

Sentence pairs: ``text_pair_column="hypothesis"`` reads the second text from that CSV/TSV column or
JSONL key (train and validation files); rows are tokenized as pairs, truncated longest-first, and
BERT models see the second text as token type 1 (in training and evaluation).

Progress: ``callback(info)`` after every optimizer step (``info``: step, total_steps, epoch, loss,
learning_rate, grad_norm); without one, a tqdm bar when tqdm is installed. Ctrl-C (or an exception
from the callback) stops training after saving a checkpoint of that step, then is raised; continue
with ``resume_from_checkpoint="latest"``.
"""

from . import _core


def _tqdm_callback():
    """A callback drawing a tqdm bar, or None when tqdm is not installed."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None, None
    state = {}

    def callback(info):
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = tqdm(total=info["total_steps"], initial=info["step"] - 1, unit="step")
        bar.set_postfix(loss=f"{info['loss']:.4f}", lr=f"{info['learning_rate']:.2e}", refresh=False)
        bar.update(1)

    def close():
        if "bar" in state:
            state["bar"].close()

    return callback, close


def train(model=None, data=None, output_dir=None, *, callback=None, progress=True, quiet=True, **options):
    """Fine-tunes like ``bert-emotion train`` and returns the metrics of all_results.json.

    ``quiet=False`` also prints the CLI's progress lines, results table and test report (to the
    process's stdout/stderr). ``progress=False`` turns the tqdm bar off.
    """
    close = None
    if callback is None and progress:
        callback, close = _tqdm_callback()
    options.update(model=model, data=data, output_dir=output_dir, quiet=quiet)
    try:
        return _core.train(options, callback)
    finally:
        if close is not None:
            close()


def evaluate(model=None, data=None, *, split="test", **options):
    """Evaluates like ``bert-emotion eval --model`` and returns the dict its ``--output`` writes.

    Options: ``batch_size`` (32), ``max_length``, ``threads``, ``text_column``, ``label_column``,
    ``text_pair_column``, ``output`` (also write the JSON file).
    """
    options.update(model=model, data=data, split=split)
    return _core.evaluate(options)
