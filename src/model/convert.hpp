// convert.hpp — any checkpoint layout to the one file every tool reads: model.safetensors.
//
// Reads a model directory's weights whatever their layout (Checkpoint::open_dir: model.safetensors,
// sharded, pytorch_model.bin, sharded .bin), applies transformers' key rules (normalize_names),
// drops the later name of tensors that share one storage (tied weights: safetensors cannot share,
// and save_pretrained keeps only the first), optionally casts the float tensors, and writes
// `out/model.safetensors` (`__metadata__ {"format": "pt"}`) with config.json (torch_dtype updated)
// and the tokenizer files copied. Casts round to nearest even, as torch's .to() does.
//
//   ConvertReport r = convert_model_dir("downloads/emotion-bin", "models/emotion", Dtype::F16);
//   for (const auto& note : r.notes) std::cerr << note << "\n";
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "model/safetensors.hpp"  // Dtype

namespace bert_emotion {

struct ConvertReport {
  std::string format;              // the source layout (Checkpoint::format)
  size_t tensors = 0;              // tensors written
  std::vector<std::string> notes;  // renamed, ignored and tied tensors
};

// `dtype`: F32, F16 or BF16 for every float tensor; nullopt keeps each tensor's dtype.
// InvalidArgument if `out` is `src` or dtype is not a float type; the source's errors otherwise.
ConvertReport convert_model_dir(const std::filesystem::path& src, const std::filesystem::path& out,
                                std::optional<Dtype> dtype = std::nullopt);

// float -> IEEE half / bfloat16, rounding to nearest even (NaN stays NaN, overflow becomes inf).
uint16_t f32_to_f16(float f);
uint16_t f32_to_bf16(float f);

}  // namespace bert_emotion
