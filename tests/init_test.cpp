// Random initialisation: Transformers' rules (normal(0, initializer_range) weights, zero biases,
// LayerNorm 1/0, zeroed pad row, sinusoidal table), determinism, head-only re-initialisation.
#include "model/init.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "model/model_dir.hpp"
#include "util/atomic_file.hpp"

using namespace bert_emotion;

namespace {

ModelConfig config() {
  ModelConfig c = preset_config("tiny");
  c.vocab_size = 500;
  c.dim = 32;
  c.hidden_dim = 64;
  c.pad_token_id = 3;
  c.initializer_range = 0.05f;
  set_labels(c, {"a", "b", "c"});
  return c;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

TEST(Init, FollowsTransformersRules) {
  const ModelConfig c = config();
  const ParamLayout layout(c);
  std::vector<float> a(layout.size(), 123.0f);
  init_weights(c, layout, a.data(), 1);
  for (const auto& p : layout.params()) {
    const float* x = a.data() + p.offset;
    const bool layer_norm =
        p.name.find("LayerNorm") != std::string::npos || p.name.find("layer_norm") != std::string::npos;
    if (layer_norm && ends_with(p.name, ".weight")) {
      for (size_t i = 0; i < p.numel; ++i) ASSERT_EQ(x[i], 1.0f) << p.name;
    } else if (ends_with(p.name, ".bias")) {
      for (size_t i = 0; i < p.numel; ++i) ASSERT_EQ(x[i], 0.0f) << p.name;
    } else {
      // normal(0, 0.05): sample mean and standard deviation within a few standard errors
      double s = 0, s2 = 0;
      size_t zeros = 0;
      for (size_t i = 0; i < p.numel; ++i) {
        s += x[i];
        s2 += double(x[i]) * x[i];
        zeros += x[i] == 0.0f;
      }
      const double n = static_cast<double>(p.numel), mean = s / n, sd = std::sqrt(s2 / n - mean * mean);
      EXPECT_NEAR(mean, 0.0, 5 * 0.05 / std::sqrt(n)) << p.name;
      EXPECT_NEAR(sd, 0.05, 6 * 0.05 / std::sqrt(2 * n)) << p.name;
      if (p.name != "distilbert.embeddings.word_embeddings.weight") {
        EXPECT_EQ(zeros, 0u) << p.name;
      }
    }
  }
  // the pad row (pad_token_id = 3) is zero, its neighbours are not
  const float* word = a.data() + layout.find("distilbert.embeddings.word_embeddings.weight").offset;
  for (int j = 0; j < c.dim; ++j) {
    EXPECT_EQ(word[3 * c.dim + j], 0.0f);
    EXPECT_NE(word[2 * c.dim + j], 0.0f);
    EXPECT_NE(word[4 * c.dim + j], 0.0f);
  }
}

TEST(Init, NormalTailsLookGaussian) {
  // 65k draws of one large tensor: P(|z| > 2) = 4.55 %, P(|z| > 3) = 0.27 % for a normal law.
  ModelConfig c = config();
  c.vocab_size = 4096;
  c.dim = 16;
  c.n_heads = 2;
  c.initializer_range = 1.0f;
  const ParamLayout layout(c);
  std::vector<float> a(layout.size());
  init_weights(c, layout, a.data(), 2);
  const auto& p = layout.find("distilbert.embeddings.word_embeddings.weight");
  size_t over2 = 0, over3 = 0;
  for (size_t i = 0; i < p.numel; ++i) {
    over2 += std::fabs(a[p.offset + i]) > 2.0f;
    over3 += std::fabs(a[p.offset + i]) > 3.0f;
  }
  const double n = static_cast<double>(p.numel);
  EXPECT_NEAR(over2 / n, 0.0455, 0.004);
  EXPECT_NEAR(over3 / n, 0.0027, 0.0010);
}

TEST(Init, DeterministicPerSeedAndHeadOnly) {
  const ModelConfig c = config();
  const ParamLayout layout(c);
  std::vector<float> a(layout.size()), b(layout.size()), d(layout.size());
  init_weights(c, layout, a.data(), 42);
  init_weights(c, layout, b.data(), 42);
  init_weights(c, layout, d.data(), 43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, d);

  // head_only: the body is untouched, the head is re-drawn
  std::vector<float> h = a;
  init_weights(c, layout, h.data(), 7, /*head_only=*/true);
  size_t head_changed = 0;
  for (const auto& p : layout.params())
    for (size_t i = 0; i < p.numel; ++i) {
      if (!p.head) ASSERT_EQ(h[p.offset + i], a[p.offset + i]) << p.name;
      else head_changed += h[p.offset + i] != a[p.offset + i];
    }
  const auto& cls = layout.find("classifier.weight");
  const auto& pre = layout.find("pre_classifier.weight");
  EXPECT_EQ(head_changed, cls.numel + pre.numel);  // every head weight, no bias (zero either way)
  EXPECT_EQ(h[layout.find("classifier.bias").offset], 0.0f);
}

TEST(Init, SinusoidalPositionTable) {
  // HF's create_sinusoidal_embeddings, by hand for dim 4:
  //   angle(pos, j) = pos / 10000^(2 * floor(j / 2) / 4); even j -> sin, odd j -> cos
  std::vector<float> t(3 * 4);
  sinusoidal_position_table(3, 4, t.data());
  const std::vector<double> want = {0,
                                    1,
                                    0,
                                    1,  // pos 0
                                    std::sin(1.0),
                                    std::cos(1.0),
                                    std::sin(0.01),
                                    std::cos(0.01),  // pos 1: 10000^(2/4) = 100
                                    std::sin(2.0),
                                    std::cos(2.0),
                                    std::sin(0.02),
                                    std::cos(0.02)};  // pos 2
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(t[i], static_cast<float>(want[i])) << i;

  ModelConfig c = config();
  c.sinusoidal_pos_embds = true;
  const ParamLayout layout(c);
  std::vector<float> a(layout.size());
  init_weights(c, layout, a.data(), 1);
  std::vector<float> table(static_cast<size_t>(c.max_position_embeddings) * c.dim);
  sinusoidal_position_table(c.max_position_embeddings, c.dim, table.data());
  const auto& pos = layout.find("distilbert.embeddings.position_embeddings.weight");
  EXPECT_FALSE(pos.trainable);
  EXPECT_TRUE(std::equal(table.begin(), table.end(), a.begin() + static_cast<std::ptrdiff_t>(pos.offset)));
}

TEST(Init, CreateRandomModelDirLoadsBack) {
  const auto dir = std::filesystem::temp_directory_path() / ("init_test_" + std::to_string(::getpid()));
  const ModelConfig c = config();
  create_random_model_dir(dir, c, 5);
  const LoadedModel m = load_model_dir(dir, {.owned_arena = true});
  std::vector<float> want(m.layout.size());
  init_weights(c, m.layout, want.data(), 5);
  EXPECT_EQ(m.arena, want);
  EXPECT_EQ(m.config.label_names(), c.label_names());
  EXPECT_EQ(m.config.pad_token_id, 3);
  std::filesystem::remove_all(dir);
}
