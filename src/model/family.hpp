// family.hpp — what varies between the encoder families (DistilBERT, BERT, RoBERTa).
//
// The encoder (encoder.hpp) is one model: embeddings -> N post-LN blocks -> a head on token 0.
// A family fills in the parts that differ, as data: the checkpoint's tensor names, whether token
// types are added, how position ids are made, where dropout sits, and the head's shape. Adding a
// family is a FamilySpec table and a config.json parser, not a copy of the forward and backward.
//
//   const FamilySpec& f = family_spec(cfg.family);
//   std::string q = f.layer_param(0, 0);  // "bert.encoder.layer.0.attention.self.query.weight"
//   if (f.positions_from_ids) ...         // RoBERTa: pad + cumsum(ids != pad)
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "model/config.hpp"

namespace bert_emotion {

struct FamilySpec {
  Family family;
  const char* model_type;    // config.json's model_type
  const char* architecture;  // what save_pretrained writes in "architectures"
  const char* prefix;        // the base model's parameter prefix ("bert.")
  // Embeddings, relative to prefix; token_type is null when the family has no token types.
  const char* word_embeddings;
  const char* position_embeddings;
  const char* token_type_embeddings;
  const char* embeddings_layer_norm;  // + ".weight" / ".bias"
  const char* layer_prefix;           // relative to prefix, followed by "{i}."
  // The 16 tensors of a block in LayerWeights order (q, k, v, out, ln1, ff1, ff2, ln2; weight then
  // bias), relative to the layer's prefix.
  std::array<const char*, 16> layer_params;
  // Head: token 0 -> [dropout] -> dense (pre) -> relu|tanh -> dropout -> classifier (cls).
  std::array<const char*, 4> head_params;  // pre.weight, pre.bias, cls.weight, cls.bias (full names)
  bool head_tanh;                          // tanh after the dense (BERT pooler, RoBERTa head); else ReLU
  bool head_dropout_first;                 // RoBERTa: dropout on token 0 before the dense as well
  bool positions_from_ids;                 // RoBERTa: pad + cumsum(ids != pad) * (ids != pad); else 0..T-1
  bool dropout_after_attention;            // BERT/RoBERTa: dropout(out dense) before the residual add
  // Checkpoint tensors of pretraining heads that a classifier drops on load.
  std::vector<const char*> dropped_prefixes;

  std::string layer_param(int layer, int slot) const;
};

const FamilySpec& family_spec(Family family);
inline const FamilySpec& family_spec(const ModelConfig& cfg) { return family_spec(cfg.family); }

// RoBERTa's position ids of one row (or of a packed row): pad + running count of non-pad ids,
// and pad itself for a pad id (create_position_ids_from_input_ids).
void roberta_positions(const int32_t* ids, int32_t* positions, int64_t n, int32_t pad);

}  // namespace bert_emotion
