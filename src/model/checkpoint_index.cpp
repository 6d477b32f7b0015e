// checkpoint_index.cpp — sharded checkpoints (see checkpoint.hpp).
//
// model.safetensors.index.json and pytorch_model.bin.index.json are what save_pretrained writes when
// a model exceeds max_shard_size: {"metadata": {...}, "weight_map": {tensor name: shard file}}.
// Like transformers, every tensor of every listed shard is loaded; the index must not lie: a shard
// must be a plain file name in the index's directory (no path), and each tensor it names must be in
// that shard.
#include <nlohmann/json.hpp>

#include "model/checkpoint.hpp"
#include "util/atomic_file.hpp"  // read_file

namespace bert_emotion {

namespace {

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw CheckpointError(CheckpointRule::BadIndex, source + ": " + what);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// shard file -> the tensor names the index places in it; fills `metadata` when given.
std::map<std::string, std::vector<std::string>> read_index(const std::filesystem::path& index,
                                                           std::map<std::string, std::string>* metadata) {
  const std::string src = index.string();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(index));
  } catch (const nlohmann::json::exception& e) {
    fail(src, std::string("not JSON: ") + e.what());
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    fail(src, "expected an object with a \"weight_map\" object (tensor name -> shard file)");
  if (metadata && j.contains("metadata") && j["metadata"].is_object())
    for (const auto& [k, v] : j["metadata"].items()) (*metadata)[k] = v.is_string() ? v.get<std::string>() : v.dump();

  std::map<std::string, std::vector<std::string>> shards;
  for (const auto& [tensor, file] : j["weight_map"].items()) {
    if (!file.is_string()) fail(src, "weight_map[\"" + tensor + "\"] is not a file name");
    const std::string f = file.get<std::string>();
    if (f.empty() || f == "." || f == ".." || f.find('/') != std::string::npos || f.find('\\') != std::string::npos)
      fail(src, "weight_map[\"" + tensor + "\"] = \"" + f + "\" (expected a file name in the same directory)");
    shards[f].push_back(tensor);
  }
  if (shards.empty()) fail(src, "weight_map is empty");
  return shards;
}

}  // namespace

std::vector<std::string> Checkpoint::index_shards(const std::filesystem::path& index) {
  std::vector<std::string> files;
  for (const auto& [file, names] : read_index(index, nullptr)) files.push_back(file);
  return files;
}

void Checkpoint::add_index(const std::filesystem::path& index) {
  const std::string src = index.string();
  const bool safetensors = ends_with(index.filename().string(), ".safetensors.index.json");
  format_ = safetensors ? "sharded safetensors" : "sharded pytorch";
  const auto shards = read_index(index, &metadata_);
  const std::filesystem::path dir = index.parent_path();
  for (const auto& [file, names] : shards) {
    const std::filesystem::path path = dir / file;
    if (!std::filesystem::exists(path)) fail(src, "shard " + file + " (named by the index) does not exist");
    const size_t before = tensors_.size();
    if (safetensors) add_safetensors(path);
    else add_torch_zip(path);
    for (const std::string& n : names) {
      auto it = index_.find(n);
      if (it == index_.end() || it->second < before)
        fail(src, "says " + n + " is in " + file + ", but that shard does not hold it");
    }
  }
}

}  // namespace bert_emotion
