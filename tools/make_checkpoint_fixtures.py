#!/usr/bin/python3
"""Regenerates tests/fixtures/checkpoints/: one tiny model in every checkpoint layout, written by
torch.save / the reference's safetensors writer from the same tensors, plus hostile files.

    /usr/bin/python3 tools/make_checkpoint_fixtures.py      # needs python3-torch; from anywhere

Layouts (each a model directory with config.json; tests/checkpoint_test.cpp checks that every
tensor equals the safetensors copy of the same dtype and that the logits are identical):
  st-{f32,f16,bf16}/      model.safetensors (../shared/reference/make_model.py, then cast)
  bin-{f32,f16,bf16}/     pytorch_model.bin by torch.save of the same tensors; the F32 one also holds
                          legacy LayerNorm.gamma/beta names, an int64 position_ids buffer, Parameters
                          (_rebuild_parameter), the MLM decoder tied to the word embeddings (one
                          storage), a transposed (non-contiguous) view and a view at a storage offset
  sharded-st/             model.safetensors.index.json + 2 shards
  sharded-bin/            pytorch_model.bin.index.json + 2 shards
  legacy/pytorch_model.bin   torch.save(..., _use_new_zipfile_serialization=False)
Per family, bert/ and roberta/ (tiny models, the same layouts; tests/checkpoint_test.cpp too):
  st-{f32,f16,bf16}/, bin-{f32,f16,bf16}/, sharded-bin/   as above; bin-f32 holds legacy names, the
                          position_ids buffer, a Parameter, the masked-LM decoder tied to the word
                          embeddings (cls.predictions.decoder / lm_head.decoder), a transposed view of
                          layer 1's intermediate.dense and layer 0's query at a storage offset
  pretrain-bin/           a pretraining checkpoint as BertForPreTraining / RobertaForMaskedLM save it:
                          the body (BERT with its pooler), cls.* / lm_head.* heads with their tied
                          decoder weight and bias, every LayerNorm under its legacy gamma/beta name,
                          no classifier
  pretrain-st/            what `bert-emotion convert` must write from pretrain-bin (names normalized,
                          tied tensors dropped), checked here to load in ../shared/reference
  reference.json          input_ids and the reference's logits (forward.py) for st-f32, so the C++
                          tests can check converted output against the reference without torch
Hostile files (hostile/*.bin, each a valid zip so the reader reaches the pickle): payloads that run
`touch MARKER` through os.system, posix.system, builtins.exec and builtins.eval, and a REDUCE of a
global the loader must refuse; the script checks that plain pickle.loads really runs each payload.
Also: a storage declared longer than its entry, a shape whose size overflows, and a zip whose
central directory claims a 4 GiB entry. Finally fuzz/corpus/torch_pickle/ gets every data.pkl as seeds.
"""
import collections
import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import zipfile

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REF = os.path.join(ROOT, "..", "shared", "reference")
OUT = os.path.join(ROOT, "tests", "fixtures", "checkpoints")
sys.path.insert(0, REF)
from safetensors_io import load_file, save_file  # noqa: E402

MARKER = "/tmp/bert_emotion_pickle_payload_ran"
CONFIG = {"vocab_size": 200, "dim": 16, "n_heads": 2, "hidden_dim": 32, "n_layers": 2, "max_position_embeddings": 32}
DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def model_dir(name, config_src):
    d = os.path.join(OUT, name)
    os.makedirs(d)
    shutil.copy(config_src, os.path.join(d, "config.json"))
    return d


def save_bin(state, path):
    torch.save(state, path)
    # torch.save must have written what the C++ reader maps: stored entries
    with zipfile.ZipFile(path) as z:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    base = os.path.join(OUT, "_base")
    subprocess.run(["/usr/bin/python3", os.path.join(REF, "make_model.py"), "--config", json.dumps(CONFIG),
                    "--out", base, "--seed", "3", "--tokenizer-dir", "/nonexistent"],
                   check=True, stdout=subprocess.DEVNULL)
    config = os.path.join(base, "config.json")
    f32 = load_file(os.path.join(base, "model.safetensors"))

    for tag, dt in DTYPES.items():
        tensors = collections.OrderedDict((k, v.to(dt).contiguous()) for k, v in sorted(f32.items()))
        save_file(tensors, os.path.join(model_dir("st-" + tag, config), "model.safetensors"), {"format": "pt"})
        state = collections.OrderedDict((k, v.clone()) for k, v in tensors.items())
        if tag == "f32":
            emb = "distilbert.embeddings.LayerNorm."
            state[emb + "gamma"] = torch.nn.Parameter(state.pop(emb + "weight"), requires_grad=False)
            state[emb + "beta"] = state.pop(emb + "bias")
            state["distilbert.embeddings.position_ids"] = torch.arange(CONFIG["max_position_embeddings"]).unsqueeze(0)
            word = state["distilbert.embeddings.word_embeddings.weight"]
            state["vocab_projector.weight"] = word  # tied: one storage
            lin = "distilbert.transformer.layer.1.ffn.lin1.weight"
            state[lin] = state[lin].t().contiguous().t()  # same values, column-major storage
            assert not state[lin].is_contiguous()
            q = "distilbert.transformer.layer.0.attention.q_lin.weight"
            big = torch.cat([torch.full((7,), 9.0), state[q].flatten()])
            state[q] = big[7:].view(state[q].shape)  # a view at storage offset 7
        save_bin(state, os.path.join(model_dir("bin-" + tag, config), "pytorch_model.bin"))
        back = torch.load(os.path.join(OUT, "bin-" + tag, "pytorch_model.bin"))
        assert back["distilbert.embeddings.word_embeddings.weight"].dtype == dt

    # sharded: the transformer layers in shard 2, the rest in shard 1
    names = sorted(f32)
    shard_of = {k: (2 if ".layer." in k else 1) for k in names}
    for kind, ext in (("st", "safetensors"), ("bin", "bin")):
        d = model_dir("sharded-" + kind, config)
        stem = "model" if kind == "st" else "pytorch_model"
        files = {i: "%s-%05d-of-00002.%s" % (stem, i, ext) for i in (1, 2)}
        for i in (1, 2):
            part = collections.OrderedDict((k, f32[k]) for k in names if shard_of[k] == i)
            if kind == "st":
                save_file(part, os.path.join(d, files[i]), {"format": "pt"})
            else:
                save_bin(part, os.path.join(d, files[i]))
        index = {"metadata": {"total_size": sum(t.numel() * 4 for t in f32.values())},
                 "weight_map": {k: files[shard_of[k]] for k in names}}
        with open(os.path.join(d, "%s.%s.index.json" % (stem, ext)), "w") as f:
            json.dump(index, f, indent=2, sort_keys=True)

    d = model_dir("legacy", config)
    torch.save(collections.OrderedDict(list(f32.items())[:2]), os.path.join(d, "pytorch_model.bin"),
               _use_new_zipfile_serialization=False)
    make_hostile()
    shutil.rmtree(base)
    for arch in FAMILY_CONFIGS:
        make_family(arch)
    make_fuzz_seeds()


# Tiny BERT / RoBERTa (KBs), a wide init (std 0.2) so that the logits differ visibly; RoBERTa's positions start at pad_token_id + 1, hence 2 more positions.
FAMILY_CONFIGS = {
    "bert": {"vocab_size": 200, "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2,
             "intermediate_size": 16, "max_position_embeddings": 32, "initializer_range": 0.2},
    "roberta": {"vocab_size": 200, "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2,
                "intermediate_size": 16, "max_position_embeddings": 34, "initializer_range": 0.2},
}
# Ragged on purpose (padding); no RoBERTa pad id (1) inside a sequence.
FAMILY_BATCH = {"bert": [[101, 17, 42, 199, 3, 102], [101, 150, 102]],
                "roberta": [[0, 17, 42, 199, 3, 2], [0, 150, 2]]}


def pretraining_heads(arch, word, hidden, vocab):
    """The masked-LM head as BertForPreTraining / RobertaForMaskedLM hold it, in module order: the
    decoder weight is the word embedding tensor and the decoder bias the head's bias (ties)."""
    g = torch.Generator().manual_seed(11)

    def rnd(*shape):
        return torch.randn(*shape, generator=g) * 0.02

    bias = rnd(vocab)
    if arch == "bert":
        p = "cls.predictions."
        return collections.OrderedDict([
            (p + "bias", bias), (p + "transform.dense.weight", rnd(hidden, hidden)),
            (p + "transform.dense.bias", rnd(hidden)), (p + "transform.LayerNorm.weight", 1 + rnd(hidden)),
            (p + "transform.LayerNorm.bias", rnd(hidden)), (p + "decoder.weight", word), (p + "decoder.bias", bias),
            ("cls.seq_relationship.weight", rnd(2, hidden)), ("cls.seq_relationship.bias", rnd(2))])
    return collections.OrderedDict([
        ("lm_head.bias", bias), ("lm_head.dense.weight", rnd(hidden, hidden)), ("lm_head.dense.bias", rnd(hidden)),
        ("lm_head.layer_norm.weight", 1 + rnd(hidden)), ("lm_head.layer_norm.bias", rnd(hidden)),
        ("lm_head.decoder.weight", word), ("lm_head.decoder.bias", bias)])


def legacy_layer_norm_names(state):
    """Every X.LayerNorm.weight/bias renamed to the TF-era X.LayerNorm.gamma/beta, order kept."""
    out = collections.OrderedDict()
    for k, v in state.items():
        if k.endswith("LayerNorm.weight"):
            k = k[:-len("weight")] + "gamma"
        elif k.endswith("LayerNorm.bias"):
            k = k[:-len("bias")] + "beta"
        out[k] = v
    return out


def make_family(arch):
    """<arch>/: the layouts of one tiny BERT or RoBERTa model, its pretraining checkpoint and the
    reference's logits."""
    root = os.path.join(OUT, arch)
    base = os.path.join(OUT, "_base_" + arch)
    cfg = FAMILY_CONFIGS[arch]
    subprocess.run(["/usr/bin/python3", os.path.join(REF, "make_model.py"), "--arch", arch, "--config",
                    json.dumps(cfg), "--out", base, "--seed", "5", "--tokenizer-dir", "/nonexistent"],
                   check=True, stdout=subprocess.DEVNULL)
    config = os.path.join(base, "config.json")
    f32 = load_file(os.path.join(base, "model.safetensors"))
    assert not any(k.endswith("position_ids") for k in f32)
    prefix = arch + "."
    emb = prefix + "embeddings."
    word_name = emb + "word_embeddings.weight"
    sub = lambda name: os.path.join(arch, name)  # noqa: E731

    for tag, dt in DTYPES.items():
        tensors = collections.OrderedDict((k, v.to(dt).contiguous()) for k, v in sorted(f32.items()))
        save_file(tensors, os.path.join(model_dir(sub("st-" + tag), config), "model.safetensors"), {"format": "pt"})
        state = collections.OrderedDict((k, v.clone()) for k, v in tensors.items())
        if tag == "f32":
            state[emb + "LayerNorm.gamma"] = torch.nn.Parameter(state.pop(emb + "LayerNorm.weight"), requires_grad=False)
            state[emb + "LayerNorm.beta"] = state.pop(emb + "LayerNorm.bias")
            state[emb + "position_ids"] = torch.arange(cfg["max_position_embeddings"]).unsqueeze(0)
            decoder = "cls.predictions.decoder.weight" if arch == "bert" else "lm_head.decoder.weight"
            state[decoder] = state[word_name]  # tied: one storage, after the embedding as in module order
            lin = prefix + "encoder.layer.1.intermediate.dense.weight"
            state[lin] = state[lin].t().contiguous().t()  # same values, column-major storage
            assert not state[lin].is_contiguous()
            q = prefix + "encoder.layer.0.attention.self.query.weight"
            big = torch.cat([torch.full((5,), 7.0), state[q].flatten()])
            state[q] = big[5:].view(state[q].shape)  # a view at storage offset 5
        path = os.path.join(model_dir(sub("bin-" + tag), config), "pytorch_model.bin")
        save_bin(state, path)
        assert torch.load(path)[word_name].dtype == dt

    # sharded: the encoder layers in shard 2, the rest in shard 1
    names = sorted(f32)
    shard_of = {k: (2 if ".layer." in k else 1) for k in names}
    d = model_dir(sub("sharded-bin"), config)
    files = {i: "pytorch_model-%05d-of-00002.bin" % i for i in (1, 2)}
    for i in (1, 2):
        save_bin(collections.OrderedDict((k, f32[k]) for k in names if shard_of[k] == i), os.path.join(d, files[i]))
    with open(os.path.join(d, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": sum(t.numel() * 4 for t in f32.values())},
                   "weight_map": {k: files[shard_of[k]] for k in names}}, f, indent=2, sort_keys=True)

    # the pretraining checkpoint: body in module order (sorted is module order within the body
    # except the layer index, which torch.save does not care about), heads after it
    body = collections.OrderedDict((k, f32[k].clone()) for k in names if k.startswith(prefix))
    body.update(pretraining_heads(arch, body[word_name], cfg["hidden_size"], cfg["vocab_size"]))
    legacy = legacy_layer_norm_names(body)
    save_bin(legacy, os.path.join(model_dir(sub("pretrain-bin"), config), "pytorch_model.bin"))
    # convert's output: normalized names, the later tensor of each tied pair dropped
    seen, converted = {}, collections.OrderedDict()
    for k, v in body.items():
        if v.data_ptr() in seen:
            continue
        seen[v.data_ptr()] = k
        converted[k] = v
    st_dir = model_dir(sub("pretrain-st"), config)
    save_file(converted, os.path.join(st_dir, "model.safetensors"), {"format": "pt"})
    sys.path.insert(0, REF)
    import bert  # noqa: E402  (the reference model; loads convert's output with a fresh classifier)
    bert.load_model(st_dir, verbose=False)

    batch = {"input_ids": FAMILY_BATCH[arch]}
    out = subprocess.run(["/usr/bin/python3", os.path.join(REF, "forward.py"), "--model", os.path.join(root, "st-f32"),
                          "--batch", json.dumps(batch), "--threads", "1"], check=True, capture_output=True, text=True)
    logits = json.loads(out.stdout)["logits"]
    with open(os.path.join(root, "reference.json"), "w") as f:
        json.dump({"input_ids": batch["input_ids"], "logits": logits}, f, indent=1)
        f.write("\n")
    shutil.rmtree(base)


def make_fuzz_seeds():
    """fuzz/corpus/torch_pickle/: the data.pkl of every fixture zip (real state dicts and payloads)."""
    corpus = os.path.join(ROOT, "fuzz", "corpus", "torch_pickle")
    shutil.rmtree(corpus, ignore_errors=True)
    os.makedirs(corpus)
    for sub, _, files in sorted(os.walk(OUT)):
        for f in sorted(files):
            path = os.path.join(sub, f)
            if not zipfile.is_zipfile(path):
                continue
            try:
                with zipfile.ZipFile(path) as z:
                    pkl = z.read([n for n in z.namelist() if n.endswith("/data.pkl")][0])
            except Exception:  # the patched 4 GiB entry
                continue
            name = os.path.relpath(path, OUT).replace("/", "_").replace(".bin", ".pkl")
            with open(os.path.join(corpus, name), "wb") as out:
                out.write(pkl)


def zip_with_pickle(path, pkl, storages=None):
    def entry(name):  # a fixed date: the same input writes the same bytes
        return zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))

    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(entry("archive/data.pkl"), pkl)
        for key, data in (storages or {}).items():
            z.writestr(entry("archive/data/" + key), data)
        z.writestr(entry("archive/version"), "3\n")


def check_payload_runs(pkl):
    """The payload is live: plain pickle runs it (in a child process)."""
    if os.path.exists(MARKER):
        os.remove(MARKER)
    subprocess.run(["/usr/bin/python3", "-c", "import pickle,sys; pickle.loads(sys.stdin.buffer.read())"],
                   input=pkl, check=False, stderr=subprocess.DEVNULL)
    assert os.path.exists(MARKER), "payload did not run under pickle.loads"
    os.remove(MARKER)


def call(module, name, arg):
    """GLOBAL module.name, (arg,), REDUCE, STOP."""
    a = arg.encode()
    return (b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\nX" + struct.pack("<I", len(a)) + a +
            b"\x85R.")


class FakeStorage:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class Rebuild:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class StatePickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, FakeStorage):
            return ("storage", torch.FloatStorage, obj.key, "cpu", obj.numel)
        return None


def state_pickle(entries):
    buf = io.BytesIO()
    StatePickler(buf, protocol=2).dump(collections.OrderedDict(entries))
    return buf.getvalue()


def make_hostile():
    d = os.path.join(OUT, "hostile")
    os.makedirs(d)
    cmd = "touch " + MARKER
    payloads = {
        "os_system": call("os", "system", cmd),
        "posix_system": call("posix", "system", cmd),
        "builtins_exec": call("builtins", "exec", "import os; os.system(%r)" % cmd),
        "builtins_eval": call("builtins", "eval", "__import__('os').system(%r)" % cmd),
    }
    for name, pkl in payloads.items():
        check_payload_runs(pkl)
        zip_with_pickle(os.path.join(d, name + ".bin"), pkl)
    # A REDUCE of an allowed global that is not a callable the loader runs (a storage type), and a
    # global outside the list that would be harmless (collections.Counter): both refused.
    zip_with_pickle(os.path.join(d, "reduce_storage_type.bin"), b"\x80\x02ctorch\nFloatStorage\nK\x10\x85R.")
    zip_with_pickle(os.path.join(d, "reduce_counter.bin"), b"\x80\x02ccollections\nCounter\n)R.")
    # storage declared as 1,000,000 floats; the entry holds 4
    w = struct.pack("<4f", 1, 2, 3, 4)
    zip_with_pickle(os.path.join(d, "storage_too_short.bin"),
                    state_pickle([("w", Rebuild(FakeStorage("0", 1000000), 0, (1000, 1000), (1000, 1)))]), {"0": w})
    # a view that reaches past its (honest) storage
    zip_with_pickle(os.path.join(d, "view_past_storage.bin"),
                    state_pickle([("w", Rebuild(FakeStorage("0", 4), 2, (2, 2), (2, 1)))]), {"0": w})
    # a shape whose element count overflows 64 bits
    zip_with_pickle(os.path.join(d, "shape_overflow.bin"),
                    state_pickle([("w", Rebuild(FakeStorage("0", 4), 0, (2**62, 8), (0, 0)))]), {"0": w})
    # a good file, then its data/0 entry patched to claim 0xFFFFFFF0 bytes (local and central headers)
    good = os.path.join(d, "entry_claims_4gib.bin")
    zip_with_pickle(good, state_pickle([("w", Rebuild(FakeStorage("0", 4), 0, (4,), (1,)))]), {"0": w})
    with open(good, "rb") as f:
        b = bytearray(f.read())
    name = b"archive/data/0"
    local = b.find(b"PK\x03\x04" + b"\x00" * 0, 0)
    while True:
        nlen, = struct.unpack_from("<H", b, local + 26)
        if b[local + 30:local + 30 + nlen] == name:
            break
        local = b.find(b"PK\x03\x04", local + 4)
    struct.pack_into("<II", b, local + 18, 0xFFFFFFF0, 0xFFFFFFF0)
    central = b.find(b"PK\x01\x02" + b"", 0)
    while True:
        nlen, = struct.unpack_from("<H", b, central + 28)
        if b[central + 46:central + 46 + nlen] == name:
            break
        central = b.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<II", b, central + 20, 0xFFFFFFF0, 0xFFFFFFF0)
    with open(good, "wb") as f:
        f.write(b)


if __name__ == "__main__":
    main()
