#!/usr/bin/env bash
# make_int8_trained_fixture.sh [BIN] — regenerates tests/fixtures/int8_trained/: a small DistilBERT
# fine-tuned here on TweetEval emotion, for tests/int8_accuracy_test.cpp (issue 16's accuracy check
# on a trained model; a random model's logits barely depend on the input, a trained one's do).
#
#   tools/make_int8_trained_fixture.sh build/bert-emotion      # SHARED (../shared) for the data
#
# 1. a lowercasing WordPiece vocabulary of the training tweets (a small vocabulary keeps the fixture
#    under 2 MB): the special tokens, every character alone and as a ##continuation, and every
#    word (BERT's split: runs of word characters, single punctuation) seen at least 5 times;
# 2. `bert-emotion init` of a DistilBERT with dim 64, 2 layers, 2 heads, FFN 256, 128 positions;
# 3. `bert-emotion train` 12 epochs, batch 32, lr 1e-3, warmup 10%, seed 1 (about a minute);
# 4. the model directory's files into the fixture folder.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
BIN="${1:-$ROOT/build/bert-emotion}"
E="$SHARED/data/tweeteval/datasets/emotion"
OUT="$ROOT/tests/fixtures/int8_trained"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/tok"
python3 - "$E/train_text.txt" "$TMP/tok" <<'EOF'
import collections, json, re, sys, unicodedata
text, out = sys.argv[1], sys.argv[2]
def normalize(s):  # BERT's do_lower_case: lowercase, then strip accents (NFD, drop Mn)
    return "".join(c for c in unicodedata.normalize("NFD", s.lower()) if unicodedata.category(c) != "Mn")
words = collections.Counter()
chars = set()
for line in open(text, encoding="utf-8"):
    for w in re.findall(r"\w+|[^\w\s]", normalize(line)):
        words[w] += 1
        chars.update(w)
vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
vocab += sorted(chars) + ["##" + c for c in sorted(chars)]
seen = set(vocab)
vocab += [w for w, n in sorted(words.items(), key=lambda x: (-x[1], x[0])) if n >= 5 and w not in seen]
open(out + "/vocab.txt", "w", encoding="utf-8").write("\n".join(vocab) + "\n")
json.dump({"do_lower_case": True, "model_max_length": 128, "tokenizer_class": "DistilBertTokenizer",
           "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]",
           "mask_token": "[MASK]"}, open(out + "/tokenizer_config.json", "w"), indent=2)
EOF
V=$(wc -l < "$TMP/tok/vocab.txt")
"$BIN" init --config "{\"dim\":64,\"n_layers\":2,\"n_heads\":2,\"hidden_dim\":256,\"max_position_embeddings\":128,\"vocab_size\":$V}" \
  --tokenizer "$TMP/tok" --labels anger,joy,optimism,sadness --out "$TMP/init" --seed 1 >/dev/null
BERT_EMOTION_DATA_DIR="$SHARED/data" "$BIN" train --model "$TMP/init" --data tweet_eval/emotion --output-dir "$TMP/ft" \
  --num-train-epochs 12 --per-device-train-batch-size 32 --learning-rate 1e-3 --warmup-ratio 0.1 --seed 1 \
  --eval-strategy no --save-strategy no --no-plots --threads 2 --quiet
rm -rf "$OUT" && mkdir -p "$OUT"
for f in config.json model.safetensors vocab.txt tokenizer_config.json special_tokens_map.json; do
  [ -f "$TMP/ft/$f" ] && cp "$TMP/ft/$f" "$OUT/"
done
ls -l "$OUT"
