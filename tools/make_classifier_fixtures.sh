#!/usr/bin/env bash
# Regenerates tests/fixtures/data/classifier/: an independent PyTorch reference for the whole
# text -> tokens -> logits path of Classifier / `predict`. A random model with the real
# distilbert-base-cased vocabulary (28996) but dim 8, 2 layers, 64 positions (so a long text is
# truncated) is made by ../shared/reference/make_model.py (bf16 weights keep the file small and
# exercise widening); texts.txt (real TweetEval tweets, an empty line, accents, an emoji and a tab, a long
# text) is tokenized by wordpiece.py (HF-identical) and run through forward.py (dropout off).
# (wordpiece.py does not match special tokens typed inside the text, as HF does, so none are.)
# The tokenizer files are not committed: tests copy them from ../shared/models/distilbert-base-cased.
#   tools/make_classifier_fixtures.sh      (needs Debian's python3-torch)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REF="$ROOT/../shared/reference"
TOK="$ROOT/../shared/models/distilbert-base-cased"
EMO="$ROOT/../shared/data/tweeteval/datasets/emotion"
OUT="$ROOT/tests/fixtures/data/classifier"
PY=/usr/bin/python3
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"

$PY "$REF/make_model.py" --config '{"dim":8,"n_heads":2,"hidden_dim":16,"n_layers":2,"max_position_embeddings":64,"initializer_range":0.5}' \
  --out "$TMP/model" --seed 7 --dtype bf16
cp "$TMP/model/config.json" "$TMP/model/model.safetensors" "$OUT/"

# 12 test tweets (lines 1-12), an empty text, special characters, and a text over 64 tokens.
{
  head -n 12 "$EMO/test_text.txt"
  printf '\n'
  printf 'caf\xc3\xa9 na\xc3\xafve \xf0\x9f\x98\x80 &amp; tab\there\n'
  for i in $(seq 1 40); do printf 'word%d ' "$i"; done; printf '\n'
} > "$OUT/texts.txt"

$PY "$REF/wordpiece.py" --vocab "$TOK/vocab.txt" --text "$OUT/texts.txt" --out "$TMP/ids.jsonl" --max-length 64
$PY - "$TMP/ids.jsonl" "$TMP/batch.json" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
ids = [r["input_ids"] if isinstance(r, dict) else r for r in rows]
json.dump({"input_ids": ids}, open(sys.argv[2], "w"))
PYEOF
$PY "$REF/forward.py" --model "$TMP/model" --batch "$TMP/batch.json" --out "$TMP/fwd.json"
$PY - "$TMP/batch.json" "$TMP/fwd.json" "$OUT/expected.json" <<'PYEOF'
import json, sys
ids = json.load(open(sys.argv[1]))["input_ids"]
fwd = json.load(open(sys.argv[2]))
json.dump({"input_ids": ids, "logits": fwd["logits"],
           "note": "make_model.py seed 7 bf16, wordpiece.py --max-length 64, forward.py (dropout off)"},
          open(sys.argv[3], "w"), indent=1)
PYEOF
ls -la "$OUT"
