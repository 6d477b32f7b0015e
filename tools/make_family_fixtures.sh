#!/usr/bin/env bash
# make_family_fixtures.sh — regenerates the BERT and RoBERTa fixtures from the PyTorch reference
# (../shared/reference: make_model.py, forward.py, train.py). Needs Debian's python3-torch:
#   tools/make_family_fixtures.sh
# Every model is random (seeded) with a 1000-token vocabulary so the committed files stay small.
# forward/{bert,bert_wide,roberta}/: config.json, model.safetensors, batch.json, expected.json
#   bert: init std 0.02, sentence pairs (token types 0 then 1); bert_wide: std 0.2, head dim 10,
#   gelu_new; roberta: std 0.2, pad id 1 inside rows (position ids), the longest row = 64 tokens.
# grads/{bert,roberta}/: the same with dropout 0 plus grads.safetensors (every gradient).
# train/roberta_traj/: a 50-step run of train.py (dropout off, replayed order), as make_train_fixture.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REF="${REF:-$ROOT/../shared/reference}"
PY=/usr/bin/python3
source "$ROOT/tools/reference_training.sh"
FWD="$ROOT/tests/fixtures/forward"
GRD="$ROOT/tests/fixtures/grads"
TRN="$ROOT/tests/fixtures/train"
mkdir -p "$FWD" "$GRD" "$TRN"

# batch SEED FAMILY PAIRS LENGTHS... -> JSON on stdout. BERT rows are [CLS]=101 ... [SEP]=102 with
# pad 0, RoBERTa rows <s>=0 ... </s>=2 with pad 1; a literal pad id sits inside rows of 6+ tokens.
# PAIRS=1: every other row is a pair, token types 0 up to its middle [SEP], then 1.
batch() {
  local seed=$1 family=$2 pairs=$3; shift 3
  $PY - "$seed" "$family" "$pairs" "$@" <<'PYEOF'
import json, random, sys
seed, family, pairs = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
lengths = [int(x) for x in sys.argv[4:]]
bos, eos, pad = (101, 102, 0) if family == "bert" else (0, 2, 1)
rng = random.Random(seed)
rows, types = [], []
for i, n in enumerate(lengths):
    body = [rng.randrange(3, 1000) for _ in range(max(0, n - 2))]
    if n >= 6:
        body[len(body) // 2] = pad
    row = ([bos] + body + [eos])[:n] if n >= 2 else [bos]
    t = [0] * len(row)
    if pairs and i % 2 == 1 and n >= 5:
        mid = n // 2
        row[mid] = eos
        t = [0] * (mid + 1) + [1] * (n - mid - 1)
    rows.append(row)
    types.append(t)
out = {"input_ids": rows, "labels": [rng.randrange(4) for _ in lengths]}
if pairs:
    out["token_type_ids"] = types
print(json.dumps(out))
PYEOF
}

# model DIR SEED ARCH CONFIG_JSON
model() {
  rm -rf "$1"
  $PY "$REF/make_model.py" --arch "$3" --config "$4" --out "$1" --seed "$2" --tokenizer-dir /nonexistent >/dev/null
}

BERT='"vocab_size": 1000, "max_position_embeddings": 64, "num_hidden_layers": 2'
ROBERTA='"vocab_size": 1000, "max_position_embeddings": 66, "num_hidden_layers": 2, "type_vocab_size": 1, "layer_norm_eps": 1e-5, "pad_token_id": 1'
NODROP='"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0'

# fixture KIND(forward|grads) NAME SEED ARCH PAIRS CONFIG LENGTHS...
fixture() {
  local kind=$1 name=$2 seed=$3 arch=$4 pairs=$5 cfg=$6; shift 6
  local d
  if [ "$kind" = forward ]; then d="$FWD/$name"; else d="$GRD/$name"; fi
  model "$d" "$seed" "$arch" "$cfg"
  batch "$seed" "$arch" "$pairs" "$@" > "$d/batch.json"
  local extra=()
  [ "$kind" = grads ] && extra=(--dump-grads "$d/grads.safetensors")
  $PY "$REF/forward.py" --model "$d" --batch "$d/batch.json" --grad-values 2 --threads 1 "${extra[@]}" \
      --out "$d/expected.json"
}

fixture forward bert      31 bert    1 "{$BERT, \"hidden_size\": 32, \"num_attention_heads\": 2, \"intermediate_size\": 64}" 2 9 17 64 33
fixture forward bert_wide 32 bert    1 "{$BERT, \"hidden_size\": 30, \"num_attention_heads\": 3, \"intermediate_size\": 48, \"initializer_range\": 0.2, \"hidden_act\": \"gelu_new\"}" 5 2 40 21
fixture forward roberta   33 roberta 0 "{$ROBERTA, \"hidden_size\": 32, \"num_attention_heads\": 2, \"intermediate_size\": 64, \"initializer_range\": 0.2}" 3 64 12 30 7
fixture grads   bert      41 bert    1 "{$BERT, \"hidden_size\": 32, \"num_attention_heads\": 2, \"intermediate_size\": 64, \"initializer_range\": 0.2, $NODROP}" 12 3 20 7
fixture grads   roberta   42 roberta 0 "{$ROBERTA, \"hidden_size\": 32, \"num_attention_heads\": 2, \"intermediate_size\": 64, \"initializer_range\": 0.2, \"hidden_act\": \"relu\", $NODROP}" 9 17 2 12

# ---- RoBERTa training trajectory: 50 steps, dropout off, the order replayed -------------------
T=$TRN/roberta_traj
rm -rf "$T"; mkdir -p "$T"
model "$T/init" 3 roberta "{$ROBERTA, \"hidden_size\": 32, \"num_attention_heads\": 2, \"intermediate_size\": 64, $NODROP}"
$PY - "$T" <<'PYEOF'
import random, sys, json
random.seed(12)
def make(n, path_ids, path_labels):
    with open(path_ids, "w") as f, open(path_labels, "w") as g:
        for _ in range(n):
            L = random.randint(1, 18)
            ids = [0] + [random.randint(3, 999) for _ in range(L)] + [2]
            f.write(json.dumps(ids) + "\n")
            g.write("%d\n" % random.randint(0, 3))
make(38, sys.argv[1] + "/train.jsonl", sys.argv[1] + "/train_labels.txt")
make(12, sys.argv[1] + "/eval.jsonl", sys.argv[1] + "/eval_labels.txt")
PYEOF
reference_train "$T/ref" --model "$T/init" --train-ids "$T/train.jsonl" --train-labels "$T/train_labels.txt" \
  --eval-ids "$T/eval.jsonl" --eval-labels "$T/eval_labels.txt"
mv "$T/ref/order.txt" "$T/order.txt"
rm -f "$T/ref/config.json"
du -sh "$FWD/bert" "$FWD/bert_wide" "$FWD/roberta" "$GRD/bert" "$GRD/roberta" "$T"
