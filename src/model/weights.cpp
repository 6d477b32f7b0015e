#include "model/weights.hpp"

#include <stdexcept>

#include "model/family.hpp"

namespace bert_emotion {

ParamLayout::ParamLayout(const ModelConfig& cfg) {
  const FamilySpec& f = family_spec(cfg);
  const int64_t C = cfg.dim, F = cfg.hidden_dim, V = cfg.vocab_size, P = cfg.max_position_embeddings,
                K = cfg.num_labels();
  auto add = [&](std::string name, std::vector<int64_t> shape, bool no_decay, bool head = false) {
    ParamInfo p;
    p.name = std::move(name);
    p.numel = 1;
    for (auto d : shape) p.numel *= static_cast<size_t>(d);
    p.shape = std::move(shape);
    p.offset = size_;
    p.no_decay = no_decay;
    p.head = head;
    size_ += p.numel;
    params_.push_back(std::move(p));
  };
  const std::string base = f.prefix;
  add(base + f.word_embeddings, {V, C}, false);
  add(base + f.position_embeddings, {P, C}, false);
  if (cfg.sinusoidal_pos_embds) params_.back().trainable = false;
  token_types_ = f.token_type_embeddings != nullptr;
  if (token_types_) add(base + f.token_type_embeddings, {cfg.type_vocab_size, C}, false);
  add(base + f.embeddings_layer_norm + ".weight", {C}, true);
  add(base + f.embeddings_layer_norm + ".bias", {C}, true);
  n_layers_ = cfg.n_layers;
  // Shapes of the 16 block tensors in LayerWeights order.
  const std::vector<int64_t> shapes[16] = {{C, C}, {C}, {C, C}, {C}, {C, C}, {C}, {C, C}, {C},
                                           {C},    {C}, {F, C}, {F}, {C, F}, {C}, {C},    {C}};
  for (int i = 0; i < cfg.n_layers; ++i)
    for (int s = 0; s < 16; ++s) add(f.layer_param(i, s), shapes[s], shapes[s].size() == 1);
  add(f.head_params[0], {C, C}, false, true);
  add(f.head_params[1], {C}, true, true);
  add(f.head_params[2], {K, C}, false, true);
  add(f.head_params[3], {K}, true, true);
}

const ParamInfo* ParamLayout::try_find(const std::string& name) const {
  for (const auto& p : params_)
    if (p.name == name) return &p;
  return nullptr;
}

const ParamInfo& ParamLayout::find(const std::string& name) const {
  if (auto* p = try_find(name)) return *p;
  throw std::out_of_range("no parameter named " + name);
}

Weights ParamLayout::bind(float* arena) const {
  return bind([arena](const ParamInfo& p) { return arena + p.offset; });
}

Weights ParamLayout::bind(const std::function<float*(const ParamInfo&)>& locate) const {
  size_t i = 0;
  auto next = [&]() { return locate(params_.at(i++)); };
  Weights w{};
  w.word_emb = next();
  w.pos_emb = next();
  if (token_types_) w.type_emb = next();
  w.emb_ln_w = next();
  w.emb_ln_b = next();
  w.layers.resize(size_t(n_layers_));
  for (auto& L : w.layers) {
    L.q_w = next();
    L.q_b = next();
    L.k_w = next();
    L.k_b = next();
    L.v_w = next();
    L.v_b = next();
    L.o_w = next();
    L.o_b = next();
    L.ln1_w = next();
    L.ln1_b = next();
    L.ff1_w = next();
    L.ff1_b = next();
    L.ff2_w = next();
    L.ff2_b = next();
    L.ln2_w = next();
    L.ln2_b = next();
  }
  w.pre_w = next();
  w.pre_b = next();
  w.cls_w = next();
  w.cls_b = next();
  return w;
}

}  // namespace bert_emotion
