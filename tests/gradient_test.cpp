// Gradient tests: every parameter gradient against PyTorch (forward.py --dump-grads on random
// models with dropout 0 in their config: DistilBERT from tools/make_forward_fixtures.sh, BERT with
// sentence pairs and RoBERTa from tools/make_family_fixtures.sh), and the whole model of each family
// against central finite differences on a tiny config with dropout *on* (the masks are a pure
// function of (seed, step), so the loss is a deterministic function of the weights).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "model/encoder.hpp"
#include "model/init.hpp"
#include "model/model_dir.hpp"
#include "model/safetensors.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

using namespace bert_emotion;

namespace {

const std::string kGrads = std::string(FIXTURES_DIR) + "/grads/";

nlohmann::json read_json(const std::string& path) {
  return bert_emotion::testing_support::read_json_fixture(path, "tools/make_forward_fixtures.sh");
}

struct Step {
  float loss = 0.f;
  std::vector<float> grads;  // arena laid out by the model's ParamLayout
};

// One training-mode forward + CE + backward, gradients accumulated into a zeroed arena.
Step train_step(const ModelConfig& cfg, const ParamLayout& layout, const Weights& w, const TokenBatch& batch,
                const std::vector<int32_t>& labels, const DropoutSpec* dropout, int repeats = 1) {
  Step s;
  s.grads.assign(layout.size(), 0.f);
  const Weights g = layout.bind(s.grads.data());
  Activations acts;
  activations_reserve(acts, cfg, batch.B, batch.T, true);
  const int K = cfg.num_labels();
  std::vector<float> logits(size_t(batch.B) * K), dlogits(logits.size());
  for (int r = 0; r < repeats; ++r) {
    encoder_forward(cfg, w, batch, acts, logits.data(), dropout);
    s.loss = cross_entropy_forward_backward(logits.data(), labels.data(), batch.B, K, dlogits.data());
    encoder_backward(cfg, w, g, batch, acts, dlogits.data());
  }
  return s;
}

class GradFixture : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(GradFixture, EveryGradientMatchesPyTorch) {
  const std::string dir = kGrads + GetParam();
  LoadedModel m = load_model_dir(dir, {.owned_arena = true});
  const ModelConfig& cfg = m.config;
  ASSERT_EQ(cfg.dropout, 0.f);
  ASSERT_EQ(cfg.attention_dropout, 0.f);
  ASSERT_EQ(cfg.head_dropout(), 0.f);
  const auto batch_json = read_json(dir + "/batch.json");
  const TokenBatch batch =
      make_batch(batch_json["input_ids"].get<std::vector<std::vector<int32_t>>>(), cfg.pad_token_id,
                 batch_json.value("token_type_ids", std::vector<std::vector<int32_t>>{}));
  const auto labels = batch_json["labels"].get<std::vector<int32_t>>();
  const auto expected = read_json(dir + "/expected.json");

  DropoutSpec spec{42, 0};  // the training path, with every probability 0 in the config
  const Step s = train_step(cfg, m.layout, m.weights, batch, labels, &spec);
  const double want_loss = expected["loss"].get<double>();
  EXPECT_NEAR(s.loss, want_loss, 1e-6 * std::fabs(want_loss)) << "loss";

  auto ref = SafetensorsFile::open(dir + "/grads.safetensors");
  int compared = 0;
  double worst_rel = 0;
  const double total_norm = expected["total_grad_norm"].get<double>();
  for (const ParamInfo& p : m.layout.params()) {
    const float* got = s.grads.data() + p.offset;
    const TensorEntry* t = ref->find(p.name);
    if (t == nullptr) {
      // torch reports no gradient for a frozen tensor (the sinusoidal table): ours must stay 0.
      ASSERT_FALSE(p.trainable) << p.name << " missing from the reference gradients";
      for (size_t i = 0; i < p.numel; ++i) ASSERT_EQ(got[i], 0.f) << p.name << "[" << i << "] of a frozen tensor";
      continue;
    }
    ASSERT_EQ(t->numel, p.numel) << p.name;
    std::vector<float> want(p.numel);
    ref->to_float32(*t, want.data());
    double diff2 = 0, ref2 = 0, max_abs = 0;
    for (size_t i = 0; i < p.numel; ++i) {
      const double d = double(got[i]) - want[i];
      diff2 += d * d;
      ref2 += double(want[i]) * want[i];
      max_abs = std::max(max_abs, std::fabs(d));
    }
    const double rel = std::sqrt(diff2) / std::max(std::sqrt(ref2), 1e-30);
    const bool key_bias = p.name.find("attention.k_lin.bias") != std::string::npos ||
                          p.name.find("attention.self.key.bias") != std::string::npos;
    if (key_bias) {
      // Its exact gradient is 0: k's bias adds q.b_k to every score of a query row and softmax is
      // shift-invariant. Both sides are float rounding noise, so check that they are noise.
      EXPECT_LT(std::sqrt(ref2), 1e-6 * total_norm) << p.name << " reference should be ~0";
      EXPECT_LT(std::sqrt(diff2), 1e-6 * total_norm) << p.name << " should be ~0";
    } else {
      EXPECT_LT(rel, 1e-4) << "gradient of " << p.name << ": relative L2 error " << rel << ", max abs error " << max_abs
                           << ", reference norm " << std::sqrt(ref2);
    }
    worst_rel = std::max(worst_rel, key_bias ? 0.0 : rel);
    ++compared;
  }
  EXPECT_GE(compared, int(m.layout.params().size()) - 1);
  RecordProperty("worst_relative_l2_error", std::to_string(worst_rel));
  std::printf("[ %s ] worst per-tensor relative L2 error %.3g, loss %.9g vs %.9g\n", GetParam().c_str(), worst_rel,
              double(s.loss), want_loss);
  // The [PAD] row of the word embedding gets no gradient, although the batch has the pad id inside
  // text; nor does RoBERTa's padding position row.
  const ParamInfo& we = m.layout.word_embeddings();
  bool pad_in_text = false;
  for (int b = 0; b < batch.B; ++b)
    for (int t = 0; t < batch.lengths[b]; ++t) pad_in_text |= batch.ids[size_t(b) * batch.T + t] == cfg.pad_token_id;
  EXPECT_TRUE(pad_in_text) << "fixture should contain a literal [PAD] token";
  for (int c = 0; c < cfg.dim; ++c)
    EXPECT_EQ(s.grads[we.offset + size_t(cfg.pad_token_id) * cfg.dim + c], 0.f) << "pad row, channel " << c;
  if (cfg.family == Family::roberta) {
    const ParamInfo& pe = m.layout.position_embeddings();
    for (int c = 0; c < cfg.dim; ++c)
      EXPECT_EQ(s.grads[pe.offset + size_t(cfg.pad_token_id) * cfg.dim + c], 0.f) << "position pad row " << c;
  }
  if (!batch.type_ids.empty()) {  // BERT pairs: the second segment's type row learns too
    const ParamInfo* types = m.layout.try_find("bert.embeddings.token_type_embeddings.weight");
    ASSERT_NE(types, nullptr);
    EXPECT_NE(s.grads[types->offset + size_t(cfg.dim)], 0.f) << "token type 1 row";
  }
}

TEST_P(GradFixture, BackwardAccumulates) {
  const std::string dir = kGrads + GetParam();
  LoadedModel m = load_model_dir(dir, {.owned_arena = true});
  const auto batch_json = read_json(dir + "/batch.json");
  const TokenBatch batch =
      make_batch(batch_json["input_ids"].get<std::vector<std::vector<int32_t>>>(), m.config.pad_token_id,
                 batch_json.value("token_type_ids", std::vector<std::vector<int32_t>>{}));
  const auto labels = batch_json["labels"].get<std::vector<int32_t>>();
  const Step once = train_step(m.config, m.layout, m.weights, batch, labels, nullptr, 1);
  const Step twice = train_step(m.config, m.layout, m.weights, batch, labels, nullptr, 2);
  double max_err = 0, max_g = 0;
  for (size_t i = 0; i < once.grads.size(); ++i) {
    max_err = std::max(max_err, std::fabs(double(twice.grads[i]) - 2.0 * once.grads[i]));
    max_g = std::max(max_g, std::fabs(double(once.grads[i])));
  }
  EXPECT_LT(max_err, 1e-6 * max_g + 1e-12);
  EXPECT_GT(max_g, 0.0);
}

INSTANTIATE_TEST_SUITE_P(Models, GradFixture, ::testing::Values("tiny", "headdim10", "bert", "roberta"));

class FiniteDifferences : public ::testing::TestWithParam<std::string> {};

TEST_P(FiniteDifferences, WholeModelMatchesWithDropoutOn) {
  // A tiny random model of the family (real architecture), dropout on everywhere (every site of
  // the family), a padded batch (BERT: with a sentence pair).
  ModelConfig cfg = preset_config(GetParam());
  cfg.vocab_size = 50;
  cfg.max_position_embeddings = 16;
  cfg.dim = 12;
  cfg.n_heads = 3;
  cfg.hidden_dim = 20;
  cfg.n_layers = 2;
  cfg.initializer_range = 0.3f;
  cfg.dropout = 0.1f;
  cfg.attention_dropout = 0.1f;
  cfg.seq_classif_dropout = 0.2f;
  if (cfg.family != Family::distilbert) cfg.classifier_dropout = 0.2f;
  set_labels(cfg, {"anger", "joy", "optimism", "sadness"});
  const ParamLayout layout(cfg);
  std::vector<float> arena(layout.size());
  init_weights(cfg, layout, arena.data(), 3);
  // Perturb the LayerNorm affine parameters and biases so that no gradient is trivially symmetric.
  std::mt19937 gen(9);
  std::normal_distribution<float> nd(0.f, 0.1f);
  for (const ParamInfo& p : layout.params())
    if (p.no_decay)
      for (size_t i = 0; i < p.numel; ++i) arena[p.offset + i] += nd(gen);
  const Weights w = layout.bind(arena.data());
  const int32_t pad = cfg.pad_token_id, first = pad == 1 ? 0 : 1;  // a pad id inside row 0
  const std::vector<std::vector<int32_t>> types =
      cfg.family == Family::bert ? std::vector<std::vector<int32_t>>{{0, 0, 0, 1, 1, 1}, {0, 0, 0}, {0, 0, 1, 1}}
                                 : std::vector<std::vector<int32_t>>{};
  const TokenBatch batch = make_batch({{first, 7, 9, pad, 4, 2}, {first, 3, 2}, {first, 49, 11, 2}}, pad, types);
  const std::vector<int32_t> labels = {0, 3, 1};
  const DropoutSpec spec{123, 4};

  const Step s = train_step(cfg, layout, w, batch, labels, &spec);
  Activations acts;
  activations_reserve(acts, cfg, batch.B, batch.T, true);
  std::vector<float> logits(size_t(batch.B) * cfg.num_labels());
  auto loss = [&]() -> double {
    encoder_forward(cfg, w, batch, acts, logits.data(), &spec);
    return cross_entropy_forward_backward(logits.data(), labels.data(), batch.B, cfg.num_labels(), nullptr);
  };
  EXPECT_EQ(float(loss()), s.loss);  // same (seed, step): the very same loss
  // A few coordinates per tensor: the largest-gradient one and some spread ones.
  const float eps = 1e-2f;
  for (const ParamInfo& p : layout.params()) {
    std::vector<size_t> coords = {0, p.numel / 3, p.numel / 2, p.numel - 1};
    size_t arg = 0;
    for (size_t i = 0; i < p.numel; ++i)
      if (std::fabs(s.grads[p.offset + i]) > std::fabs(s.grads[p.offset + arg])) arg = i;
    coords.push_back(arg);
    double max_g = 0;
    for (size_t i = 0; i < p.numel; ++i) max_g = std::max(max_g, double(std::fabs(s.grads[p.offset + i])));
    for (size_t i : coords) {
      // The [PAD] rows' zero gradient is torch's convention, not the derivative: checked below.
      const bool pad_row = i / size_t(cfg.dim) == size_t(pad);
      if (pad_row &&
          (&p == &layout.word_embeddings() || (cfg.family == Family::roberta && &p == &layout.position_embeddings())))
        continue;
      float& x = arena[p.offset + i];
      const float x0 = x;
      x = x0 + eps;
      const double lp = loss();
      x = x0 - eps;
      const double lm = loss();
      x = x0;
      const double fd = (lp - lm) / (2.0 * eps);
      const double an = s.grads[p.offset + i];
      EXPECT_NEAR(an, fd, 2e-3 + 3e-2 * std::fabs(fd))
          << "gradient of " << p.name << "[" << i << "] (tensor max |g| " << max_g << ")";
    }
  }
  // The [PAD] row (the pad id appears in row 0) gets no gradient.
  const ParamInfo& we = layout.word_embeddings();
  for (int c = 0; c < cfg.dim; ++c) EXPECT_EQ(s.grads[we.offset + size_t(pad) * cfg.dim + c], 0.f);
}

INSTANTIATE_TEST_SUITE_P(Families, FiniteDifferences, ::testing::Values("tiny", "bert-tiny", "roberta-tiny"),
                         [](const auto& info) {
                           return info.param == "tiny" ? std::string("distilbert")
                                                       : info.param.substr(0, info.param.find('-'));
                         });

TEST(Gradient, BackwardNeedsATrainingForwardOfTheSameBatch) {
  ModelConfig cfg = preset_config("tiny");
  cfg.vocab_size = 50;
  const ParamLayout layout(cfg);
  std::vector<float> arena(layout.size()), grads(layout.size());
  init_weights(cfg, layout, arena.data(), 1);
  const Weights w = layout.bind(arena.data()), g = layout.bind(grads.data());
  const TokenBatch batch = make_batch({{1, 5, 2}}, 0);
  std::vector<float> logits(cfg.num_labels()), dlogits(cfg.num_labels(), 0.1f);
  Activations inference;
  activations_reserve(inference, cfg, 1, 8, false);
  encoder_forward(cfg, w, batch, inference, logits.data(), nullptr);
  EXPECT_THROW(encoder_backward(cfg, w, g, batch, inference, dlogits.data()), InvalidArgument);
  Activations training;
  activations_reserve(training, cfg, 2, 8, true);
  EXPECT_THROW(encoder_backward(cfg, w, g, batch, training, dlogits.data()), InvalidArgument);
  encoder_forward(cfg, w, batch, training, logits.data(), nullptr);
  EXPECT_THROW(encoder_backward(cfg, w, g, make_batch({{1, 5, 2, 2}}, 0), training, dlogits.data()), InvalidArgument);
  EXPECT_NO_THROW(encoder_backward(cfg, w, g, batch, training, dlogits.data()));
}
