#!/usr/bin/env bash
# make_pair_fixtures.sh — a tiny BERT model directory WITH a WordPiece tokenizer and sentence pairs,
# for the tests that run text pairs end to end (Classifier, eval, predict --pair-input, serve):
#   tools/make_pair_fixtures.sh          (needs Debian's python3-torch; ../shared/reference)
# tests/fixtures/pairs/bert/: vocab.txt (every character of the texts, alone and as ##piece, plus
#   their whole words), tokenizer_config.json, config.json + model.safetensors from make_model.py
#   (hidden 32, 2 layers, init std 0.2 so that token types move the logits visibly);
#   pairs.json: the texts, the reference tokenizer's ids (wordpiece.py) laid out as
#   [CLS] A [SEP] B [SEP] with token types 0 then 1, and forward.py's logits for them.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REF="${REF:-$ROOT/../shared/reference}"
PY=/usr/bin/python3
OUT="$ROOT/tests/fixtures/pairs/bert"
TOK="$(mktemp -d)"
trap 'rm -rf "$TOK"' EXIT
rm -rf "$OUT"
mkdir -p "$OUT"

# The vocabulary and the tokenizer config (cased, [PAD] = 0).
$PY - "$TOK" <<'PYEOF'
import json, sys
out = sys.argv[1]
PAIRS = [
    ["I love this!", "It is wonderful."],
    ["so sad today", "Nothing went right, again."],
    ["What a day", "I can't believe it happened"],
    ["Angry about the delay.", "Still waiting at gate 12?"],
    ["fine", "a much longer second sentence that keeps going and going"],
]
words, chars = [], set()
for a, b in PAIRS:
    for t in (a, b):
        for w in t.replace("!", " ").replace(".", " ").replace(",", " ").replace("?", " ").replace("'", " ").split():
            if w not in words:
                words.append(w)
        chars.update(c for c in t if not c.isspace())
vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
for c in sorted(chars):
    vocab.append(c)
for c in sorted(chars):
    vocab.append("##" + c)
vocab += [w for w in words if w not in vocab]
with open(out + "/vocab.txt", "w", encoding="utf-8") as f:
    f.write("\n".join(vocab) + "\n")
with open(out + "/tokenizer_config.json", "w", encoding="utf-8") as f:
    json.dump({"do_lower_case": False, "model_max_length": 64, "tokenizer_class": "BertTokenizer",
               "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]",
               "mask_token": "[MASK]"}, f, indent=2)
with open(out + "/pairs.txt", "w", encoding="utf-8") as f:
    json.dump(PAIRS, f)
print(len(vocab))
PYEOF
V=$(wc -l < "$TOK/vocab.txt")

$PY "$REF/make_model.py" --arch bert --out "$OUT" --seed 61 --tokenizer-dir "$TOK" --config \
  "{\"vocab_size\": $V, \"max_position_embeddings\": 64, \"num_hidden_layers\": 2, \"hidden_size\": 32, \"num_attention_heads\": 2, \"intermediate_size\": 64, \"initializer_range\": 0.2}" >/dev/null

# Reference ids (wordpiece.py) as pairs, then the reference logits.
$PY - "$REF" "$TOK" "$OUT" <<'PYEOF'
import json, subprocess, sys
ref, tok, out = sys.argv[1:4]
sys.path.insert(0, ref)
from wordpiece import BertWordPieceTokenizer
wp = BertWordPieceTokenizer(tok + "/vocab.txt")
pairs = json.load(open(tok + "/pairs.txt"))
ids, types = [], []
for a, b in pairs:
    ia, ib = wp.tokenize_to_ids(a), wp.tokenize_to_ids(b)
    assert wp.unk_id not in ia + ib, (a, b)
    ids.append([wp.cls_id] + ia + [wp.sep_id] + ib + [wp.sep_id])
    types.append([0] * (len(ia) + 2) + [1] * (len(ib) + 1))
batch = {"input_ids": ids, "token_type_ids": types}
res = subprocess.run([sys.executable, ref + "/forward.py", "--model", out, "--batch", json.dumps(batch),
                      "--threads", "1"], check=True, capture_output=True, text=True)
logits = json.loads(res.stdout)["logits"]
res0 = subprocess.run([sys.executable, ref + "/forward.py", "--model", out, "--batch",
                       json.dumps({"input_ids": ids}), "--threads", "1"], check=True, capture_output=True, text=True)
json.dump({"pairs": pairs, "input_ids": ids, "token_type_ids": types, "logits": logits,
           "logits_all_type_0": json.loads(res0.stdout)["logits"]}, open(out + "/pairs.json", "w"), indent=1)
PYEOF
ls "$OUT"
