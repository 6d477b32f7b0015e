#!/usr/bin/env bash
# Regenerates tests/fixtures/interop/: small DistilBertForSequenceClassification directories written
# by the PyTorch reference (../shared/reference/make_model.py) in F32, BF16 and F16, and
# expected.json with what PyTorch reads back from each (parameter count, tensor names and shapes,
# the first and last 3 values and the float64 sum of some tensors, widened to float32).
# tests/model_dir_test.cpp loads these with the C++ loader and compares.
#
#   tools/make_interop_fixture.sh        # from the repository root; needs /usr/bin/python3 + python3-torch
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REF="$ROOT/../shared/reference"
OUT="$ROOT/tests/fixtures/interop"
CONFIG='{"vocab_size": 1000, "dim": 24, "n_heads": 3, "hidden_dim": 48, "n_layers": 2, "max_position_embeddings": 64}'

rm -rf "$OUT"
mkdir -p "$OUT"
for dtype in f32 bf16 f16; do
  # no tokenizer files: the fixture is about weights and config
  /usr/bin/python3 "$REF/make_model.py" --config "$CONFIG" --out "$OUT/$dtype" --seed 0 --dtype "$dtype" \
    --tokenizer-dir /nonexistent >/dev/null
done

/usr/bin/python3 - "$REF" "$OUT" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
import torch
from safetensors_io import load_file
import distilbert

out = sys.argv[2]
probe = ["distilbert.embeddings.word_embeddings.weight",
         "distilbert.embeddings.position_embeddings.weight",
         "distilbert.embeddings.LayerNorm.weight",
         "distilbert.transformer.layer.1.ffn.lin1.weight",
         "distilbert.transformer.layer.0.attention.q_lin.bias",
         "pre_classifier.weight",
         "classifier.weight",
         "classifier.bias"]
expected = {"generator": "tools/make_interop_fixture.sh (make_model.py --seed 0)", "models": {}}
for dtype in ["f32", "bf16", "f16"]:
    d = f"{out}/{dtype}"
    tensors = load_file(f"{d}/model.safetensors")
    model = distilbert.load_model(d)  # the reference loads the directory strictly
    entry = {
        "dtype": {"f32": "F32", "bf16": "BF16", "f16": "F16"}[dtype],
        "parameters": sum(p.numel() for p in model.parameters()),
        "parameters_without_head": sum(p.numel() for n, p in model.named_parameters()
                                       if not n.startswith(("pre_classifier.", "classifier."))),
        "tensors": {k: list(v.shape) for k, v in sorted(tensors.items())},
        "values": {},
    }
    for name in probe:
        flat = tensors[name].to(torch.float32).reshape(-1)
        entry["values"][name] = {"first": flat[:3].tolist(), "last": flat[-3:].tolist(),
                                 "sum": float(flat.double().sum())}
    expected["models"][dtype] = entry
with open(f"{out}/expected.json", "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
    f.write("\n")
PY
du -sh "$OUT"
