#!/usr/bin/python3
"""PyTorch peer of bench/families.sh for BERT and RoBERTa: ../shared/reference/bench.py's latency
and throughput measurements (its methodology, its WordPiece tweet lengths, its output JSON) on a
random bert-base / roberta-base classifier, because bench.py itself builds distilbert-base-cased only.

    /usr/bin/python3 bench/torch_peer.py --family bert|roberta --reference ../shared/reference \\
        latency|throughput [any bench.py option: --threads 2 --seed 1 --sorted ...]

The model is bert.py's BertForSequenceClassification / RobertaForSequenceClassification with
make_model.py's bert-base / roberta-base preset and 4 labels, HF's random init from --seed. Batches
are bench.py's (random ids, right-padded), with RoBERTa's padding set to its pad_token_id so that
its position ids are the real ones. Also used by export_onnx_family.py (build_family_model).
"""
import os
import sys

PRESET = {"bert": "bert-base", "roberta": "roberta-base"}


def take_option(argv, name):
    """Removes `name VALUE` from argv and returns VALUE (None when absent)."""
    if name not in argv:
        return None
    i = argv.index(name)
    value = argv[i + 1]
    del argv[i:i + 2]
    return value


def build_family_model(family, seed, reference):
    sys.path.insert(0, reference)
    import torch
    from bert import ARCHS
    from distilbert import EMOTION_LABELS
    from make_model import ARCH_PRESETS

    config_cls, model_cls = ARCHS[family]
    cfg = config_cls(id2label=dict(enumerate(EMOTION_LABELS)), **ARCH_PRESETS[family][PRESET[family]])
    torch.manual_seed(seed)
    return model_cls(cfg)


def main():
    argv = sys.argv[1:]
    family = take_option(argv, "--family")
    reference = os.path.abspath(take_option(argv, "--reference") or
                                os.path.join(os.path.dirname(__file__), "..", "..", "shared", "reference"))
    if family not in PRESET:
        sys.exit("usage: torch_peer.py --family bert|roberta [--reference DIR] latency|throughput [bench.py options]")
    sys.path.insert(0, reference)
    import bench

    plain_batch = bench.make_batch

    def make_batch(lengths, vocab, gen):
        ids, mask = plain_batch(lengths, vocab, gen)
        ids[mask == 0] = model_pad[0]
        return ids, mask

    model_pad = [0]

    def build_model(seed=0):
        model = build_family_model(family, seed, reference)
        model_pad[0] = model.config.pad_token_id
        return model

    bench.build_model = build_model
    bench.make_batch = make_batch
    sys.argv = [bench.__file__] + argv
    bench.main()


if __name__ == "__main__":
    main()
