// config.hpp — a Hugging Face model's config.json, as the engine uses it.
//
// Parsed from `model_type` distilbert, bert and roberta configs (every key Transformers'
// DistilBertConfig / BertConfig / RobertaConfig has that changes the math): `model_type` selects the
// parser and the family, and the fields below are architecture-neutral names (BERT's hidden_size is
// `dim`, intermediate_size `hidden_dim`, hidden_act `activation`, hidden_dropout_prob `dropout`,
// attention_probs_dropout_prob `attention_dropout`); config_to_json writes each family's own keys. Unknown keys are kept verbatim in `extra` so that a config we rewrite
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

// The encoder families (see model/family.hpp for what differs between them).
enum class Family { distilbert, bert, roberta };

struct ModelConfig {
  std::string model_type = "distilbert";
  Family family = Family::distilbert;
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
  float seq_classif_dropout = 0.2f;         // DistilBERT's head dropout
  std::optional<float> classifier_dropout;  // BERT/RoBERTa's head dropout; unset (null): `dropout`
  int type_vocab_size = 0;                  // BERT/RoBERTa token types (0: none, DistilBERT)
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
  // Dropout before the classifier: seq_classif_dropout (DistilBERT), classifier_dropout or dropout.
  float head_dropout() const {
    return family == Family::distilbert ? seq_classif_dropout : classifier_dropout.value_or(dropout);
  }
  // The longest input in tokens: RoBERTa's positions start at pad_token_id + 1.
  int max_tokens() const {
    return family == Family::roberta ? max_position_embeddings - pad_token_id - 1 : max_position_embeddings;
  }
  bool multi_label() const { return problem_type == "multi_label_classification"; }
  // Whether a pair's token types reach the model (BERT: segment B is type 1). A table of one row
  // (RoBERTa) or none (DistilBERT) takes none: every token is type 0, as Transformers' tokenizers
  // for those models return no token_type_ids.
  bool takes_token_types() const { return type_vocab_size > 1; }
  std::vector<std::string> label_names() const;  // in id order
};

// Parses config.json text. `source` names the file in error messages.
ModelConfig parse_config(const nlohmann::json& j, const std::string& source);
ModelConfig load_config(const std::filesystem::path& path);

// Serialises as transformers' save_pretrained does (sorted keys, indent 2), keeping `extra`.
nlohmann::json config_to_json(const ModelConfig& cfg);

// Built-in shapes for `init --config NAME` (those of ../shared/reference/make_model.py):
// base = distilbert-base-cased, tiny = the same vocabulary with dim 32, 2 layers, 2 heads, hidden 64,
// 128 positions; bert-base = bert-base-cased, bert-tiny = its vocabulary at tiny sizes;
// roberta-base, roberta-tiny (50265 tokens, 258 positions, type_vocab 1, eps 1e-5, pad 1).
ModelConfig preset_config(const std::string& name);
// The preset a JSON override of `model_type` starts from: base, bert-base or roberta-base.
std::string base_preset_name(const std::string& model_type);

// Sets id2label/label2id from names in id order.
void set_labels(ModelConfig& cfg, const std::vector<std::string>& names);

}  // namespace bert_emotion
