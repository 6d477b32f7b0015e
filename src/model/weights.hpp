// weights.hpp — the parameter arena and its named views, mirroring the checkpoint's tensor names.
//
// llm.c style: every trainable float lives in one contiguous arena laid out by ParamLayout, in a
// fixed order (embeddings, layers 0..n-1, the head's dense, the classifier). Gradients and the
// AdamW moments use the same layout, so zero-grad, global-norm clipping, AdamW and saving are flat
// loops over `size` floats. The canonical names are those of the family's Transformers
// XForSequenceClassification checkpoint (model/family.hpp); for DistilBERT:
//
//   distilbert.embeddings.word_embeddings.weight          [V, C]
//   distilbert.embeddings.position_embeddings.weight      [P, C]
//   distilbert.embeddings.LayerNorm.{weight,bias}         [C]
//   distilbert.transformer.layer.{i}.attention.{q,k,v,out}_lin.{weight [C, C], bias [C]}
//   distilbert.transformer.layer.{i}.sa_layer_norm.{weight,bias}   [C]
//   distilbert.transformer.layer.{i}.ffn.lin1.{weight [F, C], bias [F]}
//   distilbert.transformer.layer.{i}.ffn.lin2.{weight [C, F], bias [C]}
//   distilbert.transformer.layer.{i}.output_layer_norm.{weight,bias} [C]
//   pre_classifier.{weight [C, C], bias [C]}
//   classifier.{weight [K, C], bias [K]}
// BERT: bert.embeddings.{word,position,token_type}_embeddings, bert.encoder.layer.{i}.attention.self.query
// ..., bert.pooler.dense (the head's dense), classifier. RoBERTa: roberta.* without a pooler,
// classifier.dense and classifier.out_proj.
//
// Inference may run a linear in int8 or bf16 (--dtype int8|bf16, model/quantize.hpp): its `*_i8` or
// `*_bf16` pointer is then set, and the forward uses it instead of the float weight (which may then
// be null for int8). In FP32, `*_packed` may point at the same weight prepacked for oneDNN's matmul.
//
// Linear weights keep PyTorch's [out, in] layout: y = x W^T + b; nothing is transposed on load or
// save. `Weights` is a set of pointers, one per tensor, into an arena (training: owned floats) or
// straight into an mmap'ed F32 safetensors file (inference: no copy).
//
//   ParamLayout layout(cfg);
//   std::vector<float> arena(layout.size());
//   Weights w = layout.bind(arena.data());
//   float* q = w.layers[0].q_w;                       // same floats as
//   float* q2 = arena.data() + layout.find("distilbert.transformer.layer.0.attention.q_lin.weight").offset;
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/config.hpp"

namespace bert_emotion {

struct Int8Weights;    // kernels/int8_gemm.hpp
struct Bf16Weights;    // kernels/bf16_gemm.hpp
struct OnednnWeights;  // kernels/onednn_matmul.hpp

struct ParamInfo {
  std::string name;  // canonical checkpoint name (with the family's prefix, "distilbert.")
  std::vector<int64_t> shape;
  size_t offset = 0;  // in floats, from the arena start
  size_t numel = 0;
  bool no_decay = false;  // biases and LayerNorm weights: the Trainer's no-weight-decay group
  bool trainable = true;  // false for a sinusoidal position table (HF freezes it)
  bool head = false;      // the head's dense + classifier: created fresh from an MLM checkpoint
};

// Names in DistilBERT's terms; FamilySpec::layer_params gives each family's (BERT: query, key,
// value, attention.output.dense, attention.output.LayerNorm, intermediate.dense, output.dense,
// output.LayerNorm).
struct LayerWeights {
  float *q_w, *q_b, *k_w, *k_b, *v_w, *v_b, *o_w, *o_b;                                  // attention.{q,k,v,out}_lin
  float *ln1_w, *ln1_b;                                                                  // sa_layer_norm
  float *ff1_w, *ff1_b, *ff2_w, *ff2_b;                                                  // ffn.lin1, ffn.lin2
  float *ln2_w, *ln2_b;                                                                  // output_layer_norm
  const Int8Weights *q_i8 = nullptr, *k_i8 = nullptr, *v_i8 = nullptr, *o_i8 = nullptr;  // int8 copies, or null
  const Int8Weights *ff1_i8 = nullptr, *ff2_i8 = nullptr;
  const Bf16Weights *q_bf16 = nullptr, *k_bf16 = nullptr, *v_bf16 = nullptr, *o_bf16 = nullptr;  // bf16 copies
  const Bf16Weights *ff1_bf16 = nullptr, *ff2_bf16 = nullptr;
  const OnednnWeights *q_packed = nullptr, *k_packed = nullptr, *v_packed = nullptr;  // FP32 prepacked copies
  const OnednnWeights *o_packed = nullptr, *ff1_packed = nullptr, *ff2_packed = nullptr;
};

struct Weights {
  float *word_emb, *pos_emb, *emb_ln_w, *emb_ln_b;
  float *type_emb = nullptr;  // [type_vocab_size, C]; null for DistilBERT
  std::vector<LayerWeights> layers;
  // The head's dense (pre_classifier, bert.pooler.dense, classifier.dense) and the classifier
  // (classifier, classifier.out_proj).
  float *pre_w, *pre_b, *cls_w, *cls_b;
  const Int8Weights *pre_i8 = nullptr, *cls_i8 = nullptr;
  const Bf16Weights *pre_bf16 = nullptr, *cls_bf16 = nullptr;
  const OnednnWeights *pre_packed = nullptr, *cls_packed = nullptr;
};

class ParamLayout {
 public:
  explicit ParamLayout(const ModelConfig &cfg);

  const std::vector<ParamInfo> &params() const { return params_; }
  size_t size() const { return size_; }  // total floats
  // Throws std::out_of_range naming the tensor if absent.
  const ParamInfo &find(const std::string &name) const;
  const ParamInfo *try_find(const std::string &name) const;
  // Views into an arena of size() floats laid out by this layout.
  Weights bind(float *arena) const;
  // Views located one tensor at a time (e.g. straight into an mmap'ed F32 file).
  Weights bind(const std::function<float *(const ParamInfo &)> &locate) const;

  // The word / position embedding tables' entries (what init and loading treat specially).
  const ParamInfo &word_embeddings() const { return params_.at(0); }
  const ParamInfo &position_embeddings() const { return params_.at(1); }

 private:
  std::vector<ParamInfo> params_;
  size_t size_ = 0;
  bool token_types_ = false;
  int n_layers_ = 0;
};

}  // namespace bert_emotion
