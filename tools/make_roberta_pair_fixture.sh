#!/usr/bin/env bash
# make_roberta_pair_fixture.sh — a tiny RoBERTa directory with a byte-level BPE tokenizer and the
# PyTorch reference's logits for sentence pairs, for the tests that check RoBERTa pairs end to end:
#   tools/make_roberta_pair_fixture.sh          (needs Debian's python3-torch; ../shared/reference)
# tests/fixtures/pairs/roberta/:
#   tokenizer.json, tokenizer_config.json, special_tokens_map.json
#       ../shared/models/roberta-bpe-test (GPT-2's merges, RobertaProcessing) cut down to the byte
#       alphabet and the merges that fire on the fixture's texts (ranks kept in order, ids renumbered:
#       <s> <pad> </s> <unk>, bytes, merged tokens, <mask> last), so that the model stays small;
#       bpe.py must give the same tokens with the cut-down file as with the full one (checked here)
#   config.json, model.safetensors   make_model.py --arch roberta (hidden 32, 2 layers, type_vocab_size 1,
#       pad id 1, init std 0.2)
#   pairs.json   the pairs; input_ids from bpe.py as RobertaProcessing lays a pair out,
#       <s> A </s></s> B </s>; token_type_ids all 0; forward.py's logits; and the logits of the first
#       texts alone (a test that dropped the second text could not match the pair logits)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REF="${REF:-$ROOT/../shared/reference}"
FULL="${FULL:-$ROOT/../shared/models/roberta-bpe-test}"
PY=/usr/bin/python3
OUT="$ROOT/tests/fixtures/pairs/roberta"
TOK="$(mktemp -d)"
trap 'rm -rf "$TOK"' EXIT
rm -rf "$OUT"
mkdir -p "$OUT"

$PY - "$REF" "$FULL" "$TOK" <<'PYEOF'
import json, sys
ref, full, out = sys.argv[1:4]
sys.path.insert(0, ref)
import bpe

PAIRS = [
    ["I love this!", "It is wonderful."],
    ["so sad today 😢", "Nothing went right, again."],
    ["Café au lait?  Oui.", "naïve résumé, 東京 too"],
    ["What a day", "   leading spaces\tand a tab"],
    ["Angry about the delay", "Still waiting at gate 12 since 9:45am... #travel @airline"],
    ["fine", "a much longer second sentence that keeps going and going"],
]
tj = json.load(open(full + "/tokenizer.json", encoding="utf-8"))
vocab = tj["model"]["vocab"]
ranks = {}
for r, m in enumerate(tj["model"]["merges"]):
    a, b = m.split(" ") if isinstance(m, str) else m
    ranks[(a, b)] = r

# Merges that fire on the texts: GPT-2's loop (merge every occurrence of the lowest-rank pair).
fired = set()
def word_bpe(chars):
    parts = list(chars)
    while len(parts) > 1:
        r, i = min((ranks.get((parts[j], parts[j + 1]), float("inf")), j) for j in range(len(parts) - 1))
        if r == float("inf"):
            break
        a, b = parts[i], parts[i + 1]
        fired.add(r)
        merged, j = [], 0
        while j < len(parts):
            if j + 1 < len(parts) and parts[j] == a and parts[j + 1] == b:
                merged.append(a + b)
                j += 2
            else:
                merged.append(parts[j])
                j += 1
        parts = merged
    return parts
for pair in PAIRS:
    for text in pair:
        for piece in bpe.gpt2_split(text):
            word_bpe("".join(bpe.BYTE_TO_CHAR[b] for b in piece.encode("utf-8")))

specials = ["<s>", "<pad>", "</s>", "<unk>"]
byte_chars = sorted(set(bpe.BYTE_TO_CHAR.values()), key=lambda t: vocab[t])
kept = [m for r, m in enumerate(tj["model"]["merges"]) if r in fired]  # rank order kept
merged_tokens = sorted({"".join(m.split(" ") if isinstance(m, str) else m) for m in kept}, key=lambda t: vocab[t])
new_vocab = {}
for t in specials + byte_chars + merged_tokens:
    new_vocab.setdefault(t, len(new_vocab))
mask_id = len(new_vocab)
tj["model"]["vocab"] = new_vocab
tj["model"]["merges"] = kept
for t in tj["added_tokens"]:
    t["id"] = mask_id if t["content"] == "<mask>" else new_vocab[t["content"]]
json.dump(tj, open(out + "/tokenizer.json", "w", encoding="utf-8"), indent=2, ensure_ascii=False)
tc = json.load(open(full + "/tokenizer_config.json", encoding="utf-8"))
tc["added_tokens_decoder"] = {str(mask_id if v["content"] == "<mask>" else new_vocab[v["content"]]): v
                              for v in tc["added_tokens_decoder"].values()}
tc["model_max_length"] = 64
json.dump(tc, open(out + "/tokenizer_config.json", "w", encoding="utf-8"), indent=2, sort_keys=True)
open(out + "/special_tokens_map.json", "w").write(open(full + "/special_tokens_map.json").read())

# The cut-down tokenizer gives the full one's tokens.
small, big = bpe.ByteLevelBPE(out + "/tokenizer.json"), bpe.ByteLevelBPE(full + "/tokenizer.json")
for pair in PAIRS:
    got = [small.id_to_token[i] for i in small.encode(pair[0], pair[1], 0)]
    want = [big.id_to_token[i] for i in big.encode(pair[0], pair[1], 0)]
    assert got == want, (pair, got, want)
json.dump(PAIRS, open(out + "/pairs.txt", "w"))
print(mask_id + 1)
PYEOF
V=$(/usr/bin/python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['model']['vocab']) + 1)" "$TOK/tokenizer.json")

$PY "$REF/make_model.py" --arch roberta --out "$OUT" --seed 71 --tokenizer-dir "$TOK" --config \
  "{\"vocab_size\": $V, \"max_position_embeddings\": 66, \"num_hidden_layers\": 2, \"hidden_size\": 32, \"num_attention_heads\": 2, \"intermediate_size\": 64, \"type_vocab_size\": 1, \"layer_norm_eps\": 1e-5, \"pad_token_id\": 1, \"initializer_range\": 0.2}" >/dev/null

$PY - "$REF" "$TOK" "$OUT" <<'PYEOF'
import json, subprocess, sys
ref, tok, out = sys.argv[1:4]
sys.path.insert(0, ref)
import bpe
t = bpe.ByteLevelBPE(out + "/tokenizer.json")
pairs = json.load(open(tok + "/pairs.txt"))
ids = [t.encode(a, b, 64) for a, b in pairs]
singles = [t.encode(a, None, 64) for a, _ in pairs]
for row, (a, b) in zip(ids, pairs):
    na, nb = len(t.tokenize_to_ids(a)), len(t.tokenize_to_ids(b))
    assert len(row) == na + nb + 4, "a pair was truncated: keep the texts shorter"
    assert row[na + 1:na + 3] == [t.sep_id, t.sep_id], row
def logits(batch):
    res = subprocess.run([sys.executable, ref + "/forward.py", "--model", out, "--batch", json.dumps(batch),
                          "--threads", "1"], check=True, capture_output=True, text=True)
    return json.loads(res.stdout)["logits"]
json.dump({"pairs": pairs, "input_ids": ids, "token_type_ids": [[0] * len(r) for r in ids],
           "logits": logits({"input_ids": ids}), "first_texts_input_ids": singles,
           "first_texts_logits": logits({"input_ids": singles})}, open(out + "/pairs.json", "w"), indent=1)
PYEOF
ls -la "$OUT"
