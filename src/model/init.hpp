// init.hpp — Transformers' random initialisation of an XForSequenceClassification (every family).
//
// XPreTrainedModel._init_weights: every nn.Linear and nn.Embedding weight drawn from
// normal(0, initializer_range), every bias zero, LayerNorm weight 1 and bias 0, and the
// padding_idx (pad_token_id) row of word_embeddings zeroed (RoBERTa: of position_embeddings too). With sinusoidal_pos_embds the position
// table is the fixed sin/cos table instead. The numbers come from bert_emotion::Rng, not torch's
// generator, so they match Transformers in distribution, not bit for bit (torch's Mersenne Twister
// + its normal_ kernel are not reproduced). A draw is a function of (seed, tensor, chunk) only, so
// the result does not depend on the thread count.
//
//   ParamLayout layout(cfg);
//   std::vector<float> arena(layout.size());
//   init_weights(cfg, layout, arena.data(), 42);                  // a fresh model
//   init_weights(cfg, layout, arena.data(), 42, /*head_only=*/true);  // new pre_classifier/classifier only
//   create_random_model_dir("runs/tiny", preset_config("tiny"), 0, "../shared/models/distilbert-base-cased");
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>

#include "model/config.hpp"
#include "model/weights.hpp"

namespace bert_emotion {

// Initialises every parameter of `layout` in `arena` (or only the head tensors when head_only).
void init_weights(const ModelConfig& cfg, const ParamLayout& layout, float* arena, uint64_t seed,
                  bool head_only = false);
// Initialises the parameters `which` selects (e.g. the head tensors a checkpoint lacks). A tensor's
// values do not depend on which others are selected.
void init_weights(const ModelConfig& cfg, const ParamLayout& layout, float* arena, uint64_t seed,
                  const std::function<bool(const ParamInfo&)>& which);

// Writes a freshly initialised model directory (config.json + model.safetensors, and the tokenizer
// files of `tokenizer_dir` when given) through save_model_dir.
void create_random_model_dir(const std::filesystem::path& out, const ModelConfig& cfg, uint64_t seed,
                             const std::filesystem::path& tokenizer_dir = {});

// HF's fixed position table: angle = pos / 10000^(2*(j/2)/dim), sin on even j, cos on odd j,
// computed in double and rounded to float. `out` holds n_pos x dim floats.
void sinusoidal_position_table(int n_pos, int dim, float* out);

}  // namespace bert_emotion
