// model_dir.hpp — a Hugging Face model directory: config.json + weights + tokenizer files.
//
// The weights may be in any layout a Checkpoint reads (model.safetensors, pytorch_model.bin, or
// either sharded), chosen as transformers does; legacy LayerNorm.gamma/beta names are renamed and
// position_ids buffers ignored first (Checkpoint::normalize_names).
// Loading checks every required tensor against the config (names with or without the family's
// "distilbert." / "bert." / "roberta." prefix; pretraining heads — DistilBERT's masked-LM
// `vocab_*`, BERT's `cls.*`, RoBERTa's `lm_head.*` and `roberta.pooler.*` — ignored; F32/F16/BF16
// widened to float32) and fails with messages like
//   tensor distilbert.transformer.layer.3.ffn.lin1.weight: expected [3072, 768], got [3072, 512]
// A checkpoint without its classification head (distilbert-base-cased, bert-base-cased,
// roberta-base are pretraining checkpoints) loads only with `allow_missing_head`; `has_head` then
// says the trainer must create the tensors listed in `missing_head` (BERT's pretrained pooler is
// kept when present).
//
//   LoadedModel m = load_model_dir("runs/emotion");            // inference: F32 tensors stay mmap'ed
//   const Weights& w = m.weights;                              // views, by checkpoint name
//   LoadedModel t = load_model_dir("distilbert-base-cased", {.allow_missing_head = true, .owned_arena = true});
//   save_model_dir("out", t.config, t.layout, t.arena.data(), "distilbert-base-cased");
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "kernels/bf16_gemm.hpp"
#include "kernels/int8_gemm.hpp"
#include "model/config.hpp"
#include "model/weights.hpp"

namespace bert_emotion {

class Checkpoint;  // model/checkpoint.hpp

struct LoadOptions {
  bool allow_missing_head = false;  // accept a checkpoint without pre_classifier/classifier
  bool owned_arena = false;         // copy every tensor into `arena` (training); else mmap F32 in place
                                    // (read-only memory: never write through such views)
};

struct LoadedModel {
  std::filesystem::path dir;
  ModelConfig config;
  ParamLayout layout{ModelConfig{}};
  std::vector<float> arena;               // owned floats in `layout` order (empty when fully mmap'ed)
  std::shared_ptr<Checkpoint> file;       // keeps the mappings alive for views into them
  Weights weights{};                      // views into `arena` or `file`
  bool has_head = true;                   // false: head tensors absent (zero-filled in the arena)
  std::vector<std::string> missing_head;  // the absent head tensors' names
  std::string weights_dtype;              // "F32", "F16", "BF16", "mixed", or "I8" (int8 linears)
  // int8 copies of the linears that weights' *_i8 point at (model/quantize.hpp), or null: FP32.
  std::shared_ptr<const std::vector<Int8Weights>> int8;
  // bf16 copies of the linears that weights' *_bf16 point at (--dtype bf16), or null.
  std::shared_ptr<const std::vector<Bf16Weights>> bf16;
  // FP32 linears prepacked for oneDNN's matmul that weights' *_packed point at (FP32 inference on
  // AVX-512 CPUs, model/quantize.hpp), or null.
  std::shared_ptr<const std::vector<std::shared_ptr<const OnednnWeights>>> packed_f32;
};

LoadedModel load_model_dir(const std::filesystem::path& dir, const LoadOptions& opts = {});

// Writes config.json and model.safetensors (F32, `__metadata__ {"format":"pt"}`, canonical names)
// atomically, and copies the tokenizer files (vocab.txt, tokenizer.json, tokenizer_config.json,
// special_tokens_map.json) from `tokenizer_dir` when given. Creates `dir` if needed.
void save_model_dir(const std::filesystem::path& dir, const ModelConfig& cfg, const ParamLayout& layout,
                    const float* arena, const std::filesystem::path& tokenizer_dir = {});

// The tokenizer files a model directory may hold, in the order they are looked for.
const std::vector<std::string>& tokenizer_file_names();

}  // namespace bert_emotion
