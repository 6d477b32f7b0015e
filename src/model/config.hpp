// config.hpp — a Hugging Face model's config.json, as the engine uses it.
//
// Parsed from `model_type: distilbert` configs (every key Transformers' DistilBertConfig has) and
// kept open to `bert` later: `model_type` selects the parser, and the fields below are the
// architecture-neutral names. Unknown keys are kept verbatim in `extra` so that a config we rewrite
// (after fine-tuning) loses nothing. A missing required key or an unknown model_type throws
// FormatError / UnsupportedError naming the file and the key.
//
//   ModelConfig cfg = load_config("model/config.json");
//   int head_dim = cfg.dim / cfg.n_heads;
//   std::string name = cfg.id2label.at(1);   // "joy"
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace bert_emotion {

struct ModelConfig {
  std::string model_type = "distilbert";
  std::vector<std::string> architectures;  // e.g. {"DistilBertForSequenceClassification"}
  int vocab_size = 0;
  int max_position_embeddings = 0;
  bool sinusoidal_pos_embds = false;
  int n_layers = 0;
  int n_heads = 0;
  int dim = 0;
  int hidden_dim = 0;
  std::string activation = "gelu";  // gelu (exact erf) | relu | gelu_new | silu
  float dropout = 0.1f;
  float attention_dropout = 0.1f;
  float seq_classif_dropout = 0.2f;
  float qa_dropout = 0.1f;
  float initializer_range = 0.02f;
  float layer_norm_eps = 1e-12f;  // DistilBERT hard-codes 1e-12; BERT configs carry layer_norm_eps
  int pad_token_id = 0;
  // Labels: id2label is the source of truth; label2id is its inverse as written in the file.
  std::map<int, std::string> id2label;
  std::map<std::string, int> label2id;
  std::string problem_type;  // "" (unset) | single_label_classification | multi_label_classification | regression
  nlohmann::json extra = nlohmann::json::object();  // every other key of config.json, verbatim

  int num_labels() const { return static_cast<int>(id2label.size()); }
  int head_dim() const { return dim / n_heads; }
  bool multi_label() const { return problem_type == "multi_label_classification"; }
  std::vector<std::string> label_names() const;  // in id order
};

// Parses config.json text. `source` names the file in error messages.
ModelConfig parse_config(const nlohmann::json& j, const std::string& source);
ModelConfig load_config(const std::filesystem::path& path);

// Serialises as transformers' save_pretrained does (sorted keys, indent 2), keeping `extra`.
nlohmann::json config_to_json(const ModelConfig& cfg);

// Built-in shapes for `init --config tiny|base`: base = distilbert-base-cased,
// tiny = the same vocabulary with dim 32, 2 layers, 2 heads, hidden 64, 128 positions.
ModelConfig preset_config(const std::string& name);

// Sets id2label/label2id from names in id order.
void set_labels(ModelConfig& cfg, const std::vector<std::string>& names);

}  // namespace bert_emotion
