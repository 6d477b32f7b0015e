#include "model/weights.hpp"

#include <stdexcept>

namespace bert_emotion {

ParamLayout::ParamLayout(const ModelConfig& cfg) {
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
  const std::string e = "distilbert.embeddings.";
  add(e + "word_embeddings.weight", {V, C}, false);
  add(e + "position_embeddings.weight", {P, C}, false);
  if (cfg.sinusoidal_pos_embds) params_.back().trainable = false;
  add(e + "LayerNorm.weight", {C}, true);
  add(e + "LayerNorm.bias", {C}, true);
  for (int i = 0; i < cfg.n_layers; ++i) {
    const std::string l = "distilbert.transformer.layer." + std::to_string(i) + ".";
    for (const char* lin : {"q_lin", "k_lin", "v_lin", "out_lin"}) {
      add(l + "attention." + lin + ".weight", {C, C}, false);
      add(l + "attention." + lin + ".bias", {C}, true);
    }
    add(l + "sa_layer_norm.weight", {C}, true);
    add(l + "sa_layer_norm.bias", {C}, true);
    add(l + "ffn.lin1.weight", {F, C}, false);
    add(l + "ffn.lin1.bias", {F}, true);
    add(l + "ffn.lin2.weight", {C, F}, false);
    add(l + "ffn.lin2.bias", {C}, true);
    add(l + "output_layer_norm.weight", {C}, true);
    add(l + "output_layer_norm.bias", {C}, true);
  }
  add("pre_classifier.weight", {C, C}, false, true);
  add("pre_classifier.bias", {C}, true, true);
  add("classifier.weight", {K, C}, false, true);
  add("classifier.bias", {K}, true, true);
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
  w.emb_ln_w = next();
  w.emb_ln_b = next();
  const size_t n_layers = (params_.size() - 8) / 16;
  w.layers.resize(n_layers);
  for (auto& L : w.layers) {
    L.q_w = next(); L.q_b = next();
    L.k_w = next(); L.k_b = next();
    L.v_w = next(); L.v_b = next();
    L.o_w = next(); L.o_b = next();
    L.ln1_w = next(); L.ln1_b = next();
    L.ff1_w = next(); L.ff1_b = next();
    L.ff2_w = next(); L.ff2_b = next();
    L.ln2_w = next(); L.ln2_b = next();
  }
  w.pre_w = next();
  w.pre_b = next();
  w.cls_w = next();
  w.cls_b = next();
  return w;
}

}  // namespace bert_emotion
