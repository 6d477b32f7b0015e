// checkpoint.hpp — the tensors of a model's weights, whatever layout they ship in.
//
// Hugging Face repositories hold their weights as model.safetensors, a sharded set
// (model.safetensors.index.json + shards), PyTorch's pytorch_model.bin (a torch.save zip, read
// without executing anything: torch_zip + torch_pickle), or its sharded set
// (pytorch_model.bin.index.json + shards). A Checkpoint gives one view of all of them: every tensor
// as contiguous little-endian bytes with its dtype and shape. Bytes stay inside the file mappings
// wherever the layout allows (safetensors always; torch storages when the tensor is a contiguous
// view of a stored entry); a strided (non-contiguous) view is materialized once. Tied tensors that
// share a storage share its bytes.
//
// open_dir() chooses the files as transformers' from_pretrained does: model.safetensors, else
// model.safetensors.index.json, else pytorch_model.bin, else pytorch_model.bin.index.json.
// normalize_names() then applies transformers' key rules: LayerNorm.gamma / LayerNorm.beta become
// LayerNorm.weight / LayerNorm.bias, and the integer `position_ids` buffers (which transformers
// ignores as unexpected keys) are dropped.
//
//   auto ck = Checkpoint::open_dir("models/emotion");      // any layout
//   ck->normalize_names();
//   const CheckpointTensor* t = ck->find("classifier.weight");
//   std::vector<float> w(t->numel);
//   ck->to_float32(*t, w.data());                            // F32 / F16 / BF16 -> float
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/checkpoint_error.hpp"
#include "model/safetensors.hpp"  // Dtype

namespace bert_emotion {

class TorchZip;

struct CheckpointTensor {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<int64_t> shape;
  size_t numel = 0;
  std::span<const uint8_t> bytes;  // numel x dtype size, row-major, little-endian
  std::string file;                // the file it came from, for messages
  bool mapped = false;             // bytes lie inside a file mapping (not copied)
};

class Checkpoint {
 public:
  // The weights files of a model directory, as transformers picks them (see above). IoError naming
  // the four candidates when none exists.
  static std::filesystem::path weights_path(const std::filesystem::path& dir);
  static std::shared_ptr<Checkpoint> open_dir(const std::filesystem::path& dir);
  // The shard files a *.index.json names (plain file names, validated; sorted, unique).
  static std::vector<std::string> index_shards(const std::filesystem::path& index);
  // One file: *.index.json (sharded), *.safetensors, anything else a torch.save zip.
  static std::shared_ptr<Checkpoint> open(const std::filesystem::path& file);

  const std::string& source() const { return source_; }  // the file (or index) opened
  const std::string& format() const { return format_; }  // "safetensors", "pytorch", "sharded safetensors", ...
  const std::vector<std::string>& files() const { return files_; }  // every weights file read
  // safetensors __metadata__ of a single file, or the index's "metadata" strings.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::vector<CheckpointTensor>& tensors() const { return tensors_; }
  const CheckpointTensor* find(const std::string& name) const;

  // Widens an F32/F16/BF16 tensor into `out` (numel floats); UnsupportedError for other dtypes.
  void to_float32(const CheckpointTensor& t, float* out) const;
  // The floats in place when the tensor is F32 and 4-byte aligned, else nullptr.
  const float* f32_data(const CheckpointTensor& t) const;

  // transformers' key rules (see above). Returns one note per renamed or dropped tensor.
  // FormatError if a rename collides with a name already present.
  std::vector<std::string> normalize_names();

 private:
  Checkpoint() = default;
  void add_safetensors(const std::filesystem::path& file);
  void add_torch_zip(const std::filesystem::path& file);  // checkpoint_torch.cpp
  void add_index(const std::filesystem::path& index);     // checkpoint_index.cpp
  void add(CheckpointTensor t);
  void reindex();

  std::string source_;
  std::string format_;
  std::vector<std::string> files_;
  std::map<std::string, std::string> metadata_;
  std::vector<CheckpointTensor> tensors_;
  std::map<std::string, size_t> index_;
  std::vector<std::shared_ptr<const void>> keep_alive_;  // the files the spans point into
  std::deque<std::vector<uint8_t>> owned_;               // materialized strided views
};

}  // namespace bert_emotion
