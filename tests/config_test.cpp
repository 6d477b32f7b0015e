// config.json parsing and writing: every DistilBertConfig key, HF aliases and defaults (those of
// transformers' DistilBertConfig / PretrainedConfig), validation errors naming file and key, and
// round trips through config_to_json.
#include "model/config.hpp"

#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>

#include "model/weights.hpp"
#include "test_support.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

using namespace bert_emotion;
using bert_emotion::testing_support::error_of;
using json = nlohmann::json;

namespace {

json minimal() {
  return json::parse(R"({"model_type": "distilbert", "vocab_size": 100, "dim": 16, "n_layers": 2, "n_heads": 4,
                         "hidden_dim": 32, "max_position_embeddings": 64})");
}

std::string parse_error(const json& j) {
  return error_of<FormatError>([&] { parse_config(j, "cfg.json"); });
}

// The six sizes of a config, checked together (`what` names the config in failure messages).
struct Sizes {
  int vocab_size, max_position_embeddings, dim, n_heads, n_layers, hidden_dim;
};
void expect_sizes(const ModelConfig& c, const Sizes& s, const std::string& what) {
  EXPECT_EQ(c.vocab_size, s.vocab_size) << what;
  EXPECT_EQ(c.max_position_embeddings, s.max_position_embeddings) << what;
  EXPECT_EQ(c.dim, s.dim) << what;
  EXPECT_EQ(c.n_heads, s.n_heads) << what;
  EXPECT_EQ(c.n_layers, s.n_layers) << what;
  EXPECT_EQ(c.hidden_dim, s.hidden_dim) << what;
}

// The settings DistilBertConfig gives a default to (activation, dropouts, init, padding, problem).
struct Settings {
  std::string activation;
  float dropout, attention_dropout, seq_classif_dropout, qa_dropout, initializer_range;
  int pad_token_id;
  bool sinusoidal_pos_embds;
  std::string problem_type;
};
void expect_settings(const ModelConfig& c, const Settings& s) {
  EXPECT_EQ(c.activation, s.activation);
  EXPECT_FLOAT_EQ(c.dropout, s.dropout);
  EXPECT_FLOAT_EQ(c.attention_dropout, s.attention_dropout);
  EXPECT_FLOAT_EQ(c.seq_classif_dropout, s.seq_classif_dropout);
  EXPECT_FLOAT_EQ(c.qa_dropout, s.qa_dropout);
  EXPECT_FLOAT_EQ(c.initializer_range, s.initializer_range);
  EXPECT_EQ(c.pad_token_id, s.pad_token_id);
  EXPECT_EQ(c.sinusoidal_pos_embds, s.sinusoidal_pos_embds);
  EXPECT_EQ(c.problem_type, s.problem_type);
}

}  // namespace

TEST(Config, ParsesEveryKey) {
  const json j = json::parse(R"({
    "activation": "relu", "architectures": ["DistilBertForSequenceClassification"],
    "attention_dropout": 0.25, "dim": 24, "dropout": 0.15, "hidden_dim": 48,
    "id2label": {"0": "neg", "1": "neu", "2": "pos"}, "initializer_range": 0.05,
    "label2id": {"neg": 0, "neu": 1, "pos": 2}, "max_position_embeddings": 64, "model_type": "distilbert",
    "n_heads": 3, "n_layers": 5, "pad_token_id": 7, "problem_type": "multi_label_classification",
    "qa_dropout": 0.3, "seq_classif_dropout": 0.35, "sinusoidal_pos_embds": true,
    "output_past": true, "tie_weights_": true, "transformers_version": "4.35.2", "torch_dtype": "float32",
    "vocab_size": 1000})");
  const ModelConfig c = parse_config(j, "cfg.json");
  EXPECT_EQ(c.model_type, "distilbert");
  EXPECT_EQ(c.architectures, std::vector<std::string>{"DistilBertForSequenceClassification"});
  expect_sizes(
      c, {.vocab_size = 1000, .max_position_embeddings = 64, .dim = 24, .n_heads = 3, .n_layers = 5, .hidden_dim = 48},
      "cfg.json");
  EXPECT_EQ(c.head_dim(), 8);
  expect_settings(c, {.activation = "relu",
                      .dropout = 0.15f,
                      .attention_dropout = 0.25f,
                      .seq_classif_dropout = 0.35f,
                      .qa_dropout = 0.3f,
                      .initializer_range = 0.05f,
                      .pad_token_id = 7,
                      .sinusoidal_pos_embds = true,
                      .problem_type = "multi_label_classification"});
  EXPECT_TRUE(c.multi_label());
  EXPECT_EQ(c.num_labels(), 3);
  EXPECT_EQ(c.label_names(), (std::vector<std::string>{"neg", "neu", "pos"}));
  EXPECT_EQ(c.label2id.at("pos"), 2);
  EXPECT_FLOAT_EQ(c.layer_norm_eps, 1e-12f);
  // keys we do not interpret are kept verbatim, and only those
  EXPECT_EQ(c.extra, json::parse(R"({"output_past": true, "tie_weights_": true, "transformers_version": "4.35.2",
                                     "torch_dtype": "float32"})"));
}

TEST(Config, HfAliases) {
  json j = minimal();
  j.erase("dim");
  j.erase("n_heads");
  j.erase("n_layers");
  j["hidden_size"] = 32;
  j["num_attention_heads"] = 8;
  j["num_hidden_layers"] = 3;
  const ModelConfig c = parse_config(j, "cfg.json");
  EXPECT_EQ(c.dim, 32);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_layers, 3);
  EXPECT_FALSE(c.extra.contains("hidden_size"));
  // both spellings present and agreeing is fine; disagreeing is an error naming both
  j["dim"] = 32;
  EXPECT_EQ(parse_config(j, "cfg.json").dim, 32);
  j["dim"] = 64;
  const std::string msg = parse_error(j);
  EXPECT_NE(msg.find("\"dim\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"hidden_size\""), std::string::npos) << msg;
}

TEST(Config, DefaultsMirrorTransformers) {
  const ModelConfig c = parse_config(minimal(), "cfg.json");
  // DistilBertConfig.__init__ defaults
  expect_settings(c, {.activation = "gelu",
                      .dropout = 0.1f,
                      .attention_dropout = 0.1f,
                      .seq_classif_dropout = 0.2f,
                      .qa_dropout = 0.1f,
                      .initializer_range = 0.02f,
                      .pad_token_id = 0,
                      .sinusoidal_pos_embds = false,
                      .problem_type = ""});
  EXPECT_TRUE(c.architectures.empty());
  // PretrainedConfig: no id2label -> 2 labels LABEL_0 / LABEL_1
  EXPECT_EQ(c.label_names(), (std::vector<std::string>{"LABEL_0", "LABEL_1"}));
  EXPECT_EQ(c.label2id, (std::map<std::string, int>{{"LABEL_0", 0}, {"LABEL_1", 1}}));
  EXPECT_TRUE(c.extra.empty());
  // ... or num_labels of them
  json j = minimal();
  j["num_labels"] = 3;
  EXPECT_EQ(parse_config(j, "cfg.json").label_names(), (std::vector<std::string>{"LABEL_0", "LABEL_1", "LABEL_2"}));
  // label2id alone defines the labels
  j = minimal();
  j["label2id"] = {{"b", 1}, {"a", 0}};
  const ModelConfig l = parse_config(j, "cfg.json");
  EXPECT_EQ(l.label_names(), (std::vector<std::string>{"a", "b"}));
}

TEST(Config, MissingRequiredKeyNamesFileAndKey) {
  for (const char* key :
       {"vocab_size", "dim", "n_layers", "n_heads", "hidden_dim", "max_position_embeddings", "model_type"}) {
    json j = minimal();
    j.erase(key);
    const std::string msg = parse_error(j);
    EXPECT_NE(msg.find("cfg.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::string("missing required key \"") + key + "\""), std::string::npos) << msg;
  }
}

TEST(Config, UnknownModelType) {
  json j = minimal();
  j["model_type"] = "gpt2";
  const std::string msg = error_of<UnsupportedError>([&] { parse_config(j, "cfg.json"); });
  EXPECT_NE(msg.find("cfg.json"), std::string::npos);
  EXPECT_NE(msg.find("\"gpt2\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("model_type"), std::string::npos) << msg;
}

TEST(Config, BadTypesNameTheKey) {
  const std::vector<std::pair<std::string, json>> cases = {
      {"dim", "768"},
      {"n_layers", 2.5},
      {"vocab_size", true},
      {"dropout", "0.1"},
      {"sinusoidal_pos_embds", 1},
      {"activation", 3},
      {"architectures", "DistilBertModel"},
      {"id2label", json::array({"a", "b"})},
      {"label2id", json::array({0, 1})},
      {"problem_type", 1},
      {"pad_token_id", "0"},
      {"vocab_size", 1e12},
  };
  for (const auto& [key, value] : cases) {
    json j = minimal();
    j[key] = value;
    const std::string msg = parse_error(j);
    EXPECT_NE(msg.find("cfg.json: key \"" + key), std::string::npos) << key << ": " << msg;
  }
  // not an object at all
  EXPECT_NE(parse_error(json::array()).find("cfg.json"), std::string::npos);
  // 768.0 is an integer value (some tools write floats)
  json j = minimal();
  j["dim"] = 16.0;
  EXPECT_EQ(parse_config(j, "cfg.json").dim, 16);
}

TEST(Config, ValidatesSizes) {
  auto with = [](const char* key, json v) {
    json j = minimal();
    j[key] = v;
    return j;
  };
  EXPECT_NE(parse_error(with("n_heads", 3)).find("dim (16) must be divisible by n_heads (3)"), std::string::npos);
  EXPECT_NE(parse_error(with("dim", 0)).find("\"dim\": must be > 0"), std::string::npos);
  EXPECT_NE(parse_error(with("hidden_dim", -4)).find("\"hidden_dim\": must be > 0"), std::string::npos);
  EXPECT_NE(parse_error(with("pad_token_id", 100)).find("pad_token_id"), std::string::npos);
  EXPECT_NE(parse_error(with("dropout", 1.0)).find("\"dropout\""), std::string::npos);
  EXPECT_NE(parse_error(with("problem_type", "ranking")).find("\"ranking\""), std::string::npos);
  // Absurd sizes are refused before anything is sized from them.
  EXPECT_NE(parse_error(with("n_layers", 100000000)).find("\"n_layers\": 100000000 is implausibly large"),
            std::string::npos);
  EXPECT_NE(parse_error(with("vocab_size", 2000000000)).find("implausibly many"), std::string::npos);
  EXPECT_EQ(parse_config(with("n_layers", 1024), "c").n_layers, 1024);
  const std::string act = error_of<UnsupportedError>([&] { parse_config(with("activation", "swiglu"), "cfg.json"); });
  EXPECT_NE(act.find("\"swiglu\""), std::string::npos) << act;
  for (const char* a : {"gelu", "relu", "gelu_new", "silu"})
    EXPECT_EQ(parse_config(with("activation", a), "c").activation, a);
}

TEST(Config, LabelMapsMustAgree) {
  auto with_labels = [](json id2label, json label2id) {
    json j = minimal();
    if (!id2label.is_null()) j["id2label"] = id2label;
    if (!label2id.is_null()) j["label2id"] = label2id;
    return j;
  };
  // name differs
  EXPECT_NE(parse_error(with_labels({{"0", "a"}, {"1", "b"}}, {{"a", 0}, {"c", 1}})).find("disagree"),
            std::string::npos);
  // id differs
  const std::string swapped = parse_error(with_labels({{"0", "a"}, {"1", "b"}}, {{"a", 1}, {"b", 0}}));
  EXPECT_NE(swapped.find("id2label[0] = \"a\" but label2id[\"a\"] = 1"), std::string::npos) << swapped;
  // different sizes
  EXPECT_NE(parse_error(with_labels({{"0", "a"}, {"1", "b"}}, {{"a", 0}})).find("disagree"), std::string::npos);
  // ids must be 0..K-1
  EXPECT_NE(parse_error(with_labels({{"0", "a"}, {"2", "b"}}, nullptr)).find("found id 2"), std::string::npos);
  EXPECT_NE(parse_error(with_labels({{"x", "a"}}, nullptr)).find("\"x\" is not an integer"), std::string::npos);
  EXPECT_NE(parse_error(with_labels({{"1", "a"}}, nullptr)).find("found id 1"), std::string::npos);
  // one name for two ids has no inverse
  EXPECT_NE(parse_error(with_labels({{"0", "a"}, {"1", "a"}}, nullptr)).find("appears twice"), std::string::npos);
  // "1" and "01" are the same id (Python's int() agrees): ambiguous, refused
  EXPECT_NE(parse_error(with_labels({{"0", "a"}, {"1", "b"}, {"01", "c"}}, nullptr)).find("two keys mean label id 1"),
            std::string::npos);
  // label ids that would overflow an int are not silently truncated (2^32 would wrap to 0)
  EXPECT_NE(parse_error(with_labels({{"0", "a"}}, {{"a", 4294967296LL}})).find("label2id.a"), std::string::npos);
  // num_labels without id2label: at least 1, and bounded so a hostile file cannot exhaust memory
  for (json n : {json(0), json(-3), json(2000000000), json(4294967298LL)}) {
    json k = minimal();
    k["num_labels"] = n;
    EXPECT_NE(parse_error(k).find("\"num_labels\": must be in [1, 1000000]"), std::string::npos) << n;
  }
  // num_labels contradicting id2label
  json j = with_labels({{"0", "a"}}, nullptr);
  j["num_labels"] = 2;
  EXPECT_NE(parse_error(j).find("num_labels"), std::string::npos);
  // consistent maps parse
  EXPECT_EQ(parse_config(with_labels({{"1", "b"}, {"0", "a"}}, {{"b", 1}, {"a", 0}}), "c").label_names(),
            (std::vector<std::string>{"a", "b"}));
}

TEST(Config, RoundTripThroughJson) {
  json j = minimal();
  j["id2label"] = {{"0", "anger"}, {"1", "joy"}, {"2", "optimism"}, {"3", "sadness"}};
  j["problem_type"] = "single_label_classification";
  j["architectures"] = {"DistilBertForSequenceClassification"};
  j["dropout"] = 0.1;
  j["transformers_version"] = "4.35.2";
  j["custom_thing"] = {{"nested", json::array({1, 2})}};
  const ModelConfig a = parse_config(j, "a.json");
  const json written = config_to_json(a);
  const ModelConfig b = parse_config(written, "b.json");
  EXPECT_EQ(config_to_json(b), written);
  EXPECT_EQ(b.label_names(), a.label_names());
  EXPECT_EQ(b.problem_type, "single_label_classification");
  EXPECT_EQ(b.extra, a.extra);
  EXPECT_EQ(written.at("transformers_version"), "4.35.2");
  EXPECT_EQ(written.at("custom_thing"), j.at("custom_thing"));
  EXPECT_EQ(written.at("id2label").at("3"), "sadness");  // string keys, as save_pretrained writes
  EXPECT_EQ(written.at("label2id").at("joy"), 1);
  EXPECT_EQ(written.at("model_type"), "distilbert");
  // floats are written as the decimal they were read from, not float32's expansion
  const std::string text = written.dump(2);
  EXPECT_NE(text.find("\"dropout\": 0.1,"), std::string::npos) << text;
  EXPECT_NE(text.find("\"initializer_range\": 0.02,"), std::string::npos) << text;
  EXPECT_NE(text.find("\"seq_classif_dropout\": 0.2,"), std::string::npos) << text;
  // keys come out sorted (save_pretrained uses sort_keys=True)
  EXPECT_LT(text.find("\"activation\""), text.find("\"architectures\""));
  EXPECT_LT(text.find("\"vocab_size\""), text.size());
  EXPECT_LT(text.find("\"label2id\""), text.find("\"max_position_embeddings\""));
  // no problem_type when unset
  EXPECT_FALSE(config_to_json(parse_config(minimal(), "c")).contains("problem_type"));
}

TEST(Config, SharedDistilbertBaseCasedConfig) {
  // The real distilbert-base-cased config.json (a masked-LM checkpoint).
  const auto path = std::filesystem::path(SHARED_DIR) / "models/distilbert-base-cased/config.json";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not present";
  const ModelConfig c = load_config(path);
  EXPECT_EQ(c.dim, 768);
  EXPECT_EQ(c.n_layers, 6);
  EXPECT_EQ(c.n_heads, 12);
  EXPECT_EQ(c.hidden_dim, 3072);
  EXPECT_EQ(c.vocab_size, 28996);
  EXPECT_EQ(c.architectures, std::vector<std::string>{"DistilBertForMaskedLM"});
  EXPECT_EQ(c.extra.at("output_past"), true);
  // rewriting keeps every original key and value
  const json original = json::parse(read_file(path));
  const json written = config_to_json(c);
  for (auto it = original.begin(); it != original.end(); ++it) EXPECT_EQ(written.at(it.key()), it.value()) << it.key();
}

TEST(Config, LoadConfigErrorsNameThePath) {
  const std::string missing = error_of<IoError>([] { load_config("/nonexistent/dir/config.json"); });
  EXPECT_NE(missing.find("/nonexistent/dir/config.json"), std::string::npos) << missing;
  const auto path = std::filesystem::temp_directory_path() / ("cfg_test_" + std::to_string(::getpid()) + ".json");
  write_file_atomic(path, "{\"model_type\": \"distilbert\",");
  const std::string bad = error_of<FormatError>([&] { load_config(path); });
  EXPECT_NE(bad.find(path.string() + ": not valid JSON"), std::string::npos) << bad;
  std::filesystem::remove(path);
}

TEST(Config, PresetsAndLabels) {
  // make_model.py's PRESETS
  const ModelConfig base = preset_config("base");
  expect_sizes(base,
               {.vocab_size = 28996,
                .max_position_embeddings = 512,
                .dim = 768,
                .n_heads = 12,
                .n_layers = 6,
                .hidden_dim = 3072},
               "base");
  const ModelConfig tiny = preset_config("tiny");
  expect_sizes(
      tiny,
      {.vocab_size = 28996, .max_position_embeddings = 128, .dim = 32, .n_heads = 2, .n_layers = 2, .hidden_dim = 64},
      "tiny");
  EXPECT_THROW(preset_config("huge"), InvalidArgument);
  // presets survive their own validation
  EXPECT_EQ(config_to_json(parse_config(config_to_json(tiny), "t")), config_to_json(tiny));

  ModelConfig c = base;
  set_labels(c, {"anger", "joy", "optimism", "sadness"});
  EXPECT_EQ(c.num_labels(), 4);
  EXPECT_EQ(c.id2label.at(2), "optimism");
  EXPECT_EQ(c.label2id.at("sadness"), 3);
  // 65,784,580 parameters: what make_model.py --config base (PyTorch) reports for 4 labels
  EXPECT_EQ(ParamLayout(c).size(), 65784580u);
  EXPECT_THROW(set_labels(c, {"a", "a"}), InvalidArgument);
  EXPECT_THROW(set_labels(c, {}), InvalidArgument);
  EXPECT_THROW(set_labels(c, {"a", ""}), InvalidArgument);
  EXPECT_EQ(c.num_labels(), 4);  // unchanged by the failed calls
}
