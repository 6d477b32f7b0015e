// train_best_model_test.cpp — the Trainer features around the loop: best-model tracking and
// EarlyStoppingCallback decisions on scripted metric sequences, --eval-strategy / --save-strategy
// steps, --load-best-model-at-end (trainer_state.json best_metric / best_model_checkpoint, the final
// weights, rotation keeping the best), and the losses of src/train/loss.hpp (label smoothing, class
// weights, BCE pos_weight) against torch (tests/fixtures/train/losses.json, tools/make_loss_fixture.py).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/model_dir.hpp"
#include "test_support.hpp"
#include "train/best_model.hpp"
#include "train/checkpoint.hpp"
#include "train/loss.hpp"
#include "train/trainer.hpp"
#include "train_fixture.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

using namespace bert_emotion;
using namespace bert_emotion::testing_support;
namespace fs = std::filesystem;
using ::testing::HasSubstr;

namespace {

const fs::path kTraj = fs::path(FIXTURES_DIR) / "train" / "traj";

TrainModel load_init() { return load_traj_model(kTraj); }

TokenizedSplit examples(size_t first, size_t n) {
  TokenizedSplit s;
  std::ifstream ids(kTraj / "train.jsonl"), labels(kTraj / "train_labels.txt");
  std::string line;
  for (size_t i = 0; i < first + n && std::getline(ids, line); ++i)
    if (i >= first) s.ids.push_back(nlohmann::json::parse(line).get<std::vector<int32_t>>());
  int v;
  for (size_t i = 0; i < first + n && labels >> v; ++i)
    if (i >= first) s.labels.push_back(v);
  return s;
}

TrainOptions options(const fs::path& out) {
  TrainOptions o;
  o.output_dir = out;
  o.learning_rate = 5e-3;  // large: the eval loss moves between evaluations
  o.train_batch_size = 4;
  o.num_train_epochs = 3;
  o.dropout = false;
  o.shuffle = false;
  o.quiet = true;
  o.threads = 1;
  return o;
}

// The sequence of best-metric decisions and stop decisions for `values`, as the loop makes them.
struct Decisions {
  std::vector<bool> new_best, stop;
  nlohmann::json best;
};
Decisions replay(const std::vector<double>& values, const std::string& metric, std::optional<bool> greater,
                 int patience, double threshold) {
  const BestModelTracker tracker(metric, greater);
  EarlyStopping stopper(patience, threshold, tracker.greater_is_better());
  TrainerState st;
  Decisions d;
  for (size_t i = 0; i < values.size(); ++i) {
    const nlohmann::json m = {{tracker.key(), values[i]}, {"eval_other", 0.0}};
    d.stop.push_back(stopper.on_evaluate(tracker.value_of(m), st.best_metric));
    d.new_best.push_back(tracker.update(st, values[i], static_cast<int64_t>(i + 1)));
  }
  d.best = st.best_metric;
  return d;
}

}  // namespace

TEST(BestModel, MetricNamesAndDirection) {
  EXPECT_EQ(BestModelTracker("", std::nullopt).key(), "eval_loss");
  EXPECT_FALSE(BestModelTracker("", std::nullopt).greater_is_better());
  EXPECT_EQ(BestModelTracker("f1", std::nullopt).key(), "eval_f1");
  EXPECT_TRUE(BestModelTracker("eval_f1", std::nullopt).greater_is_better());
  EXPECT_FALSE(BestModelTracker("hamming_loss", std::nullopt).greater_is_better());
  EXPECT_FALSE(BestModelTracker("accuracy", false).greater_is_better());
  const nlohmann::json m = {{"eval_loss", 1.0}, {"eval_f1", 0.5}, {"epoch", 1}};
  EXPECT_THAT(error_of<InvalidArgument>([&] { BestModelTracker("f2", std::nullopt).value_of(m); }),
              HasSubstr("no metric 'eval_f2'; it has: eval_f1, eval_loss"));
}

TEST(BestModel, ScriptedSequenceOfDecisions) {
  // Loss (lower is better), patience 2: 0.9 best, 0.8 best, 0.85 worse (1), 0.8 equal = not better
  // (2 -> stop), then 0.7 best again.
  Decisions d = replay({0.9, 0.8, 0.85, 0.8, 0.7}, "loss", std::nullopt, 2, 0.0);
  EXPECT_EQ(d.new_best, (std::vector<bool>{true, true, false, false, true}));
  EXPECT_EQ(d.stop, (std::vector<bool>{false, false, false, true, false}));
  EXPECT_DOUBLE_EQ(d.best.get<double>(), 0.7);
  // F1 with a threshold of 0.05: 0.50 -> 0.53 is better but not by more than the threshold, so it
  // is a new best (the Trainer's rule) yet counts against the patience (the callback's rule).
  d = replay({0.50, 0.53, 0.60, 0.62, 0.61}, "f1", std::nullopt, 2, 0.05);
  EXPECT_EQ(d.new_best, (std::vector<bool>{true, true, true, true, false}));
  EXPECT_EQ(d.stop, (std::vector<bool>{false, false, false, false, true}));
  // patience 1 stops at the first evaluation without improvement; 0 never stops.
  EXPECT_EQ(replay({1.0, 1.0}, "accuracy", std::nullopt, 1, 0).stop, (std::vector<bool>{false, true}));
  EXPECT_EQ(replay({1.0, 1.0, 1.0}, "accuracy", std::nullopt, 0, 0).stop, (std::vector<bool>{false, false, false}));
}

TEST(BestModel, OptionRulesOfTrainingArguments) {
  TrainOptions o = options("out");
  o.load_best_model_at_end = true;
  o.save_strategy = "steps";
  EXPECT_THAT(error_of<InvalidArgument>([&] { validate_train_options(o); }),
              HasSubstr("requires the save and eval strategy to match"));
  o.eval_strategy = "steps";
  o.eval_steps = 3;
  o.save_steps = 4;
  EXPECT_THAT(error_of<InvalidArgument>([&] { validate_train_options(o); }), HasSubstr("multiple of --eval-steps (3)"));
  o.save_steps = 6;
  EXPECT_NO_THROW(validate_train_options(o));
  o.load_best_model_at_end = false;
  o.early_stopping_patience = 2;
  EXPECT_THAT(error_of<InvalidArgument>([&] { validate_train_options(o); }),
              HasSubstr("--early-stopping-patience requires --load-best-model-at-end"));
  o = options("out");
  o.eval_strategy = "sometimes";
  EXPECT_THAT(error_of<InvalidArgument>([&] { validate_train_options(o); }),
              HasSubstr("--eval-strategy must be no, steps or epoch"));
  o = options("out");
  o.label_smoothing_factor = 1;
  EXPECT_THAT(error_of<InvalidArgument>([&] { validate_train_options(o); }), HasSubstr("--label-smoothing-factor"));
}

TEST(BestModel, StepStrategiesAndLoadBestModelAtEnd) {
  const TokenizedSplit train = examples(0, 16), eval = examples(16, 8);  // 4 steps per epoch, 12 steps
  TempDir t;
  TrainModel model = load_init();
  TrainOptions o = options(t.path / "run");
  o.eval_strategy = "steps";
  o.eval_steps = 2;
  o.save_strategy = "steps";
  o.save_steps = 2;
  o.save_total_limit = 1;
  o.load_best_model_at_end = true;
  o.metric_for_best_model = "accuracy";
  const TrainOutcome r = train_loop(model, train, &eval, model.config.label_names(), o);
  ASSERT_EQ(r.global_step, 12);
  ASSERT_EQ(r.evals.size(), 6u);  // steps 2, 4, ..., 12
  for (size_t i = 0; i < r.evals.size(); ++i) EXPECT_EQ(r.evals[i].step, static_cast<int64_t>(2 * (i + 1)));
  // The best: the first evaluation with the highest accuracy.
  size_t best = 0;
  for (size_t i = 1; i < r.evals.size(); ++i)
    if (r.evals[i].metrics["eval_accuracy"].get<double>() > r.evals[best].metrics["eval_accuracy"].get<double>())
      best = i;
  const int64_t best_step = r.evals[best].step;
  RecordProperty("best_step", std::to_string(best_step));
  EXPECT_EQ(r.state.best_global_step.get<int64_t>(), best_step);
  EXPECT_DOUBLE_EQ(r.state.best_metric.get<double>(), r.evals[best].metrics["eval_accuracy"].get<double>());
  const fs::path best_dir = t.path / "run" / ("checkpoint-" + std::to_string(best_step));
  EXPECT_EQ(r.state.best_model_checkpoint.get<std::string>(), best_dir.string());
  // Rotation with --save-total-limit 1 keeps the best checkpoint beside the last one.
  EXPECT_TRUE(fs::exists(best_dir));
  EXPECT_TRUE(fs::exists(t.path / "run" / "checkpoint-12"));
  size_t checkpoints = 0;
  for (const auto& e : fs::directory_iterator(t.path / "run"))
    checkpoints += e.path().filename().string().rfind("checkpoint-", 0) == 0;
  EXPECT_EQ(checkpoints, best_step == 12 ? 1u : 2u);
  // The final weights are the best checkpoint's; its trainer_state.json names it too.
  EXPECT_EQ(r.loaded_best, best_step != 12);
  LoadOptions lo;
  lo.owned_arena = true;
  const LoadedModel saved = load_model_dir(best_dir, lo);
  ASSERT_EQ(saved.arena.size(), model.params.size());
  EXPECT_EQ(saved.arena, model.params);
  const auto state = nlohmann::json::parse(read_file(best_dir / "trainer_state.json"));
  EXPECT_EQ(state["best_model_checkpoint"], best_dir.string());
  EXPECT_EQ(state["eval_steps"], 2);
}

TEST(BestModel, EarlyStoppingEndsTheRun) {
  const TokenizedSplit train = examples(0, 16), eval = examples(16, 8);
  TempDir t;
  TrainModel model = load_init();
  TrainOptions o = options(t.path / "run");
  o.num_train_epochs = 50;  // 200 steps unless stopped
  o.eval_strategy = "epoch";
  o.save_strategy = "epoch";
  o.load_best_model_at_end = true;  // eval_loss, lower is better
  o.early_stopping_patience = 2;
  o.early_stopping_threshold = 1e-3;
  const TrainOutcome r = train_loop(model, train, &eval, model.config.label_names(), o);
  ASSERT_TRUE(r.early_stopped);
  RecordProperty("evaluations", std::to_string(r.evals.size()));
  EXPECT_LT(r.global_step, 200);
  // The same decisions replayed on the logged evaluations: the stop comes at the last one.
  std::vector<double> losses;
  for (const auto& e : r.evals) losses.push_back(e.metrics["eval_loss"].get<double>());
  const Decisions d = replay(losses, "loss", std::nullopt, 2, 1e-3);
  ASSERT_FALSE(d.stop.empty());
  EXPECT_TRUE(d.stop.back());
  EXPECT_EQ(std::count(d.stop.begin(), d.stop.end(), true), 1);
  EXPECT_EQ(r.state.best_metric, d.best);
}

TEST(Losses, MatchTorch) {
  const auto j = nlohmann::json::parse(read_file(fs::path(FIXTURES_DIR) / "train" / "losses.json"));
  const int B = j["B"], K = j["K"];
  std::vector<float> z;
  for (const auto& row : j["logits"])
    for (const auto& v : row) z.push_back(v.get<float>());
  const auto labels = j["labels"].get<std::vector<int32_t>>();
  std::vector<float> targets;
  for (const auto& row : j["targets"])
    for (const auto& v : row) targets.push_back(v.get<float>());
  std::vector<float> dz(z.size());
  int checked = 0;
  for (const auto& c : j["cases"]) {
    SCOPED_TRACE(c.dump().substr(0, 80));
    const auto w = c["weights"].get<std::vector<float>>();
    const float loss = c["kind"] == "bce"
                           ? bce_with_logits_pos_weight_forward_backward(z.data(), targets.data(), B, K, w, dz.data())
                           : weighted_cross_entropy_forward_backward(z.data(), labels.data(), B, K, w,
                                                                     c["label_smoothing"].get<float>(), dz.data());
    EXPECT_NEAR(loss, c["loss"].get<double>(), 1e-5 * std::fabs(c["loss"].get<double>()));
    for (int i = 0; i < B; ++i)
      for (int k = 0; k < K; ++k)
        EXPECT_NEAR(dz[static_cast<size_t>(i * K + k)], c["dlogits"][i][k].get<double>(), 1e-6) << i << "," << k;
    ++checked;
  }
  EXPECT_EQ(checked, 6);
  // The Trainer's LabelSmoother gives torch's label-smoothed value.
  EXPECT_NEAR(weighted_cross_entropy_forward_backward(z.data(), labels.data(), B, K, {}, 0.1f, dz.data()),
              j["label_smoother_0.1"].get<double>(), 1e-5);
}

TEST(Losses, ClassWeightsBalancedAndFromFiles) {
  const std::vector<std::string> names = {"a", "b", "c"};
  // sklearn compute_class_weight("balanced"): n / (K x count) = 6 / (3 x {3, 2, 1}).
  const auto w = resolve_class_weights("balanced", {0, 0, 0, 1, 1, 2}, {}, names);
  EXPECT_EQ(w, (std::vector<float>{6.f / 9, 1.f, 2.f}));
  // Multi-label: pos_weight = negatives / positives per label.
  const auto p = resolve_class_weights("balanced", {}, {{1, 0, 1}, {1, 1, 0}, {0, 0, 1}, {1, 0, 0}}, names);
  EXPECT_EQ(p, (std::vector<float>{1.f / 3, 3.f, 1.f}));
  EXPECT_THAT(error_of<InvalidArgument>([&] {
                resolve_class_weights("balanced", {0, 1}, {}, names);
              }),
              HasSubstr("label 'c' has no training examples"));
  TempDir t;
  write_file_atomic(t.path / "list.json", "[1, 2.5, 0]");
  EXPECT_EQ(resolve_class_weights((t.path / "list.json").string(), {0}, {}, names), (std::vector<float>{1, 2.5f, 0}));
  write_file_atomic(t.path / "named.json", "{\"c\": 4, \"a\": 1, \"b\": 2}");
  EXPECT_EQ(resolve_class_weights((t.path / "named.json").string(), {0}, {}, names), (std::vector<float>{1, 2, 4}));
  write_file_atomic(t.path / "short.json", "[1, 2]");
  EXPECT_THAT(error_of<FormatError>([&] { resolve_class_weights((t.path / "short.json").string(), {0}, {}, names); }),
              HasSubstr("short.json: --class-weights: 2 weights for 3 labels"));
  write_file_atomic(t.path / "bad.json", "{\"a\": 1, \"b\": 1, \"d\": 1}");
  EXPECT_THAT(error_of<FormatError>([&] { resolve_class_weights((t.path / "bad.json").string(), {0}, {}, names); }),
              HasSubstr("unknown label 'd'"));
  EXPECT_TRUE(resolve_class_weights("", {0}, {}, names).empty());
}
