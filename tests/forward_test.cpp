// Forward-pass tests against the PyTorch reference: logits of random models (DistilBERT: F32, F16,
// BF16, head_dim 10 with a sinusoidal table, gelu_new, by tools/make_forward_fixtures.sh; BERT with
// sentence pairs, BERT with init std 0.2 / head_dim 10 / gelu_new, RoBERTa with pad ids inside rows,
// by tools/make_family_fixtures.sh) on padded batches, from ../shared/reference/forward.py. Also: batched == one row at a
// time, inference (CLS-only last layer) == training-mode buffers, dropout determinism and the
// errors for impossible batches.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/encoder.hpp"
#include "model/family.hpp"
#include "model/model_dir.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

using namespace bert_emotion;

namespace {

const std::string kForward = std::string(FIXTURES_DIR) + "/forward/";

nlohmann::json read_json(const std::string& path) {
  return bert_emotion::testing_support::read_json_fixture(path, "tools/make_forward_fixtures.sh");
}

struct Case {
  LoadedModel model;
  TokenBatch batch;
  std::vector<int32_t> labels;
  nlohmann::json expected;
};

Case load_case(const std::string& name) {
  Case c;
  c.model = load_model_dir(kForward + name);
  const auto batch = read_json(kForward + name + "/batch.json");
  c.batch = make_batch(batch["input_ids"].get<std::vector<std::vector<int32_t>>>(), c.model.config.pad_token_id,
                       batch.value("token_type_ids", std::vector<std::vector<int32_t>>{}));
  c.labels = batch["labels"].get<std::vector<int32_t>>();
  c.expected = read_json(kForward + name + "/expected.json");
  return c;
}

std::vector<float> run(const Case& c, const TokenBatch& batch, bool training_buffers,
                       const DropoutSpec* dropout = nullptr) {
  Activations acts;
  activations_reserve(acts, c.model.config, batch.B, batch.T, training_buffers);
  std::vector<float> logits(size_t(batch.B) * c.model.config.num_labels());
  encoder_forward(c.model.config, c.model.weights, batch, acts, logits.data(), dropout);
  return logits;
}

// Row b of a padded [B, T] tensor, unpadded.
std::vector<int32_t> row_of(const std::vector<int32_t>& x, const TokenBatch& batch, int b) {
  return {x.begin() + std::ptrdiff_t(b) * batch.T, x.begin() + std::ptrdiff_t(b) * batch.T + batch.lengths[b]};
}

TokenBatch single_row(const TokenBatch& batch, int b) {
  if (batch.type_ids.empty()) return make_batch({row_of(batch.ids, batch, b)}, 0);
  return make_batch({row_of(batch.ids, batch, b)}, 0, {row_of(batch.type_ids, batch, b)});
}

class ForwardFixture : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(ForwardFixture, LogitsMatchPyTorch) {
  const Case c = load_case(GetParam());
  const int K = c.model.config.num_labels();
  ASSERT_EQ(c.expected["padded_length"].get<int>(), c.batch.T);
  for (bool training_buffers : {false, true}) {
    const auto logits = run(c, c.batch, training_buffers);
    double max_err = 0;
    for (int b = 0; b < c.batch.B; ++b)
      for (int k = 0; k < K; ++k)
        max_err = std::max(max_err, std::fabs(logits[size_t(b) * K + k] - c.expected["logits"][b][k].get<double>()));
    EXPECT_LT(max_err, 1e-5) << GetParam() << ": logits max abs error " << max_err
                             << (training_buffers ? " (training buffers)" : " (inference buffers)");
    std::printf("[ %s ] %s buffers: logits max abs error vs PyTorch %.3g\n", GetParam().c_str(),
                training_buffers ? "training" : "inference", max_err);
    const double want = c.expected["loss"].get<double>();
    std::vector<float> dlogits(logits.size());
    const float loss = cross_entropy_forward_backward(logits.data(), c.labels.data(), c.batch.B, K, dlogits.data());
    EXPECT_NEAR(loss, want, 1e-5 * std::fabs(want)) << GetParam() << ": loss";
  }
}

TEST_P(ForwardFixture, BatchedEqualsOneRowAtATime) {
  const Case c = load_case(GetParam());
  const int K = c.model.config.num_labels();
  const auto batched = run(c, c.batch, false);
  double max_diff = 0;
  for (int b = 0; b < c.batch.B; ++b) {
    const auto alone = run(c, single_row(c.batch, b), false);
    for (int k = 0; k < K; ++k) {
      EXPECT_NEAR(alone[k], batched[size_t(b) * K + k], 1e-6)
          << GetParam() << ": row " << b << " (length " << c.batch.lengths[b] << ") label " << k;
      max_diff = std::max(max_diff, double(std::fabs(alone[k] - batched[size_t(b) * K + k])));
    }
  }
  std::printf("[ %s ] batched vs one row at a time: max abs difference %.3g\n", GetParam().c_str(), max_diff);
}

std::vector<std::vector<int32_t>> unpadded_rows(const TokenBatch& batch, bool types = false) {
  std::vector<std::vector<int32_t>> rows;
  if (types && batch.type_ids.empty()) return rows;
  for (int b = 0; b < batch.B; ++b) rows.push_back(row_of(types ? batch.type_ids : batch.ids, batch, b));
  return rows;
}

PackedBatch single_row_packed(const TokenBatch& batch) {
  if (batch.type_ids.empty()) return pack_rows({unpadded_rows(batch)[0]});
  return pack_rows({unpadded_rows(batch)[0]}, {unpadded_rows(batch, true)[0]});
}

TEST_P(ForwardFixture, PackedMatchesPyTorchAndThePaddedForward) {
  const Case c = load_case(GetParam());
  const int K = c.model.config.num_labels();
  PackedActivations acts;
  const PackedBatch packed = pack_rows(unpadded_rows(c.batch), unpadded_rows(c.batch, true));
  std::vector<float> logits(size_t(packed.B) * K);
  encoder_forward_packed(c.model.config, c.model.weights, packed, acts, logits.data());
  const auto padded = run(c, c.batch, false);
  double err_torch = 0, diff_padded = 0;
  for (int b = 0; b < c.batch.B; ++b)
    for (int k = 0; k < K; ++k) {
      const size_t i = size_t(b) * K + k;
      err_torch = std::max(err_torch, std::fabs(logits[i] - c.expected["logits"][b][k].get<double>()));
      diff_padded = std::max(diff_padded, double(std::fabs(logits[i] - padded[i])));
    }
  EXPECT_LT(err_torch, 1e-5) << GetParam() << ": packed logits vs PyTorch";
  EXPECT_LT(diff_padded, 2e-6) << GetParam() << ": packed vs padded forward";
  std::printf("[ %s ] packed: max abs error vs PyTorch %.3g, vs padded %.3g\n", GetParam().c_str(), err_torch,
              diff_padded);
  // Buffers are reused: a second, smaller call gives the first row's answer again.
  const PackedBatch one = single_row_packed(c.batch);
  std::vector<float> again(static_cast<size_t>(K), 0.f);
  encoder_forward_packed(c.model.config, c.model.weights, one, acts, again.data());
  for (int k = 0; k < K; ++k) EXPECT_NEAR(again[k], logits[k], 1e-6) << GetParam() << ": label " << k;
}

INSTANTIATE_TEST_SUITE_P(Models, ForwardFixture,
                         ::testing::Values("f32", "headdim10", "f16", "bf16", "gelu_new", "bert", "bert_wide",
                                           "roberta"));

TEST(Forward, FixturesCoverTheirClaims) {
  // Guards against a regenerated fixture silently losing what these tests rely on.
  EXPECT_EQ(load_case("f16").model.weights_dtype, "F16");
  EXPECT_EQ(load_case("bf16").model.weights_dtype, "BF16");
  const Case odd = load_case("headdim10");
  EXPECT_EQ(odd.model.config.head_dim(), 10);
  EXPECT_TRUE(odd.model.config.sinusoidal_pos_embds);
  const Case f32 = load_case("f32");
  int shortest = 1 << 30, longest = 0;
  for (int len : f32.batch.lengths) shortest = std::min(shortest, len), longest = std::max(longest, len);
  EXPECT_EQ(shortest, 2);
  EXPECT_EQ(longest, f32.model.config.max_position_embeddings);
  // BERT: sentence pairs (token type 1 present), a wide init and head_dim 10 (q·k^T / sqrt(10) is
  // not a power-of-two scaling: the engine's q-first scaling differs by rounding only).
  const Case bert = load_case("bert");
  EXPECT_EQ(bert.model.config.family, Family::bert);
  EXPECT_NE(std::find(bert.batch.type_ids.begin(), bert.batch.type_ids.end(), 1), bert.batch.type_ids.end());
  const Case wide = load_case("bert_wide");
  EXPECT_EQ(wide.model.config.head_dim(), 10);
  EXPECT_FLOAT_EQ(wide.model.config.initializer_range, 0.2f);
  EXPECT_EQ(wide.model.config.activation, "gelu_new");
  // RoBERTa: a pad id inside a row (its position id is the padding row) and a row as long as the
  // position table allows.
  const Case roberta = load_case("roberta");
  EXPECT_EQ(roberta.model.config.family, Family::roberta);
  EXPECT_EQ(roberta.model.config.pad_token_id, 1);
  bool pad_inside = false;
  int roberta_longest = 0;
  for (int b = 0; b < roberta.batch.B; ++b) {
    roberta_longest = std::max(roberta_longest, roberta.batch.lengths[b]);
    for (int t = 0; t < roberta.batch.lengths[b]; ++t)
      pad_inside |= roberta.batch.ids[size_t(b) * roberta.batch.T + t] == 1;
  }
  EXPECT_TRUE(pad_inside);
  EXPECT_EQ(roberta_longest, roberta.model.config.max_tokens());
}

TEST(Forward, RobertaPositionIdsFollowTheIds) {
  // create_position_ids_from_input_ids: pad + cumsum(ids != pad) * (ids != pad).
  const std::vector<int32_t> ids = {0, 5, 1, 7, 2, 1, 1};
  std::vector<int32_t> pos(ids.size());
  roberta_positions(ids.data(), pos.data(), int64_t(ids.size()), 1);
  EXPECT_EQ(pos, (std::vector<int32_t>{2, 3, 1, 4, 5, 1, 1}));
  // Padding a row (with pad ids) does not change its logits, however long the padding.
  const Case c = load_case("roberta");
  const auto alone = run(c, single_row(c.batch, 0), false);
  TokenBatch padded = make_batch({unpadded_rows(c.batch)[0], std::vector<int32_t>(40, 5)}, 1);
  const auto batched = run(c, padded, false);
  for (int k = 0; k < c.model.config.num_labels(); ++k) EXPECT_NEAR(alone[k], batched[k], 1e-6) << k;
  // One token past the table is refused.
  Activations acts;
  const int too_long = c.model.config.max_tokens() + 1;
  activations_reserve(acts, c.model.config, 1, too_long, false);
  std::vector<float> logits(8);
  EXPECT_THROW(
      encoder_forward(c.model.config, c.model.weights, make_batch({std::vector<int32_t>(size_t(too_long), 5)}, 1), acts,
                      logits.data(), nullptr),
      InvalidArgument);
}

TEST(Forward, DropoutIsReproducibleByStepAndScalesLikeTorch) {
  Case c = load_case("f32");  // config: dropout 0.1, attention_dropout 0.1, seq_classif_dropout 0.2
  ASSERT_GT(c.model.config.dropout, 0.f);
  const auto eval = run(c, c.batch, true);
  DropoutSpec s1{42, 7}, s1b{42, 7}, s2{42, 8};
  const auto a = run(c, c.batch, true, &s1);
  const auto b = run(c, c.batch, true, &s1b);
  const auto d = run(c, c.batch, true, &s2);
  EXPECT_EQ(a, b) << "same (seed, step) must give identical logits";
  EXPECT_NE(a, d) << "a different step must give different masks";
  EXPECT_NE(a, eval) << "dropout must change the logits";
  // With every probability set to 0 the training path equals eval exactly.
  c.model.config.dropout = c.model.config.attention_dropout = c.model.config.seq_classif_dropout = 0.f;
  EXPECT_EQ(run(c, c.batch, true, &s1), eval);
}

TEST(Forward, RejectsImpossibleBatches) {
  const Case c = load_case("f32");
  Activations acts;
  activations_reserve(acts, c.model.config, 2, 8, false);
  std::vector<float> logits(64);
  // Longer than reserved.
  EXPECT_THROW(encoder_forward(c.model.config, c.model.weights, make_batch({std::vector<int32_t>(9, 5)}, 0), acts,
                               logits.data(), nullptr),
               InvalidArgument);
  // A token id outside the vocabulary.
  EXPECT_THROW(
      encoder_forward(c.model.config, c.model.weights, make_batch({{101, 1000, 102}}, 0), acts, logits.data(), nullptr),
      InvalidArgument);
  // Longer than max_position_embeddings.
  const int P = c.model.config.max_position_embeddings;
  Activations big;
  activations_reserve(big, c.model.config, 1, P + 1, false);
  EXPECT_THROW(encoder_forward(c.model.config, c.model.weights, make_batch({std::vector<int32_t>(P + 1, 5)}, 0), big,
                               logits.data(), nullptr),
               InvalidArgument);
  // Dropout needs training buffers; backward needs a training forward.
  DropoutSpec s;
  EXPECT_THROW(encoder_forward(c.model.config, c.model.weights, make_batch({{101, 102}}, 0), acts, logits.data(), &s),
               InvalidArgument);
}

TEST(Forward, PackRowsLaysRowsEndToEnd) {
  const PackedBatch p = pack_rows({{101, 7, 102}, {101, 102}, {101, 5, 6, 102}});
  EXPECT_EQ(p.B, 3);
  EXPECT_EQ(p.T_max, 4);
  EXPECT_EQ(p.tokens(), 9);
  EXPECT_EQ(p.ids, (std::vector<int32_t>{101, 7, 102, 101, 102, 101, 5, 6, 102}));
  EXPECT_EQ(p.positions, (std::vector<int32_t>{0, 1, 2, 0, 1, 0, 1, 2, 3}));
  EXPECT_EQ(p.offsets, (std::vector<int32_t>{0, 3, 5, 9}));
  EXPECT_THROW(pack_rows({{101, 102}, {}}), InvalidArgument);
}

TEST(Forward, PackedRejectsImpossibleBatches) {
  const LoadedModel m = load_model_dir(kForward + "f32");
  PackedActivations acts;
  std::vector<float> logits(64);
  EXPECT_THROW(encoder_forward_packed(m.config, m.weights, pack_rows({}), acts, logits.data()), InvalidArgument);
  const std::vector<int32_t> too_long(size_t(m.config.max_position_embeddings) + 1, 1);
  EXPECT_THROW(encoder_forward_packed(m.config, m.weights, pack_rows({too_long}), acts, logits.data()),
               InvalidArgument);
  EXPECT_THROW(encoder_forward_packed(m.config, m.weights, pack_rows({{1, m.config.vocab_size}}), acts, logits.data()),
               InvalidArgument);
}

TEST(Forward, MakeBatchPadsRight) {
  const TokenBatch b = make_batch({{101, 7, 102}, {101, 102}}, 0);
  EXPECT_EQ(b.B, 2);
  EXPECT_EQ(b.T, 3);
  EXPECT_EQ(b.ids, (std::vector<int32_t>{101, 7, 102, 101, 102, 0}));
  EXPECT_EQ(b.lengths, (std::vector<int32_t>{3, 2}));
}

TEST(Forward, BuffersAreSizedOnceAndInferenceKeepsOneLayer) {
  Case c = load_case("f32");
  const ModelConfig& cfg = c.model.config;
  const size_t train_bytes = activations_bytes(cfg, c.batch.B, c.batch.T, true);
  const size_t infer_bytes = activations_bytes(cfg, c.batch.B, c.batch.T, false);
  EXPECT_LT(infer_bytes * 2, train_bytes) << "inference keeps one layer's buffers, training every layer's";
  // More layers cost training memory, not inference memory (beyond the shared buffers).
  ModelConfig deeper = cfg;
  deeper.n_layers = cfg.n_layers * 3;
  EXPECT_EQ(activations_bytes(deeper, c.batch.B, c.batch.T, false), infer_bytes);
  EXPECT_GT(activations_bytes(deeper, c.batch.B, c.batch.T, true), train_bytes);
  // A forward (and a smaller batch) reuses the slab: no reallocation.
  Activations acts;
  activations_reserve(acts, cfg, c.batch.B, c.batch.T, false);
  EXPECT_EQ(acts.buf.size() * sizeof(float), infer_bytes);
  const float* slab = acts.buf.data();
  std::vector<float> logits(size_t(c.batch.B) * cfg.num_labels());
  encoder_forward(cfg, c.model.weights, c.batch, acts, logits.data(), nullptr);
  encoder_forward(cfg, c.model.weights, single_row(c.batch, 1), acts, logits.data(), nullptr);
  EXPECT_EQ(acts.buf.data(), slab);
  EXPECT_EQ(acts.buf.size() * sizeof(float), infer_bytes);
  EXPECT_EQ(acts.B, 1);
}
