#!/usr/bin/env python3
"""Writes the small seed corpora of fuzz/corpus/<target>/ (stdlib only; rerun to regenerate).

Seeds are valid inputs of each parser plus a few near-misses, so that libFuzzer starts from the
interesting structure (safetensors header + data, config keys, tokenizer.json sections, CSV
quoting, TweetEval files, TEI request shapes) instead of discovering JSON from scratch.
"""
import json
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
SHARED = os.path.join(ROOT, "..", "shared")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def safetensors(tensors, metadata=None, pad=True):
    """tensors: list of (name, dtype, shape, raw bytes), laid out in order."""
    header, offset, blob = {}, 0, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blob += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + blob


def fdp_string(s):
    # FuzzedDataProvider::ConsumeRandomLengthString: "\\\\" is an escaped backslash, "\\" + another byte ends it.
    return s.replace(b"\\", b"\\\\") + b"\\x"


def main():
    f32 = struct.pack("<4f", 1.0, -2.0, 0.5, 3.25)
    put("safetensors", "f32_2x2", safetensors([("w", "F32", [2, 2], f32)], {"format": "pt"}))
    put("safetensors", "mixed", safetensors([
        ("a.weight", "F32", [2], struct.pack("<2f", 1, 2)),
        ("b.half", "F16", [3], struct.pack("<3H", 0x3C00, 0x7C00, 0x0001)),
        ("c.bf16", "BF16", [1, 2], struct.pack("<2H", 0x3F80, 0xFF80)),
        ("d.int", "I64", [1], struct.pack("<q", 7)),
        ("e.bool", "BOOL", [0], b""),
    ], {"format": "pt"}))
    put("safetensors", "empty_header", struct.pack("<Q", 2) + b"{}")
    put("safetensors", "scalar", safetensors([("s", "F64", [], struct.pack("<d", 1.5))]))
    put("safetensors", "bad_offsets", safetensors([("w", "F32", [2, 2], f32)])[:-4])

    with open(os.path.join(SHARED, "models", "distilbert-base-cased", "config.json"), "rb") as f:
        put("config", "distilbert_base_cased.json", f.read())
    put("config", "tiny_labels.json", json.dumps({
        "model_type": "distilbert", "vocab_size": 100, "dim": 8, "n_layers": 1, "n_heads": 2,
        "hidden_dim": 16, "max_position_embeddings": 32, "activation": "gelu_new",
        "sinusoidal_pos_embds": True, "id2label": {"0": "anger", "1": "joy"},
        "label2id": {"anger": 0, "joy": 1}, "problem_type": "multi_label_classification",
        "architectures": ["DistilBertForSequenceClassification"], "pad_token_id": 0}))
    put("config", "bert_aliases.json", json.dumps({
        "model_type": "bert", "vocab_size": 30, "hidden_size": 8, "num_hidden_layers": 1,
        "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 16,
        "hidden_act": "gelu", "num_labels": 3}))
    put("config", "gpt2.json", '{"model_type": "gpt2"}')

    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "hello": 5, "world": 6,
             "happy": 7, "##ing": 8, "!": 9, ",": 10, "a": 11, "b": 12, "caf": 13, "##e": 14}
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for t, i in list(vocab.items())[:5]]
    tok = {
        "version": "1.0",
        "truncation": {"max_length": 16, "strategy": "LongestFirst", "stride": 0},
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                               "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab},
    }
    put("tokenizer_json", "template.json", json.dumps(tok))
    tok2 = dict(tok)
    tok2["post_processor"] = {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]}
    tok2["normalizer"] = {"type": "BertNormalizer", "lowercase": False, "strip_accents": True}
    tok2["truncation"] = None
    put("tokenizer_json", "bert_processing.json", json.dumps(tok2))
    tok3 = dict(tok)
    tok3["model"] = {"type": "BPE", "vocab": {}, "merges": []}
    put("tokenizer_json", "bpe.json", json.dumps(tok3))

    # Byte-level BPE (RoBERTa layout): the 256 byte characters, a few merges, <mask> with lstrip.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    byte_chars, n = {}, 0
    for b in range(256):
        byte_chars[b] = chr(b) if b in bs else chr(256 + n)
        n += 0 if b in bs else 1
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    bvocab = {t: i for i, t in enumerate(specials)}
    for b in range(256):
        bvocab[byte_chars[b]] = len(bvocab)
    merges = [["\u0120", "h"], ["h", "e"], ["\u0120h", "e"], ["l", "l"], ["\u0120he", "ll"], ["o", "!"]]
    for a, b in merges:
        bvocab.setdefault(a + b, len(bvocab))
    bvocab["<mask>"] = len(bvocab)
    badded = [{"id": bvocab[t], "content": t, "single_word": False, "lstrip": t == "<mask>", "rstrip": False,
               "normalized": t != "<mask>", "special": True} for t in specials + ["<mask>"]]
    bpe = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": badded, "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                           "trim_offsets": True, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "vocab": bvocab,
                  "merges": [a + " " + b for a, b in merges]},
    }
    put("tokenizer_json", "bpe_roberta.json", json.dumps(bpe, ensure_ascii=False))
    bpe2 = json.loads(json.dumps(bpe))
    bpe2["model"]["merges"] = merges
    bpe2["model"]["ignore_merges"] = True
    bpe2["model"]["unk_token"] = "<unk>"
    bpe2["pre_tokenizer"]["add_prefix_space"] = True
    bpe2["post_processor"] = {"type": "Sequence", "processors": [
        {"type": "ByteLevel", "trim_offsets": True, "add_prefix_space": True}, tok["post_processor"]]}
    bpe2["post_processor"]["processors"][1]["special_tokens"] = {
        "[CLS]": {"id": "[CLS]", "ids": [0], "tokens": ["<s>"]}, "[SEP]": {"id": "[SEP]", "ids": [2], "tokens": ["</s>"]}}
    put("tokenizer_json", "bpe_array_merges_sequence.json", json.dumps(bpe2, ensure_ascii=False))

    # FuzzedDataProvider takes integers/bools from the END of the input (last byte first) and
    # strings from the front: seeds are <text...><pair flag><max_length>.
    put("tokenize", "tweet", "@user I'm SO happy today!!! 😀😀 #blessed http://t.co/x".encode() + b"\x00\x00")
    put("tokenize", "accents", "Café naïve\x0bÅngström 北京 ﬁ\u00ad\u200b".encode() + b"\x00\x05")
    put("tokenize", "pair", fdp_string(b"question here?") + b"answer there" + b"\x01\x10")
    put("tokenize", "invalid_utf8", b"ok \xc3\x28 bad" + b"\x00\x00")
    put("tokenize", "long_word", b"x" * 150 + b" unaffable" + b"\x00\x00")

    # Trailing bytes, consumed last-first: format (0 csv, 1 tsv, 2 jsonl), label space given,
    # text pair column, allow missing labels.
    def ds(contents, fmt, given, pair, missing):
        return contents + bytes([missing, pair, given, fmt])
    put("dataset", "csv", ds(b'text,label\n"hello, ""world""",joy\nplain,0\n"multi\nline",sadness\n', 0, 1, 0, 0))
    put("dataset", "tsv", ds(b"label\ttext\n1\tgood day\n3\tbad day\n", 1, 0, 0, 0))
    put("dataset", "jsonl", ds(b'{"text": "hi", "label": 1}\n{"text": "yo", "label": "anger"}\n', 2, 1, 0, 0))
    put("dataset", "pair_csv", ds(b"text,text_pair,label\na,b,x\nc,d,\n", 0, 0, 1, 1))
    put("dataset", "broken_quote", ds(b'text,label\n"unterminated,1\n', 0, 0, 0, 0))

    # <mapping.txt><train_labels.txt><train_text.txt><label space given>
    put("tweeteval", "emotion", fdp_string(b"0\tanger\n1\tjoy\n2\toptimism\n3\tsadness")
        + fdp_string(b"0\n1\n2\n3\n") + b"so angry\nso happy\nhopeful\nsad :(\n" + b"\x01")
    put("tweeteval", "mismatch", fdp_string(b"0\tneg\n1\tpos\n") + fdp_string(b"0\n5\n") + b"a\nb\nc\n" + b"\x00")

    put("predict_request", "single", '{"inputs": "I love it"}')
    put("predict_request", "pair", '{"inputs": ["a", "b"], "truncate": true, "truncation_direction": "Left"}')
    put("predict_request", "batch", '{"inputs": [["a"], ["b", "c"]], "raw_scores": true, "truncate": null}')
    put("predict_request", "empty", '{"inputs": []}')
    put("predict_request", "tokenize", '{"inputs": ["x", "y"], "add_special_tokens": false}')
    put("predict_request", "deep", "{\"inputs\": " + "[" * 20 + "]" * 20 + "}")
    put("predict_request", "escapes", '{"inputs": "\\ud83d\\ude00 \\u00e9 \\"q\\""}')


if __name__ == "__main__":
    sys.exit(main())
