#!/usr/bin/python3
"""ONNX export of the bert-base / roberta-base classifier that bench/torch_peer.py times (same
builder, same seed), for bench/ort_peer.mjs: what ../shared/reference/ort/export_onnx.py does for
DistilBERT, for the other families (run by bench/families.sh; the .onnx files stay in the scratch dir).

    /usr/bin/python3 bench/export_onnx_family.py --family bert|roberta --reference ../shared/reference OUT.onnx

Inputs input_ids and attention_mask (int64, dynamic batch and sequence; token types default to 0),
output logits. Also writes OUT.onnx.ref.json (3 rows x 24 tokens, one padded, with the PyTorch logits)
like export_onnx.py.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_peer import build_family_model  # noqa: E402


class LogitsOnly(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids, attention_mask).logits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--family", required=True, choices=["bert", "roberta"])
    ap.add_argument("--reference", required=True)
    ap.add_argument("--opset", type=int, default=14)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    model = LogitsOnly(build_family_model(a.family, a.seed, os.path.abspath(a.reference))).eval()
    pad = model.model.config.pad_token_id
    gen = torch.Generator().manual_seed(7)
    ids = torch.randint(1000, model.model.config.vocab_size, (3, 24), generator=gen)
    mask = torch.ones_like(ids)
    mask[2, 15:] = 0
    ids[2, 15:] = pad
    with torch.inference_mode():
        torch.onnx.export(model, (ids[:2], mask[:2]), a.out, input_names=["input_ids", "attention_mask"],
                          output_names=["logits"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                        "attention_mask": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}},
                          opset_version=a.opset, do_constant_folding=True)
        logits = model(ids, mask)
    with open(a.out + ".ref.json", "w") as f:
        json.dump({"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "logits": logits.tolist()}, f)
    print(f"exported {a.out}: {a.family}, opset {a.opset}, {os.path.getsize(a.out) / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
