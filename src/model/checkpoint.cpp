// checkpoint.cpp — the common tensor view, the file choice and transformers' key rules
// (see checkpoint.hpp). The torch zip and sharded-index sources are in checkpoint_torch.cpp and
// checkpoint_index.cpp.
#include "model/checkpoint.hpp"

#include <cstring>

namespace bert_emotion {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

fs::path Checkpoint::weights_path(const fs::path& dir) {
  // from_pretrained's order (with safetensors installed, no use_safetensors=False).
  static const char* const kCandidates[] = {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                                            "pytorch_model.bin.index.json"};
  for (const char* name : kCandidates)
    if (fs::exists(dir / name)) return dir / name;
  throw IoError(dir.string() +
                ": no weights (expected model.safetensors, model.safetensors.index.json, pytorch_model.bin or "
                "pytorch_model.bin.index.json)");
}

std::shared_ptr<Checkpoint> Checkpoint::open_dir(const fs::path& dir) { return open(weights_path(dir)); }

std::shared_ptr<Checkpoint> Checkpoint::open(const fs::path& file) {
  std::shared_ptr<Checkpoint> ck(new Checkpoint());
  ck->source_ = file.string();
  const std::string name = file.filename().string();
  if (ends_with(name, ".index.json")) {
    ck->add_index(file);
  } else if (ends_with(name, ".safetensors")) {
    ck->format_ = "safetensors";
    ck->add_safetensors(file);
  } else {
    ck->format_ = "pytorch";
    ck->add_torch_zip(file);
  }
  ck->reindex();
  return ck;
}

void Checkpoint::add_safetensors(const fs::path& file) {
  auto st = SafetensorsFile::open(file);
  if (files_.empty()) metadata_ = st->metadata();
  files_.push_back(file.string());
  for (const TensorEntry& e : st->tensors()) add({e.name, e.dtype, e.shape, e.numel, st->bytes(e), st->source(), true});
  keep_alive_.push_back(st);
}

void Checkpoint::add(CheckpointTensor t) {
  const std::string name = t.name;
  if (index_.count(name) != 0)
    throw CheckpointError(CheckpointRule::BadIndex,
                          t.file + ": tensor " + name + " is also in " + tensors_[index_[name]].file);
  index_[name] = tensors_.size();
  tensors_.push_back(std::move(t));
}

void Checkpoint::reindex() {
  index_.clear();
  for (size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
}

const CheckpointTensor* Checkpoint::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

void Checkpoint::to_float32(const CheckpointTensor& t, float* out) const {
  const uint8_t* p = t.bytes.data();
  switch (t.dtype) {
    case Dtype::F32:
      if (t.numel) std::memcpy(out, p, t.numel * sizeof(float));
      return;
    case Dtype::F16:
    case Dtype::BF16:
      for (size_t i = 0; i < t.numel; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = t.dtype == Dtype::F16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
      return;
    default:
      throw UnsupportedError(t.file + ": tensor " + t.name + " has dtype " + dtype_name(t.dtype) +
                             " (expected F32, F16 or BF16)");
  }
}

const float* Checkpoint::f32_data(const CheckpointTensor& t) const {
  if (t.dtype != Dtype::F32 || reinterpret_cast<uintptr_t>(t.bytes.data()) % alignof(float) != 0) return nullptr;
  return reinterpret_cast<const float*>(t.bytes.data());
}

std::vector<std::string> Checkpoint::normalize_names() {
  std::vector<std::string> notes;
  std::vector<CheckpointTensor> kept;
  for (CheckpointTensor& t : tensors_) {
    const bool integer = t.dtype == Dtype::I64 || t.dtype == Dtype::I32;
    if (integer && (t.name == "position_ids" || ends_with(t.name, ".position_ids"))) {
      notes.push_back("ignored buffer " + t.name);
      continue;
    }
    for (const auto& [from, to] : {std::pair<std::string, std::string>{"LayerNorm.gamma", "LayerNorm.weight"},
                                   {"LayerNorm.beta", "LayerNorm.bias"}}) {
      if (!ends_with(t.name, from)) continue;
      std::string renamed = t.name.substr(0, t.name.size() - from.size()) + to;
      if (index_.count(renamed) != 0)
        throw FormatError(t.file + ": both " + t.name + " and " + renamed +
                          " are present (one is a legacy name of the other)");
      notes.push_back("renamed " + t.name + " -> " + renamed);
      t.name = std::move(renamed);
    }
    kept.push_back(std::move(t));
  }
  tensors_ = std::move(kept);
  reindex();
  return notes;
}

}  // namespace bert_emotion
