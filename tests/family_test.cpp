// BERT and RoBERTa specifics: config.json parsing and writing (each family's key names, defaults,
// unsupported variants), the family's tensor names, and loading pretraining-style checkpoints
// (cls.* / lm_head.* / roberta.pooler.* dropped, the classifier created fresh, BERT's pooler kept).
// Logits, gradients and training against PyTorch are in forward_test, gradient_test and
// train_loop_test (fixtures by tools/make_family_fixtures.sh).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/config.hpp"
#include "model/family.hpp"
#include "model/init.hpp"
#include "model/model_dir.hpp"
#include "model/safetensors.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

using namespace bert_emotion;
using namespace bert_emotion::testing_support;
using json = nlohmann::json;

namespace {

const std::string kForward = std::string(FIXTURES_DIR) + "/forward/";

// A config.json as cardiffnlp/twitter-roberta-base-emotion ships it (sizes shrunk).
json roberta_config() {
  return json::parse(R"({
    "architectures": ["RobertaForSequenceClassification"], "attention_probs_dropout_prob": 0.1,
    "bos_token_id": 0, "eos_token_id": 2, "gradient_checkpointing": false, "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1, "hidden_size": 32, "id2label": {"0": "anger", "1": "joy", "2": "optimism", "3": "sadness"},
    "initializer_range": 0.02, "intermediate_size": 64, "label2id": {"anger": 0, "joy": 1, "optimism": 2, "sadness": 3},
    "layer_norm_eps": 1e-05, "max_position_embeddings": 514, "model_type": "roberta", "num_attention_heads": 2,
    "num_hidden_layers": 2, "pad_token_id": 1, "type_vocab_size": 1, "vocab_size": 50265})");
}

}  // namespace

TEST(FamilyConfig, RobertaConfigParsesAndRoundTrips) {
  const ModelConfig c = parse_config(roberta_config(), "config.json");
  EXPECT_EQ(c.family, Family::roberta);
  EXPECT_EQ(c.dim, 32);
  EXPECT_EQ(c.hidden_dim, 64);
  EXPECT_EQ(c.n_layers, 2);
  EXPECT_EQ(c.type_vocab_size, 1);
  EXPECT_FLOAT_EQ(c.layer_norm_eps, 1e-5f);
  EXPECT_EQ(c.pad_token_id, 1);
  EXPECT_EQ(c.max_tokens(), 512);  // positions start at pad + 1
  EXPECT_FALSE(c.classifier_dropout.has_value());
  EXPECT_FLOAT_EQ(c.head_dropout(), 0.1f);  // classifier_dropout absent: hidden_dropout_prob
  const json back = config_to_json(c);
  EXPECT_EQ(back["hidden_size"], 32);
  EXPECT_EQ(back["intermediate_size"], 64);
  EXPECT_EQ(back["num_hidden_layers"], 2);
  EXPECT_EQ(back["layer_norm_eps"].get<double>(), 1e-05);
  EXPECT_EQ(back["hidden_dropout_prob"].get<double>(), 0.1);
  EXPECT_TRUE(back["classifier_dropout"].is_null());
  EXPECT_EQ(back["position_embedding_type"], "absolute");
  EXPECT_FALSE(back.contains("dim")) << "DistilBERT's key names must not leak into a RoBERTa config";
  EXPECT_FALSE(back.contains("n_layers"));
  EXPECT_EQ(back["bos_token_id"], 0);  // unknown keys are kept
  EXPECT_EQ(back["gradient_checkpointing"], false);
  const ModelConfig again = parse_config(back, "again");
  EXPECT_EQ(config_to_json(again), back);
}

TEST(FamilyConfig, BertDefaultsAndClassifierDropout) {
  json j = {{"model_type", "bert"},          {"vocab_size", 100},         {"hidden_size", 16},
            {"num_hidden_layers", 1},        {"num_attention_heads", 2},  {"intermediate_size", 32},
            {"max_position_embeddings", 40}, {"classifier_dropout", 0.3}, {"hidden_act", "gelu_pytorch_tanh"}};
  const ModelConfig c = parse_config(j, "bert.json");
  EXPECT_EQ(c.family, Family::bert);
  EXPECT_EQ(c.type_vocab_size, 2);
  EXPECT_EQ(c.pad_token_id, 0);
  EXPECT_FLOAT_EQ(c.layer_norm_eps, 1e-12f);
  EXPECT_FLOAT_EQ(c.head_dropout(), 0.3f);
  EXPECT_EQ(c.max_tokens(), 40);
  EXPECT_EQ(config_to_json(c)["classifier_dropout"].get<double>(), 0.3);
  // HF's defaults for an unset RoBERTa pad id.
  j["model_type"] = "roberta";
  j.erase("classifier_dropout");
  EXPECT_EQ(parse_config(j, "roberta.json").pad_token_id, 1);
}

TEST(FamilyConfig, UnsupportedVariantsNameWhatIsSupported) {
  json j = roberta_config();
  j["model_type"] = "xlm-roberta";
  std::string msg = error_of<UnsupportedError>([&] { parse_config(j, "x.json"); });
  EXPECT_NE(msg.find("xlm-roberta"), std::string::npos) << msg;
  EXPECT_NE(msg.find("supported: distilbert, bert, roberta"), std::string::npos) << msg;
  j = roberta_config();
  j["position_embedding_type"] = "relative_key";
  msg = error_of<UnsupportedError>([&] { parse_config(j, "x.json"); });
  EXPECT_NE(msg.find("position_embedding_type"), std::string::npos) << msg;
  EXPECT_NE(msg.find("absolute"), std::string::npos) << msg;
  j = roberta_config();
  j["hidden_act"] = "quick_gelu";
  msg = error_of<UnsupportedError>([&] { parse_config(j, "x.json"); });
  EXPECT_NE(msg.find("hidden_act"), std::string::npos) << msg;
  j = roberta_config();
  j["is_decoder"] = true;
  EXPECT_THROW(parse_config(j, "x.json"), UnsupportedError);
  // A missing size names BERT's key; so does a bad probability.
  j = roberta_config();
  j.erase("intermediate_size");
  msg = error_of<FormatError>([&] { parse_config(j, "x.json"); });
  EXPECT_NE(msg.find("intermediate_size"), std::string::npos) << msg;
  j = roberta_config();
  j["hidden_dropout_prob"] = 1.5;
  msg = error_of<FormatError>([&] { parse_config(j, "x.json"); });
  EXPECT_NE(msg.find("hidden_dropout_prob"), std::string::npos) << msg;
  j = roberta_config();
  j["max_position_embeddings"] = 2;  // pad 1: no position left for a token
  msg = error_of<FormatError>([&] { parse_config(j, "x.json"); });
  EXPECT_NE(msg.find("max_position_embeddings"), std::string::npos) << msg;
}

TEST(FamilyConfig, PresetsHaveTheReferenceShapes) {
  // ../shared/reference/README.md: bert-tiny 950,372 and roberta-tiny 1,635,108 parameters (4 labels).
  for (const auto& [name, params] : {std::pair{"bert-tiny", size_t{950372}}, {"roberta-tiny", size_t{1635108}}}) {
    ModelConfig c = preset_config(name);
    set_labels(c, {"anger", "joy", "optimism", "sadness"});
    EXPECT_EQ(ParamLayout(c).size(), params) << name;
    EXPECT_EQ(parse_config(config_to_json(c), name).family, c.family) << name;
  }
  ModelConfig base = preset_config("roberta-base");
  set_labels(base, {"anger", "joy", "optimism", "sadness"});
  EXPECT_EQ(ParamLayout(base).size(), size_t{124648708});
}

TEST(FamilyLayout, TensorNamesAreHuggingFaces) {
  ModelConfig bert = preset_config("bert-tiny");
  const ParamLayout b(bert);
  EXPECT_NE(b.try_find("bert.embeddings.token_type_embeddings.weight"), nullptr);
  EXPECT_NE(b.try_find("bert.encoder.layer.1.attention.self.query.weight"), nullptr);
  EXPECT_NE(b.try_find("bert.encoder.layer.0.attention.output.LayerNorm.bias"), nullptr);
  EXPECT_NE(b.try_find("bert.encoder.layer.0.intermediate.dense.weight"), nullptr);
  EXPECT_TRUE(b.find("bert.pooler.dense.weight").head);
  EXPECT_EQ(b.find("classifier.weight").shape, (std::vector<int64_t>{2, 32}));
  const ParamLayout r(preset_config("roberta-tiny"));
  EXPECT_NE(r.try_find("roberta.encoder.layer.1.output.LayerNorm.weight"), nullptr);
  EXPECT_NE(r.try_find("classifier.dense.weight"), nullptr);
  EXPECT_NE(r.try_find("classifier.out_proj.bias"), nullptr);
  EXPECT_EQ(r.try_find("roberta.pooler.dense.weight"), nullptr);
  // The fresh init zeroes RoBERTa's padding position row, as nn.Embedding(padding_idx) does.
  ModelConfig rc = preset_config("roberta-tiny");
  rc.vocab_size = 40;
  const ParamLayout small(rc);
  std::vector<float> arena(small.size());
  init_weights(rc, small, arena.data(), 1);
  const ParamInfo& pos = small.position_embeddings();
  for (int c = 0; c < rc.dim; ++c) EXPECT_EQ(arena[pos.offset + size_t(rc.dim) + c], 0.f);
  EXPECT_NE(arena[pos.offset + 2 * size_t(rc.dim)], 0.f);
}

namespace {

// Rewrites a model directory's weights as a pretraining checkpoint would hold them: the tensors
// `keep` accepts (renamed by `rename`), plus `extra` pretraining-head tensors.
void write_checkpoint(const std::string& from, const fs::path& to, const std::function<bool(const std::string&)>& keep,
                      const std::function<std::string(const std::string&)>& rename,
                      const std::vector<std::string>& extra) {
  fs::create_directories(to);
  fs::copy_file(fs::path(from) / "config.json", to / "config.json");
  auto file = SafetensorsFile::open(fs::path(from) / "model.safetensors");
  std::vector<std::vector<float>> data;
  data.reserve(file->tensors().size() + extra.size());
  std::vector<TensorToWrite> out;
  for (const auto& t : file->tensors()) {
    if (!keep(t.name)) continue;
    data.emplace_back(t.numel);
    file->to_float32(t, data.back().data());
    out.push_back({rename(t.name), Dtype::F32, t.shape, data.back().data(), t.numel * 4});
  }
  for (const auto& name : extra) {
    data.emplace_back(6, 0.5f);
    out.push_back({name, Dtype::F32, {2, 3}, data.back().data(), 24});
  }
  write_safetensors(to / "model.safetensors", std::move(out), {{"format", "pt"}});
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

}  // namespace

TEST(FamilyLoad, RobertaMaskedLmCheckpointGetsAFreshHead) {
  TempDir tmp;
  const fs::path dir = tmp.path / "roberta-mlm";
  write_checkpoint(
      kForward + "roberta", dir, [](const std::string& n) { return !starts_with(n, "classifier."); },
      [](const std::string& n) { return n; }, {"lm_head.dense.weight", "lm_head.bias", "roberta.pooler.dense.weight"});
  const std::string msg = error_of<FormatError>([&] { load_model_dir(dir); });
  EXPECT_NE(msg.find("(classifier.dense/classifier.out_proj)"), std::string::npos) << msg;
  const LoadedModel m = load_model_dir(dir, {.allow_missing_head = true, .owned_arena = true});
  EXPECT_FALSE(m.has_head);
  EXPECT_EQ(m.missing_head, (std::vector<std::string>{"classifier.dense.weight", "classifier.dense.bias",
                                                      "classifier.out_proj.weight", "classifier.out_proj.bias"}));
  // The encoder came from the file.
  const LoadedModel full = load_model_dir(kForward + "roberta", {.owned_arena = true});
  const ParamInfo& q = m.layout.find("roberta.encoder.layer.1.attention.self.query.weight");
  EXPECT_TRUE(std::equal(m.arena.begin() + std::ptrdiff_t(q.offset),
                         m.arena.begin() + std::ptrdiff_t(q.offset + q.numel),
                         full.arena.begin() + std::ptrdiff_t(q.offset)));
}

TEST(FamilyLoad, BertPretrainingCheckpointKeepsItsPoolerAndBareNamesLoad) {
  TempDir tmp;
  // BertForPreTraining layout: bert.* with the pooler, cls.* heads, no classifier.
  const fs::path pretraining = tmp.path / "bert-pretraining";
  write_checkpoint(
      kForward + "bert", pretraining, [](const std::string& n) { return !starts_with(n, "classifier."); },
      [](const std::string& n) { return n; }, {"cls.predictions.bias", "cls.seq_relationship.weight"});
  const LoadedModel m = load_model_dir(pretraining, {.allow_missing_head = true, .owned_arena = true});
  EXPECT_FALSE(m.has_head);
  EXPECT_EQ(m.missing_head, (std::vector<std::string>{"classifier.weight", "classifier.bias"}));
  const LoadedModel full = load_model_dir(kForward + "bert", {.owned_arena = true});
  const ParamInfo& pooler = m.layout.find("bert.pooler.dense.weight");
  EXPECT_TRUE(std::equal(m.arena.begin() + std::ptrdiff_t(pooler.offset),
                         m.arena.begin() + std::ptrdiff_t(pooler.offset + pooler.numel),
                         full.arena.begin() + std::ptrdiff_t(pooler.offset)))
      << "the pretrained pooler is used";
  // A bare BertModel (no "bert." prefix) with its classifier loads whole.
  const fs::path bare = tmp.path / "bert-bare";
  write_checkpoint(
      kForward + "bert", bare, [](const std::string&) { return true; },
      [](const std::string& n) { return starts_with(n, "bert.") ? n.substr(5) : n; }, {});
  const LoadedModel b = load_model_dir(bare, {.owned_arena = true});
  EXPECT_TRUE(b.has_head);
  EXPECT_EQ(b.arena, full.arena);
  // Half a head module is an error, not a fresh tensor.
  const fs::path half = tmp.path / "bert-half";
  write_checkpoint(
      kForward + "bert", half, [](const std::string& n) { return n != "classifier.bias"; },
      [](const std::string& n) { return n; }, {});
  const std::string msg = error_of<FormatError>([&] { load_model_dir(half, {.allow_missing_head = true}); });
  EXPECT_NE(msg.find("incomplete classification head"), std::string::npos) << msg;
}
