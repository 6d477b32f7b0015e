#!/usr/bin/env bash
# make_pair_train_fixture.sh — a 50-step training run on BERT sentence pairs by the PyTorch reference
# (../shared/reference/train.py), for the tests of `train --text-pair-column`:
#   tools/make_pair_train_fixture.sh          (needs Debian's python3-torch; run after make_pair_fixtures.sh)
# tests/fixtures/pairs/bert_traj/:
#   init/          a random tiny BERT (hidden 32, 2 layers, dropout 0) with the WordPiece vocabulary of
#                  tests/fixtures/pairs/bert (vocab.txt, tokenizer_config.json), emotion labels
#   data/train.csv 38 labelled pairs: text,text_pair,label (words of that vocabulary, some spelled as
#                  unknown words that split into ##pieces, punctuation; labels by name, each cued by a
#                  word of the second text only; every label occurs in both files)
#   data/val.jsonl 12 more as {"text", "text_pair", "label"}
#   train.jsonl, eval.jsonl   the reference tokenizer's (wordpiece.py) pairs: [CLS] A [SEP] B [SEP]
#                  with token types 0 then 1, as train.py reads them
#   order.txt      the example order train.py drew (numpy RandomState(42)), replayed with --order
#   ref/           train.py's log.jsonl (no wall-clock seconds) and final model.safetensors
#                  (lr 1e-3, 5 warmup steps, weight decay 0.01, clip 0.45, batch 4, 5 epochs, dropout off:
#                  the recipe of tests/fixtures/train/traj)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REF="${REF:-$ROOT/../shared/reference}"
PY=/usr/bin/python3
source "$ROOT/tools/reference_training.sh"
SRC="$ROOT/tests/fixtures/pairs/bert"
T="$ROOT/tests/fixtures/pairs/bert_traj"
TOK="$(mktemp -d)"
trap 'rm -rf "$TOK"' EXIT
rm -rf "$T"
mkdir -p "$T/data"
cp "$SRC/vocab.txt" "$SRC/tokenizer_config.json" "$TOK/"
V=$(wc -l < "$SRC/vocab.txt")

$PY "$REF/make_model.py" --arch bert --out "$T/init" --seed 7 --tokenizer-dir "$TOK" --config \
  "{\"vocab_size\": $V, \"max_position_embeddings\": 64, \"num_hidden_layers\": 2, \"hidden_size\": 32, \"num_attention_heads\": 2, \"intermediate_size\": 64, \"hidden_dropout_prob\": 0.0, \"attention_probs_dropout_prob\": 0.0}" >/dev/null

# Texts, the CSV / JSONL data files and the reference ids.
$PY - "$REF" "$T" <<'PYEOF'
import csv, json, random, sys
ref, out = sys.argv[1:3]
sys.path.insert(0, ref)
from wordpiece import BertWordPieceTokenizer
wp = BertWordPieceTokenizer(out + "/init/vocab.txt")
vocab = [l.rstrip("\n") for l in open(out + "/init/vocab.txt", encoding="utf-8")]
words = [v for v in vocab if len(v) > 1 and not v.startswith("##") and not v.startswith("[")]
letters = [v for v in vocab if len(v) == 1 and v.isalpha()]
labels = json.load(open(out + "/init/config.json"))["id2label"]
names = [labels[str(i)] for i in range(len(labels))]
rng = random.Random(5)

def sentence(n_words):
    parts = []
    for _ in range(n_words):
        if rng.random() < 0.15:  # a word outside the vocabulary: WordPiece splits it into ##pieces
            parts.append("".join(rng.choice(letters) for _ in range(rng.randint(2, 5))))
        else:
            parts.append(rng.choice(words))
    return " ".join(parts) + rng.choice(["", ".", "!", "?"])

# The label is cued by a word of the second text alone (its label's cue word), so only the pair
# carries it. Every label occurs: sklearn's macro F1 in train.py averages over the labels present.
cues = {name: w for name, w in zip(names, rng.sample(words, len(names)))}
words = [w for w in words if w not in cues.values()]

def make(n):
    rows = []
    for i in range(n):
        label = names[i % len(names)] if i < len(names) else rng.choice(names)  # every label occurs
        a, b = sentence(rng.randint(1, 8)), sentence(rng.randint(0, 9)).split(" ")
        b.insert(rng.randint(0, len(b)), cues[label])
        rows.append({"text": a, "text_pair": " ".join(b).strip(), "label": label})
    rng.shuffle(rows)
    return rows

def write_ids(rows, path_ids, path_labels):
    with open(path_ids, "w") as f, open(path_labels, "w") as g:
        for r in rows:
            ia, ib = wp.tokenize_to_ids(r["text"]), wp.tokenize_to_ids(r["text_pair"])
            assert wp.unk_id not in ia + ib, r
            ids = [wp.cls_id] + ia + [wp.sep_id] + ib + [wp.sep_id]
            assert len(ids) <= 64, r
            f.write(json.dumps({"input_ids": ids, "token_type_ids": [0] * (len(ia) + 2) + [1] * (len(ib) + 1)}) + "\n")
            g.write("%d\n" % names.index(r["label"]))

train, val = make(38), make(12)
with open(out + "/data/train.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=["text", "text_pair", "label"], lineterminator="\n")
    w.writeheader()
    w.writerows(train)
with open(out + "/data/val.jsonl", "w", encoding="utf-8") as f:
    for r in val:
        f.write(json.dumps(r) + "\n")
write_ids(train, out + "/train.jsonl", out + "/train_labels.txt")
write_ids(val, out + "/eval.jsonl", out + "/eval_labels.txt")
PYEOF

reference_train "$T/ref" --model "$T/init" --train-ids "$T/train.jsonl" --train-labels "$T/train_labels.txt" \
  --eval-ids "$T/eval.jsonl" --eval-labels "$T/eval_labels.txt"
mv "$T/ref/order.txt" "$T/order.txt"
rm -f "$T/ref/config.json" "$T/ref/vocab.txt" "$T/ref/tokenizer_config.json"
du -sh "$T"
