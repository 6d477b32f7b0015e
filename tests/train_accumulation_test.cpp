// train_accumulation_test.cpp — --gradient-accumulation-steps: k batches of b per optimizer step
// equal one batch of k*b (dropout off, dataset order), and the step count and logged learning
// rates follow the accumulated geometry (tiny model of tests/fixtures/train/traj).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/model_dir.hpp"
#include "test_support.hpp"
#include "train/schedule.hpp"
#include "train/trainer.hpp"
#include "train_fixture.hpp"
#include "util/error.hpp"

using namespace bert_emotion;
using namespace bert_emotion::testing_support;
namespace fs = std::filesystem;

namespace {

const fs::path kTraj = fs::path(FIXTURES_DIR) / "train" / "traj";

TrainModel load_init() { return load_traj_model(kTraj); }

TokenizedSplit first_examples(size_t n) {
  TokenizedSplit s;
  std::ifstream ids(kTraj / "train.jsonl"), labels(kTraj / "train_labels.txt");
  std::string line;
  while (s.ids.size() < n && std::getline(ids, line))
    s.ids.push_back(nlohmann::json::parse(line).get<std::vector<int32_t>>());
  int v;
  while (s.labels.size() < n && labels >> v) s.labels.push_back(v);
  return s;
}

TrainOptions options(const fs::path& out, int batch, int accum) {
  TrainOptions o;
  o.output_dir = out;
  o.learning_rate = 1e-3;
  o.train_batch_size = batch;
  o.gradient_accumulation_steps = accum;
  o.num_train_epochs = 2;
  o.max_grad_norm = 0.5;
  o.dropout = false;
  o.shuffle = false;
  o.save_strategy = "no";
  o.quiet = true;
  o.threads = 1;
  o.lr_scheduler_type = "cosine";
  o.warmup_steps = 1;
  return o;
}

}  // namespace

TEST(GradientAccumulation, KBatchesOfBEqualOneBatchOfKB) {
  const TokenizedSplit train = first_examples(16);  // 16 = 2 steps per epoch of 8, or 4 batches of 2
  TempDir a, b;
  TrainModel one = load_init(), accum = load_init();
  const TrainOutcome r1 = train_loop(one, train, nullptr, one.config.label_names(), options(a.path, 8, 1));
  const TrainOutcome r4 = train_loop(accum, train, nullptr, accum.config.label_names(), options(b.path, 2, 4));
  ASSERT_EQ(r1.steps.size(), 4u);
  ASSERT_EQ(r4.steps.size(), 4u);
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_NEAR(r4.steps[k].loss, r1.steps[k].loss, 1e-5 * std::fabs(r1.steps[k].loss)) << k;
    EXPECT_NEAR(r4.steps[k].grad_norm, r1.steps[k].grad_norm, 1e-4 * r1.steps[k].grad_norm) << k;
    EXPECT_EQ(r4.steps[k].lr, r1.steps[k].lr) << k;
    EXPECT_EQ(r4.steps[k].batch_size, 8) << k;
    // The cosine schedule over 4 steps with 1 warmup step, as transformers computes it.
    EXPECT_EQ(r4.steps[k].lr, 1e-3 * schedule_factor("cosine", static_cast<int64_t>(k), 1, 4, 1e-3)) << k;
  }
  EXPECT_GT(r1.steps[1].lr, r1.steps[3].lr);
  double num = 0, den = 0;
  for (size_t i = 0; i < one.params.size(); ++i) {
    const double d = static_cast<double>(one.params[i]) - accum.params[i];
    num += d * d;
    den += static_cast<double>(one.params[i]) * one.params[i];
  }
  EXPECT_LE(std::sqrt(num), 1e-5 * std::sqrt(den));
  // A different batching of the same examples really changes the result (the check can fail).
  TempDir c;
  TrainModel plain = load_init();
  train_loop(plain, train, nullptr, plain.config.label_names(), options(c.path, 2, 1));
  double diff = 0;
  for (size_t i = 0; i < plain.params.size(); ++i)
    diff += std::fabs(static_cast<double>(plain.params[i]) - accum.params[i]);
  EXPECT_GT(diff, 1e-3);
}

TEST(GradientAccumulation, ShortLastGroupStillSteps) {
  const TokenizedSplit train = first_examples(10);  // 5 batches of 2, accumulated by 2: 3 steps per epoch
  TempDir t;
  TrainModel tm = load_init();
  const TrainOutcome r = train_loop(tm, train, nullptr, tm.config.label_names(), options(t.path, 2, 2));
  ASSERT_EQ(r.steps.size(), 6u);
  EXPECT_EQ(r.steps[2].batch_size, 2);
  EXPECT_EQ(r.steps[3].batch_size, 4);
  TrainOptions bad = options(t.path, 2, 0);
  EXPECT_THROW(validate_train_options(bad), InvalidArgument);
}
