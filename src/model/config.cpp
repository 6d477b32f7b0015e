// config.cpp — config.json <-> ModelConfig (see config.hpp).
//
// Mirrors transformers' DistilBertConfig (the HF aliases hidden_size, num_attention_heads,
// num_hidden_layers are accepted) and BertConfig / RobertaConfig (their own key names and defaults;
// only absolute position embeddings); a missing id2label means 2 labels LABEL_0/LABEL_1 (or
// `num_labels` of them), and every key we do not interpret is kept verbatim in `extra`.
// The shape keys are required: HF would silently fall back to distilbert-base-uncased sizes,
// which only surfaces later as a confusing tensor-shape mismatch.
#include "model/config.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <set>

#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace bert_emotion {

namespace {

using json = nlohmann::json;

const char* json_type_name(const json& v) {
  if (v.is_number_integer()) return "an integer";
  if (v.is_number_float()) return "a number";
  return v.type_name();
}

[[noreturn]] void fail_type(const std::string& source, const std::string& key, const char* expected, const json& v) {
  throw FormatError(source + ": key \"" + key + "\": expected " + expected + ", got " + json_type_name(v) + " (" +
                    v.dump() + ")");
}

// Reads the JSON keys of one config, remembering which were consumed so the rest land in `extra`.
class KeyReader {
 public:
  KeyReader(const json& j, std::string source) : j_(j), source_(std::move(source)) {}

  bool has(const std::string& key) const { return j_.contains(key) && !j_.at(key).is_null(); }

  // The first present key among `names` (canonical name first, then HF aliases), or nullptr.
  const json* find(std::initializer_list<const char*> names, std::string* found_name) {
    const json* result = nullptr;
    for (const char* n : names) {
      if (!j_.contains(n)) continue;
      used_.insert(n);
      if (j_.at(n).is_null()) continue;
      if (result == nullptr) {
        result = &j_.at(n);
        *found_name = n;
      } else if (*result != j_.at(n)) {
        throw FormatError(source_ + ": keys \"" + *found_name + "\" (" + result->dump() + ") and \"" + n + "\" (" +
                          j_.at(n).dump() + ") are aliases of each other but disagree");
      }
    }
    return result;
  }

  int get_int(std::initializer_list<const char*> names, std::optional<int> fallback) {
    std::string key;
    const json* v = find(names, &key);
    if (v == nullptr) {
      if (fallback) return *fallback;
      throw FormatError(source_ + ": missing required key \"" + *names.begin() + "\"");
    }
    if (v->is_number_integer()) {
      const int64_t x = v->get<int64_t>();
      if (x < INT32_MIN || x > INT32_MAX) fail_type(source_, key, "a 32-bit integer", *v);
      return static_cast<int>(x);
    }
    // 768.0 is an integer too (some tools write floats); 768.5 is not.
    if (v->is_number_float()) {
      const double d = v->get<double>();
      if (std::floor(d) == d && std::fabs(d) < 2147483647.0) return static_cast<int>(d);
    }
    fail_type(source_, key, "an integer", *v);
  }

  float get_float(const char* name, float fallback) {
    std::string key;
    const json* v = find({name}, &key);
    if (v == nullptr) return fallback;
    if (!v->is_number()) fail_type(source_, key, "a number", *v);
    return static_cast<float>(v->get<double>());
  }

  bool get_bool(const char* name, bool fallback) {
    std::string key;
    const json* v = find({name}, &key);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) fail_type(source_, key, "true or false", *v);
    return v->get<bool>();
  }

  std::string get_string(const char* name, const std::string& fallback) {
    std::string key;
    const json* v = find({name}, &key);
    if (v == nullptr) return fallback;
    if (!v->is_string()) fail_type(source_, key, "a string", *v);
    return v->get<std::string>();
  }

  const json* get_raw(const char* name) {
    std::string key;
    return find({name}, &key);
  }

  json unused() const {
    json extra = json::object();
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (!used_.count(it.key())) extra[it.key()] = it.value();
    return extra;
  }

 private:
  const json& j_;
  std::string source_;
  std::set<std::string> used_;
};

// Far beyond any classifier, small enough that a hostile num_labels cannot exhaust memory.
constexpr int64_t kMaxLabels = 1'000'000;

// Label id keys are JSON strings ("0"); the whole string must be a decimal integer.
int parse_label_id(const std::string& source, const std::string& text) {
  int id = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, id);
  if (text.empty() || ec != std::errc() || ptr != end)
    throw FormatError(source + ": key \"id2label\": key \"" + text + "\" is not an integer label id");
  return id;
}

void parse_labels(KeyReader& r, ModelConfig& cfg, const std::string& source) {
  const json* id2label = r.get_raw("id2label");
  const json* label2id = r.get_raw("label2id");
  std::string key;
  const json* num_labels_v = r.find({"num_labels"}, &key);
  std::optional<int64_t> num_labels;
  if (num_labels_v != nullptr) {
    if (!num_labels_v->is_number_integer()) fail_type(source, "num_labels", "an integer", *num_labels_v);
    num_labels = num_labels_v->get<int64_t>();
    if (*num_labels < 1 || *num_labels > kMaxLabels)
      throw FormatError(source + ": key \"num_labels\": must be in [1, " + std::to_string(kMaxLabels) + "], got " +
                        std::to_string(*num_labels));
  }

  if (id2label != nullptr) {
    if (!id2label->is_object()) fail_type(source, "id2label", "an object {\"0\": \"name\", ...}", *id2label);
    for (auto it = id2label->begin(); it != id2label->end(); ++it) {
      if (!it.value().is_string()) fail_type(source, "id2label." + it.key(), "a string label name", it.value());
      const int id = parse_label_id(source, it.key());
      if (!cfg.id2label.emplace(id, it.value().get<std::string>()).second)
        throw FormatError(source + ": key \"id2label\": two keys mean label id " + std::to_string(id));
    }
  }
  if (label2id != nullptr) {
    if (!label2id->is_object()) fail_type(source, "label2id", "an object {\"name\": 0, ...}", *label2id);
    for (auto it = label2id->begin(); it != label2id->end(); ++it) {
      const json& v = it.value();
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > kMaxLabels)
        fail_type(source, "label2id." + it.key(), "a label id in [0, 1000000]", v);
      cfg.label2id[it.key()] = v.get<int>();
    }
  }
  if (id2label == nullptr && label2id != nullptr) {
    // Only label2id given: its inverse is the only sensible id2label.
    for (const auto& [name, id] : cfg.label2id) {
      if (cfg.id2label.count(id))
        throw FormatError(source + ": key \"label2id\": labels \"" + cfg.id2label[id] + "\" and \"" + name +
                          "\" share id " + std::to_string(id));
      cfg.id2label[id] = name;
    }
  }
  if (id2label == nullptr && label2id == nullptr) {
    // transformers' PretrainedConfig default: 2 labels, or num_labels of them, named LABEL_i.
    const int n = static_cast<int>(num_labels.value_or(2));
    for (int i = 0; i < n; ++i) cfg.id2label[i] = "LABEL_" + std::to_string(i);
  }
  // Ids must be exactly 0..K-1: they index the classifier's rows.
  int expect = 0;
  for (const auto& [id, name] : cfg.id2label) {
    if (id != expect)
      throw FormatError(source + ": key \"id2label\": label ids must be 0.." + std::to_string(cfg.id2label.size() - 1) +
                        ", found id " + std::to_string(id));
    ++expect;
  }
  if (cfg.id2label.empty()) throw FormatError(source + ": key \"id2label\": no labels");
  if (num_labels && *num_labels != cfg.num_labels())
    throw FormatError(source + ": key \"num_labels\" is " + std::to_string(*num_labels) + " but id2label has " +
                      std::to_string(cfg.num_labels()) + " labels");
  if (label2id == nullptr) {
    for (const auto& [id, name] : cfg.id2label) {
      if (cfg.label2id.count(name))
        throw FormatError(source + ": key \"id2label\": label name \"" + name + "\" appears twice");
      cfg.label2id[name] = id;
    }
  } else {
    // label2id must be the exact inverse of id2label.
    if (cfg.label2id.size() != cfg.id2label.size())
      throw FormatError(source + ": keys \"id2label\" and \"label2id\" disagree: " +
                        std::to_string(cfg.id2label.size()) + " vs " + std::to_string(cfg.label2id.size()) + " labels");
    for (const auto& [id, name] : cfg.id2label) {
      auto it = cfg.label2id.find(name);
      if (it == cfg.label2id.end())
        throw FormatError(source + ": keys \"id2label\" and \"label2id\" disagree: id2label[" + std::to_string(id) +
                          "] = \"" + name + "\" is missing from label2id");
      if (it->second != id)
        throw FormatError(source + ": keys \"id2label\" and \"label2id\" disagree: id2label[" + std::to_string(id) +
                          "] = \"" + name + "\" but label2id[\"" + name + "\"] = " + std::to_string(it->second));
    }
  }
}

const std::set<std::string>& known_activations() {
  static const std::set<std::string> s = {"gelu", "relu", "gelu_new", "gelu_pytorch_tanh", "silu"};
  return s;
}

const std::set<std::string>& known_problem_types() {
  static const std::set<std::string> s = {"single_label_classification", "multi_label_classification", "regression"};
  return s;
}

constexpr int kMaxLayers = 1024;
constexpr double kMaxParameters = 2e10;  // 80 GB of float32

// The config.json name of a ModelConfig field in this family (BERT/RoBERTa spell them differently).
const char* key_name(const ModelConfig& c, const char* field) {
  if (c.family == Family::distilbert) return field;
  static const std::map<std::string, const char*> bert = {{"dim", "hidden_size"},
                                                          {"n_layers", "num_hidden_layers"},
                                                          {"n_heads", "num_attention_heads"},
                                                          {"hidden_dim", "intermediate_size"},
                                                          {"activation", "hidden_act"},
                                                          {"dropout", "hidden_dropout_prob"},
                                                          {"attention_dropout", "attention_probs_dropout_prob"}};
  auto it = bert.find(field);
  return it == bert.end() ? field : it->second;
}

void validate(const ModelConfig& c, const std::string& source) {
  auto positive = [&](const char* field, int v) {
    const char* key = key_name(c, field);
    if (v <= 0) throw FormatError(source + ": key \"" + key + "\": must be > 0, got " + std::to_string(v));
  };
  positive("vocab_size", c.vocab_size);
  positive("dim", c.dim);
  positive("n_layers", c.n_layers);
  positive("n_heads", c.n_heads);
  positive("hidden_dim", c.hidden_dim);
  positive("max_position_embeddings", c.max_position_embeddings);
  if (c.family != Family::distilbert) positive("type_vocab_size", c.type_vocab_size);
  // Bounds far above any real checkpoint, so that a hostile or mistyped config fails here instead of
  // asking for terabytes (the parameter layout and the arena are sized from these numbers).
  if (c.n_layers > kMaxLayers)
    throw FormatError(source + ": key \"" + key_name(c, "n_layers") + "\": " + std::to_string(c.n_layers) +
                      " is implausibly large (at most " + std::to_string(kMaxLayers) + ")");
  const double C = c.dim, F = c.hidden_dim;
  const double params = (static_cast<double>(c.vocab_size) + c.max_position_embeddings + c.type_vocab_size) * C +
                        c.n_layers * (4 * C * C + 2 * C * F + F + 9 * C) + C * C + 3 * C;
  if (params > kMaxParameters)
    throw FormatError(source + ": the configured sizes give " + std::to_string(params) +
                      " parameters, implausibly many (at most " + std::to_string(kMaxParameters) + ")");
  if (c.dim % c.n_heads != 0)
    throw FormatError(source + ": " + key_name(c, "dim") + " (" + std::to_string(c.dim) + ") must be divisible by " +
                      key_name(c, "n_heads") + " (" + std::to_string(c.n_heads) + ")");
  if (c.sinusoidal_pos_embds && c.dim % 2 != 0)
    throw FormatError(source + ": sinusoidal_pos_embds needs an even dim, got " + std::to_string(c.dim));
  if (c.pad_token_id < 0 || c.pad_token_id >= c.vocab_size)
    throw FormatError(source + ": key \"pad_token_id\": " + std::to_string(c.pad_token_id) +
                      " is outside the vocabulary [0, " + std::to_string(c.vocab_size) + ")");
  if (c.family == Family::roberta && c.max_tokens() < 1)
    throw FormatError(source + ": key \"max_position_embeddings\": " + std::to_string(c.max_position_embeddings) +
                      " leaves no position for a token (RoBERTa's positions start at pad_token_id + 1 = " +
                      std::to_string(c.pad_token_id + 1) + ")");
  if (!known_activations().count(c.activation))
    throw UnsupportedError(source + ": key \"" + key_name(c, "activation") + "\": unsupported activation \"" +
                           c.activation + "\" (supported: gelu, gelu_new, gelu_pytorch_tanh, relu, silu)");
  auto probability = [&](const char* field, float p) {
    const char* key = key_name(c, field);
    if (!(p >= 0.f && p < 1.f))
      throw FormatError(source + ": key \"" + key + "\": a dropout probability must be in [0, 1), got " +
                        std::to_string(p));
  };
  probability("dropout", c.dropout);
  probability("attention_dropout", c.attention_dropout);
  if (c.family == Family::distilbert) {
    probability("seq_classif_dropout", c.seq_classif_dropout);
    probability("qa_dropout", c.qa_dropout);
  } else if (c.classifier_dropout) {
    probability("classifier_dropout", *c.classifier_dropout);
  }
  if (!(c.initializer_range >= 0.f) || !std::isfinite(c.initializer_range))
    throw FormatError(source + ": key \"initializer_range\": must be >= 0");
  if (!c.problem_type.empty() && !known_problem_types().count(c.problem_type))
    throw FormatError(source + ": key \"problem_type\": unknown value \"" + c.problem_type +
                      "\" (expected single_label_classification, multi_label_classification or regression)");
}

ModelConfig parse_distilbert(const json& j, const std::string& source) {
  ModelConfig cfg;
  KeyReader r(j, source);
  cfg.model_type = r.get_string("model_type", "distilbert");
  if (const json* a = r.get_raw("architectures")) {
    if (!a->is_array()) fail_type(source, "architectures", "an array of strings", *a);
    for (const auto& e : *a) {
      if (!e.is_string()) fail_type(source, "architectures", "an array of strings", *a);
      cfg.architectures.push_back(e.get<std::string>());
    }
  }
  cfg.vocab_size = r.get_int({"vocab_size"}, std::nullopt);
  cfg.max_position_embeddings = r.get_int({"max_position_embeddings"}, std::nullopt);
  cfg.dim = r.get_int({"dim", "hidden_size"}, std::nullopt);
  cfg.n_layers = r.get_int({"n_layers", "num_hidden_layers"}, std::nullopt);
  cfg.n_heads = r.get_int({"n_heads", "num_attention_heads"}, std::nullopt);
  cfg.hidden_dim = r.get_int({"hidden_dim"}, std::nullopt);
  // The rest have DistilBertConfig's defaults.
  cfg.sinusoidal_pos_embds = r.get_bool("sinusoidal_pos_embds", false);
  cfg.activation = r.get_string("activation", "gelu");
  cfg.dropout = r.get_float("dropout", 0.1f);
  cfg.attention_dropout = r.get_float("attention_dropout", 0.1f);
  cfg.seq_classif_dropout = r.get_float("seq_classif_dropout", 0.2f);
  cfg.qa_dropout = r.get_float("qa_dropout", 0.1f);
  cfg.initializer_range = r.get_float("initializer_range", 0.02f);
  cfg.layer_norm_eps = 1e-12f;  // DistilBERT ignores any layer_norm_eps key (it stays in extra)
  cfg.pad_token_id = r.get_int({"pad_token_id"}, 0);
  cfg.problem_type = r.get_string("problem_type", "");
  parse_labels(r, cfg, source);
  cfg.extra = r.unused();
  validate(cfg, source);
  return cfg;
}

// BertConfig / RobertaConfig: their key names, their defaults (RoBERTa pads with id 1).
ModelConfig parse_bert(const json& j, const std::string& source, Family family) {
  ModelConfig cfg;
  cfg.family = family;
  KeyReader r(j, source);
  cfg.model_type = r.get_string("model_type", "bert");
  if (const json* a = r.get_raw("architectures")) {
    if (!a->is_array()) fail_type(source, "architectures", "an array of strings", *a);
    for (const auto& e : *a) {
      if (!e.is_string()) fail_type(source, "architectures", "an array of strings", *a);
      cfg.architectures.push_back(e.get<std::string>());
    }
  }
  const std::string position_type = r.get_string("position_embedding_type", "absolute");
  if (position_type != "absolute")
    throw UnsupportedError(source + ": key \"position_embedding_type\": \"" + position_type +
                           "\" is not supported (supported: absolute)");
  for (const char* flag : {"is_decoder", "add_cross_attention"})
    if (r.has(flag) && r.get_bool(flag, false))
      throw UnsupportedError(source + ": key \"" + flag +
                             "\": decoder / cross-attention models are not supported "
                             "(supported: encoder-only sequence classifiers)");
  // Like the DistilBERT shape keys, the sizes are required (HF's silent defaults hide mistakes).
  cfg.vocab_size = r.get_int({"vocab_size"}, std::nullopt);
  cfg.dim = r.get_int({"hidden_size"}, std::nullopt);
  cfg.n_layers = r.get_int({"num_hidden_layers"}, std::nullopt);
  cfg.n_heads = r.get_int({"num_attention_heads"}, std::nullopt);
  cfg.hidden_dim = r.get_int({"intermediate_size"}, std::nullopt);
  cfg.max_position_embeddings = r.get_int({"max_position_embeddings"}, std::nullopt);
  cfg.type_vocab_size = r.get_int({"type_vocab_size"}, 2);
  cfg.activation = r.get_string("hidden_act", "gelu");
  cfg.dropout = r.get_float("hidden_dropout_prob", 0.1f);
  cfg.attention_dropout = r.get_float("attention_probs_dropout_prob", 0.1f);
  if (r.has("classifier_dropout")) cfg.classifier_dropout = r.get_float("classifier_dropout", 0.f);
  else r.get_raw("classifier_dropout");  // an explicit null is consumed (written back as null)
  cfg.initializer_range = r.get_float("initializer_range", 0.02f);
  cfg.layer_norm_eps = r.get_float("layer_norm_eps", 1e-12f);
  cfg.pad_token_id = r.get_int({"pad_token_id"}, family == Family::roberta ? 1 : 0);
  cfg.problem_type = r.get_string("problem_type", "");
  parse_labels(r, cfg, source);
  cfg.extra = r.unused();
  if (!(cfg.layer_norm_eps > 0.f) || !std::isfinite(cfg.layer_norm_eps))
    throw FormatError(source + ": key \"layer_norm_eps\": must be > 0");
  validate(cfg, source);
  return cfg;
}

// Shortest decimal that round-trips the float, as a double: 0.1f is written "0.1" like Python
// writes the 0.1 it read, not 0.10000000149011612.
json float_json(float x) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, x);
  *ptr = '\0';
  return std::strtod(buf, nullptr);
}

}  // namespace

std::vector<std::string> ModelConfig::label_names() const {
  std::vector<std::string> names;
  names.reserve(id2label.size());
  for (const auto& [id, name] : id2label) names.push_back(name);
  return names;
}

ModelConfig parse_config(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw FormatError(source + ": expected a JSON object, got " + std::string(j.type_name()));
  if (!j.contains("model_type") || j.at("model_type").is_null())
    throw FormatError(source + ": missing required key \"model_type\"");
  if (!j.at("model_type").is_string()) fail_type(source, "model_type", "a string", j.at("model_type"));
  const std::string model_type = j.at("model_type").get<std::string>();
  if (model_type == "distilbert") return parse_distilbert(j, source);
  if (model_type == "bert") return parse_bert(j, source, Family::bert);
  if (model_type == "roberta") return parse_bert(j, source, Family::roberta);
  throw UnsupportedError(source + ": key \"model_type\": unsupported model type \"" + model_type +
                         "\" (supported: distilbert, bert, roberta)");
}

ModelConfig load_config(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range 406 (number overflow: 1e400)
    throw FormatError(path.string() + ": not valid JSON: " + e.what());
  }
  return parse_config(j, path.string());
}

namespace {

void write_labels(json& j, const ModelConfig& cfg) {
  json id2label = json::object();
  for (const auto& [id, name] : cfg.id2label) id2label[std::to_string(id)] = name;
  j["id2label"] = id2label;
  json label2id = json::object();
  for (const auto& [id, name] : cfg.id2label) label2id[name] = id;
  j["label2id"] = label2id;
  if (!cfg.problem_type.empty()) j["problem_type"] = cfg.problem_type;
}

json bert_config_to_json(const ModelConfig& cfg) {
  json j = cfg.extra.is_object() ? cfg.extra : json::object();
  j["model_type"] = cfg.model_type;
  if (!cfg.architectures.empty()) j["architectures"] = cfg.architectures;
  j["attention_probs_dropout_prob"] = float_json(cfg.attention_dropout);
  j["classifier_dropout"] = cfg.classifier_dropout ? float_json(*cfg.classifier_dropout) : json(nullptr);
  j["hidden_act"] = cfg.activation;
  j["hidden_dropout_prob"] = float_json(cfg.dropout);
  j["hidden_size"] = cfg.dim;
  j["initializer_range"] = float_json(cfg.initializer_range);
  j["intermediate_size"] = cfg.hidden_dim;
  j["layer_norm_eps"] = float_json(cfg.layer_norm_eps);
  j["max_position_embeddings"] = cfg.max_position_embeddings;
  j["num_attention_heads"] = cfg.n_heads;
  j["num_hidden_layers"] = cfg.n_layers;
  j["pad_token_id"] = cfg.pad_token_id;
  j["position_embedding_type"] = "absolute";
  j["type_vocab_size"] = cfg.type_vocab_size;
  j["vocab_size"] = cfg.vocab_size;
  write_labels(j, cfg);
  j.erase("num_labels");
  return j;
}

}  // namespace

nlohmann::json config_to_json(const ModelConfig& cfg) {
  if (cfg.family != Family::distilbert) return bert_config_to_json(cfg);
  json j = cfg.extra.is_object() ? cfg.extra : json::object();
  j["model_type"] = cfg.model_type;
  if (!cfg.architectures.empty()) j["architectures"] = cfg.architectures;
  j["activation"] = cfg.activation;
  j["attention_dropout"] = float_json(cfg.attention_dropout);
  j["dim"] = cfg.dim;
  j["dropout"] = float_json(cfg.dropout);
  j["hidden_dim"] = cfg.hidden_dim;
  j["initializer_range"] = float_json(cfg.initializer_range);
  j["max_position_embeddings"] = cfg.max_position_embeddings;
  j["n_heads"] = cfg.n_heads;
  j["n_layers"] = cfg.n_layers;
  j["pad_token_id"] = cfg.pad_token_id;
  j["qa_dropout"] = float_json(cfg.qa_dropout);
  j["seq_classif_dropout"] = float_json(cfg.seq_classif_dropout);
  j["sinusoidal_pos_embds"] = cfg.sinusoidal_pos_embds;
  j["vocab_size"] = cfg.vocab_size;
  write_labels(j, cfg);
  // The HF aliases are written under their canonical names only.
  for (const char* alias : {"hidden_size", "num_attention_heads", "num_hidden_layers", "num_labels"}) j.erase(alias);
  return j;
}

namespace {

// make_model.py's bert-* / roberta-* presets.
ModelConfig bert_preset(Family family, bool tiny) {
  ModelConfig c;
  c.family = family;
  const bool roberta = family == Family::roberta;
  c.model_type = roberta ? "roberta" : "bert";
  c.architectures = {roberta ? "RobertaForSequenceClassification" : "BertForSequenceClassification"};
  c.vocab_size = roberta ? 50265 : 28996;
  c.dim = tiny ? 32 : 768;
  c.n_layers = tiny ? 2 : 12;
  c.n_heads = tiny ? 2 : 12;
  c.hidden_dim = tiny ? 64 : 3072;
  c.max_position_embeddings = roberta ? (tiny ? 258 : 514) : (tiny ? 128 : 512);
  c.type_vocab_size = roberta ? 1 : 2;
  c.layer_norm_eps = roberta ? 1e-5f : 1e-12f;
  c.pad_token_id = roberta ? 1 : 0;
  c.activation = "gelu";
  c.dropout = c.attention_dropout = 0.1f;
  c.initializer_range = 0.02f;
  if (roberta) c.extra = {{"bos_token_id", 0}, {"eos_token_id", 2}};
  set_labels(c, {"LABEL_0", "LABEL_1"});
  return c;
}

}  // namespace

std::string base_preset_name(const std::string& model_type) {
  if (model_type == "distilbert") return "base";
  if (model_type == "bert" || model_type == "roberta") return model_type + "-base";
  throw UnsupportedError("model_type \"" + model_type + "\" is not supported (supported: distilbert, bert, roberta)");
}

ModelConfig preset_config(const std::string& name) {
  if (name == "bert-base" || name == "bert-tiny") return bert_preset(Family::bert, name == "bert-tiny");
  if (name == "roberta-base" || name == "roberta-tiny") return bert_preset(Family::roberta, name == "roberta-tiny");
  ModelConfig c;
  c.model_type = "distilbert";
  c.architectures = {"DistilBertForSequenceClassification"};
  c.vocab_size = 28996;  // distilbert-base-cased's vocabulary, so real token ids work at every size
  c.activation = "gelu";
  c.dropout = 0.1f;
  c.attention_dropout = 0.1f;
  c.seq_classif_dropout = 0.2f;
  c.qa_dropout = 0.1f;
  c.initializer_range = 0.02f;
  c.pad_token_id = 0;
  c.sinusoidal_pos_embds = false;
  if (name == "base") {
    c.max_position_embeddings = 512;
    c.n_layers = 6;
    c.n_heads = 12;
    c.dim = 768;
    c.hidden_dim = 3072;
  } else if (name == "tiny") {
    c.max_position_embeddings = 128;
    c.n_layers = 2;
    c.n_heads = 2;
    c.dim = 32;
    c.hidden_dim = 64;
  } else {
    throw InvalidArgument("unknown preset config \"" + name +
                          "\" (expected tiny, base, bert-tiny, bert-base, roberta-tiny or roberta-base)");
  }
  set_labels(c, {"LABEL_0", "LABEL_1"});  // transformers' default when no labels are given
  return c;
}

void set_labels(ModelConfig& cfg, const std::vector<std::string>& names) {
  if (names.empty()) throw InvalidArgument("set_labels: at least one label name is needed");
  std::map<int, std::string> id2label;
  std::map<std::string, int> label2id;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) throw InvalidArgument("set_labels: label " + std::to_string(i) + " has an empty name");
    if (!label2id.emplace(names[i], static_cast<int>(i)).second)
      throw InvalidArgument("set_labels: label name \"" + names[i] + "\" appears twice");
    id2label[static_cast<int>(i)] = names[i];
  }
  cfg.id2label = std::move(id2label);
  cfg.label2id = std::move(label2id);
}

}  // namespace bert_emotion
