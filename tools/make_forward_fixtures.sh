#!/usr/bin/env bash
# Regenerates tests/fixtures/forward/* and tests/fixtures/grads/* from the PyTorch reference
# (../shared/reference: make_model.py, forward.py). Needs Debian's python3-torch; run from anywhere:
#   tools/make_forward_fixtures.sh
# Every model is random (seeded) with a 1000-token vocabulary so the committed files stay small.
# forward/<name>/: config.json, model.safetensors, batch.json, expected.json (forward.py output)
# grads/<name>/:   the same plus grads.safetensors (every parameter gradient, forward.py --dump-grads)
# forward/bce.json: binary_cross_entropy_with_logits loss and gradient on fixed logits/targets
# (forward.py has no multi-label path, so the loss is checked on its own).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REF="${REF:-$ROOT/../shared/reference}"
PY=/usr/bin/python3
FWD="$ROOT/tests/fixtures/forward"
GRD="$ROOT/tests/fixtures/grads"
mkdir -p "$FWD" "$GRD"

# batch NAME SEED VOCAB LENGTHS... -> JSON on stdout: rows start with 101 and end with 102,
# random ids in [1, VOCAB) in between; LABELS (0..3) derived from the seed.
batch() {
  local seed=$1 vocab=$2; shift 2
  $PY - "$seed" "$vocab" "$@" <<'PYEOF'
import json, random, sys
seed, vocab = int(sys.argv[1]), int(sys.argv[2])
lengths = [int(x) for x in sys.argv[3:]]
rng = random.Random(seed)
rows = []
for n in lengths:
    body = [rng.randrange(1, vocab) for _ in range(max(0, n - 2))]
    if n >= 6:
        body[len(body) // 2] = 0   # a literal [PAD] id inside real text: attended to, but no gradient
    rows.append(([101] + body + [102])[:n] if n >= 2 else [101])
labels = [rng.randrange(4) for _ in lengths]
print(json.dumps({"input_ids": rows, "labels": labels}))
PYEOF
}

# model DIR SEED CONFIG_JSON [DTYPE]
model() {
  local dir=$1 seed=$2 cfg=$3 dtype=${4:-f32}
  rm -rf "$dir"
  $PY "$REF/make_model.py" --config "$cfg" --out "$dir" --seed "$seed" --dtype "$dtype" \
      --tokenizer-dir /nonexistent >/dev/null
}

SMALL='"vocab_size": 1000, "max_position_embeddings": 64, "n_layers": 2'

# ---- forward fixtures: logits (and loss) for a padded batch, lengths 2 .. max_position_embeddings
make_forward() {
  local name=$1 seed=$2 cfg=$3 dtype=$4; shift 4
  local d="$FWD/$name"
  model "$d" "$seed" "$cfg" "$dtype"
  batch "$seed" 1000 "$@" > "$d/batch.json"
  $PY "$REF/forward.py" --model "$d" --batch "$d/batch.json" --grad-values 2 --threads 1 --out "$d/expected.json"
}
make_forward f32     11 "{$SMALL, \"dim\": 32, \"n_heads\": 2, \"hidden_dim\": 64, \"initializer_range\": 0.2}" f32 2 9 17 64 33
make_forward headdim10 12 "{$SMALL, \"dim\": 30, \"n_heads\": 3, \"hidden_dim\": 48, \"initializer_range\": 0.2, \"sinusoidal_pos_embds\": true}" f32 5 2 40 21
make_forward f16     13 "{$SMALL, \"dim\": 32, \"n_heads\": 4, \"hidden_dim\": 64, \"initializer_range\": 0.2}" f16 3 64 12
make_forward bf16    14 "{$SMALL, \"dim\": 32, \"n_heads\": 2, \"hidden_dim\": 64, \"initializer_range\": 0.2}" bf16 30 2 7
make_forward gelu_new 15 "{$SMALL, \"dim\": 24, \"n_heads\": 2, \"hidden_dim\": 40, \"initializer_range\": 0.2, \"activation\": \"gelu_new\"}" f32 8 19 3

# ---- gradient fixtures: dropout 0 in the config, every gradient dumped
NODROP='"dropout": 0.0, "attention_dropout": 0.0, "seq_classif_dropout": 0.0'
make_grads() {
  local name=$1 seed=$2 cfg=$3; shift 3
  local d="$GRD/$name"
  model "$d" "$seed" "$cfg" f32
  batch "$seed" 1000 "$@" > "$d/batch.json"
  $PY "$REF/forward.py" --model "$d" --batch "$d/batch.json" --grad-values 2 --threads 1 \
      --dump-grads "$d/grads.safetensors" --out "$d/expected.json"
}
make_grads tiny   21 "{$SMALL, \"dim\": 32, \"n_heads\": 2, \"hidden_dim\": 64, \"initializer_range\": 0.2, $NODROP}" 12 3 20 7
make_grads headdim10 22 "{$SMALL, \"dim\": 30, \"n_heads\": 3, \"hidden_dim\": 40, \"initializer_range\": 0.2, \"sinusoidal_pos_embds\": true, \"activation\": \"relu\", $NODROP}" 9 17 2

# ---- BCE-with-logits reference (multi-label loss)
$PY - "$FWD/bce.json" <<'PYEOF'
import json, sys, torch
import torch.nn.functional as F
g = torch.Generator().manual_seed(5)
logits = (torch.randn(3, 4, generator=g) * 3).float()
logits[0, 0] = 40.0; logits[1, 1] = -40.0          # saturated entries: the stable form matters
targets = torch.tensor([[1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 0, 0]], dtype=torch.float32)
z = logits.clone().requires_grad_(True)
loss = F.binary_cross_entropy_with_logits(z, targets)
loss.backward()
json.dump({"logits": logits.tolist(), "targets": targets.tolist(), "loss": loss.item(),
           "grad": z.grad.tolist()}, open(sys.argv[1], "w"), indent=1)
PYEOF
du -sh "$FWD" "$GRD"
