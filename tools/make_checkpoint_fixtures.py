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
    make_fuzz_seeds()


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
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl)
        for key, data in (storages or {}).items():
            z.writestr("archive/data/" + key, data)
        z.writestr("archive/version", "3\n")


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
