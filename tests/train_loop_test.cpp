// The training loop against ../shared/reference/train.py (fixtures from tools/make_train_fixture.sh
// and, for RoBERTa, tools/make_family_fixtures.sh: a tiny random model, 38 examples, batch 4 -> 10 steps/epoch with a last batch of 2, 5 epochs,
// lr 1e-3 with 5 warmup steps, weight decay 0.01, clipping at 0.45, dropout off, train.py's
// shuffled order replayed with --order), and resuming from a checkpoint with dropout on.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/model_dir.hpp"
#include "model/safetensors.hpp"
#include "train/checkpoint.hpp"
#include "train/trainer.hpp"
#include "train_fixture.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

using namespace bert_emotion;
namespace fs = std::filesystem;

namespace {

const fs::path kTraj = fs::path(FIXTURES_DIR) / "train" / "traj";

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("train_loop_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

using testing_support::read_ids;
using testing_support::read_labels;

TrainModel load_init(const fs::path& traj = kTraj) { return testing_support::load_traj_model(traj); }

TrainOptions fixture_options(const fs::path& out, const fs::path& traj = kTraj) {
  return testing_support::traj_options(out, traj);
}

class Trajectory : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(Trajectory, MatchesPyTorchReference) {
  const fs::path traj = fs::path(FIXTURES_DIR) / "train" / GetParam();
  TrainModel tm = load_init(traj);
  TokenizedSplit train{read_ids(traj / "train.jsonl"), read_labels(traj / "train_labels.txt")};
  TokenizedSplit eval{read_ids(traj / "eval.jsonl"), read_labels(traj / "eval_labels.txt")};
  ASSERT_EQ(train.ids.size(), 38u);
  const fs::path out = temp_dir(GetParam());
  const TrainOutcome r = train_loop(tm, train, &eval, tm.config.label_names(), fixture_options(out, traj));

  ASSERT_EQ(r.steps.size(), 50u);
  const testing_support::RunDeviation dev =
      testing_support::expect_matches_reference_run(r, tm.layout, tm.params.data(), traj / "ref");
  EXPECT_GT(dev.clipped, 0);            // clipping was active
  EXPECT_LT(dev.clipped, 50);           // ... and not on every step
  EXPECT_EQ(r.steps[9].batch_size, 2);  // the short last batch of an epoch is a full step
  std::printf("max relative deviation from PyTorch over 50 steps: loss %.2e, grad norm %.2e, final tensor (L2) %.2e\n",
              dev.loss, dev.grad_norm, dev.tensor);
  // The log: one line per step.
  const std::string log = read_file(out / "train_log.jsonl");
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 50);
  const auto first = nlohmann::json::parse(log.substr(0, log.find('\n')));
  EXPECT_EQ(first["step"], 1);
  EXPECT_EQ(first["lr"].get<double>(), 0.0);  // warmup starts at 0
  EXPECT_EQ(first["loss"].get<double>(), static_cast<double>(static_cast<float>(r.steps[0].loss)));
  fs::remove_all(out);
}

INSTANTIATE_TEST_SUITE_P(Families, Trajectory, ::testing::Values("traj", "roberta_traj"), [](const auto& info) {
  return info.param == "traj" ? std::string("distilbert") : std::string("roberta");
});

TEST(TrainLoop, ResumeFromCheckpointIsBitIdenticalWithDropout) {
  TokenizedSplit train{read_ids(kTraj / "train.jsonl"), read_labels(kTraj / "train_labels.txt")};
  TrainOptions o = fixture_options(temp_dir("full"));
  o.order_file.clear();  // seeded shuffle: the RNG state must be restored
  o.dropout = true;
  o.num_train_epochs = 3;
  o.save_strategy = "epoch";
  o.logging_steps = 7;
  auto with_dropout = [] {
    TrainModel tm = load_init();
    tm.config.dropout = 0.1f;
    tm.config.attention_dropout = 0.1f;
    tm.config.seq_classif_dropout = 0.2f;
    return tm;
  };
  TrainModel full = with_dropout();
  const TrainOutcome a = train_loop(full, train, nullptr, full.config.label_names(), o);
  ASSERT_EQ(a.global_step, 30);
  for (const char* ck : {"checkpoint-10", "checkpoint-20", "checkpoint-30"}) {
    EXPECT_TRUE(fs::is_directory(o.output_dir / ck)) << ck;
    for (const char* f : {"config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json",
                          "training_state.json", "train_log.jsonl"})
      EXPECT_TRUE(fs::is_regular_file(o.output_dir / ck / f)) << ck << "/" << f;
  }
  // No temporary directories are left behind.
  for (const auto& e : fs::directory_iterator(o.output_dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();

  // "Interrupted" after epoch 1: a fresh process state that only has checkpoint-10.
  TrainOptions o2 = o;
  o2.output_dir = temp_dir("resumed");
  fs::copy(o.output_dir / "checkpoint-10", o2.output_dir / "checkpoint-10", fs::copy_options::recursive);
  fs::create_directories(o2.output_dir / "checkpoint-99x");  // not a checkpoint name: ignored by "latest"
  o2.resume_from_checkpoint = "latest";
  TrainModel resumed = with_dropout();  // initial weights: replaced by the checkpoint's
  const TrainOutcome b = train_loop(resumed, train, nullptr, resumed.config.label_names(), o2);
  EXPECT_TRUE(b.resumed);
  EXPECT_EQ(b.resumed_from.filename(), "checkpoint-10");
  EXPECT_EQ(b.steps_this_run, 20);
  EXPECT_EQ(b.global_step, 30);
  ASSERT_EQ(b.steps.size(), a.steps.size());
  for (size_t k = 0; k < a.steps.size(); ++k) EXPECT_EQ(a.steps[k].loss, b.steps[k].loss) << "step " << k;
  ASSERT_EQ(resumed.params.size(), full.params.size());
  size_t differing = 0;
  for (size_t i = 0; i < full.params.size(); ++i) differing += full.params[i] != resumed.params[i];
  EXPECT_EQ(differing, 0u);
  EXPECT_DOUBLE_EQ(a.train_loss, b.train_loss);
  // The Trainer's log history continues: same logging entries as the uninterrupted run.
  ASSERT_EQ(a.state.log_history.size(), b.state.log_history.size());
  for (size_t i = 0; i + 1 < a.state.log_history.size(); ++i)
    EXPECT_EQ(a.state.log_history[i], b.state.log_history[i]) << i;

  // Dropout really was on: the same run without it ends elsewhere.
  TrainOptions o3 = o;
  o3.dropout = false;
  o3.save_strategy = "no";
  o3.output_dir = temp_dir("nodrop");
  TrainModel nodrop = with_dropout();
  train_loop(nodrop, train, nullptr, nodrop.config.label_names(), o3);
  size_t differ_nodrop = 0;
  for (size_t i = 0; i < full.params.size(); ++i) differ_nodrop += full.params[i] != nodrop.params[i];
  EXPECT_GT(differ_nodrop, full.params.size() / 2);

  // Resuming with different options is refused, naming what differs.
  TrainOptions o4 = o2;
  o4.train_batch_size = 5;
  TrainModel again = with_dropout();
  try {
    train_loop(again, train, nullptr, again.config.label_names(), o4);
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("batch size"), std::string::npos) << e.what();
  }
  for (const auto& d : {o.output_dir, o2.output_dir, o3.output_dir}) fs::remove_all(d);
}

TEST(TrainLoop, SaveTotalLimitKeepsNewest) {
  TokenizedSplit train{read_ids(kTraj / "train.jsonl"), read_labels(kTraj / "train_labels.txt")};
  TrainOptions o = fixture_options(temp_dir("limit"));
  o.num_train_epochs = 3;
  o.save_strategy = "epoch";
  o.save_total_limit = 2;
  o.order_file.clear();
  TrainModel tm = load_init();
  train_loop(tm, train, nullptr, tm.config.label_names(), o);
  EXPECT_FALSE(fs::exists(o.output_dir / "checkpoint-10"));
  EXPECT_TRUE(fs::exists(o.output_dir / "checkpoint-20"));
  EXPECT_TRUE(fs::exists(o.output_dir / "checkpoint-30"));
  EXPECT_EQ(latest_checkpoint(o.output_dir)->filename(), "checkpoint-30");
  fs::remove_all(o.output_dir);
}

TEST(TrainLoop, OrderFileErrorsNameFileAndLine) {
  const fs::path dir = temp_dir("order");
  write_file_atomic(dir / "order.txt", "0 1 2\n0 2 2\n");
  try {
    read_order_file(dir / "order.txt", 3, 2);
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("order.txt:2"), std::string::npos) << e.what();
  }
  write_file_atomic(dir / "order.txt", "2 0 1\n");
  EXPECT_THROW(read_order_file(dir / "order.txt", 3, 2), FormatError);  // one line, two epochs
  EXPECT_EQ(read_order_file(dir / "order.txt", 3, 1)[0], (std::vector<int64_t>{2, 0, 1}));
  fs::remove_all(dir);
}

TEST(TrainOptionsValidation, BadValuesNameTheFlag) {
  auto expect_flag = [](TrainOptions o, const std::string& flag) {
    o.output_dir = "/tmp/x";
    try {
      validate_train_options(o);
      FAIL() << "expected InvalidArgument for " << flag;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(flag), std::string::npos) << e.what();
    }
  };
  TrainOptions o;
  o.train_batch_size = 0;
  expect_flag(o, "--per-device-train-batch-size");
  o = {};
  o.learning_rate = 0;
  expect_flag(o, "--learning-rate");
  o = {};
  o.learning_rate = -1e-5;
  expect_flag(o, "--learning-rate");
  o = {};
  o.num_train_epochs = 0;
  expect_flag(o, "--num-train-epochs");
  o = {};
  o.eval_batch_size = 0;
  expect_flag(o, "--per-device-eval-batch-size");
  o = {};
  o.warmup_ratio = 1.5;
  expect_flag(o, "--warmup-ratio");
  o = {};
  o.adam_beta2 = 1.0;
  expect_flag(o, "--adam-beta2");
  TrainOptions good;
  good.output_dir = "/tmp/x";
  EXPECT_NO_THROW(validate_train_options(good));
}

TEST(TrainLoop, InterruptedMidEpochResumesBitIdentically) {
  // 38 examples, batch 4: 10 steps per epoch. Stop at step 13 (3 batches into epoch 2), and
  // separately save every 4 steps.
  TokenizedSplit train{read_ids(kTraj / "train.jsonl"), read_labels(kTraj / "train_labels.txt")};
  auto with_dropout = [] {
    TrainModel tm = load_init();
    tm.config.dropout = 0.1f;
    tm.config.attention_dropout = 0.1f;
    return tm;
  };
  TrainOptions o = fixture_options(temp_dir("mid_full"));
  o.order_file.clear();
  o.dropout = true;
  o.num_train_epochs = 3;
  o.save_strategy = "no";
  o.logging_steps = 3;
  TrainModel full = with_dropout();
  const TrainOutcome a = train_loop(full, train, nullptr, full.config.label_names(), o);

  TrainOptions o2 = o;
  o2.output_dir = temp_dir("mid_stop");
  o2.save_strategy = "epoch";
  o2.save_steps = 4;
  o2.should_stop = [](int64_t step) { return step == 13; };
  TrainModel part = with_dropout();
  const TrainOutcome b = train_loop(part, train, nullptr, part.config.label_names(), o2);
  EXPECT_TRUE(b.interrupted);
  EXPECT_EQ(b.global_step, 13);
  EXPECT_EQ(b.last_checkpoint.filename(), "checkpoint-13");
  for (const char* ck : {"checkpoint-4", "checkpoint-8", "checkpoint-10", "checkpoint-12", "checkpoint-13"})
    EXPECT_TRUE(fs::is_directory(o2.output_dir / ck)) << ck;
  const auto state = nlohmann::json::parse(read_file(o2.output_dir / "checkpoint-13" / "training_state.json"));
  EXPECT_EQ(state["epoch"], 1);
  EXPECT_EQ(state["step_in_epoch"], 3);
  EXPECT_EQ(state["steps_since_log"], 1);  // step 13's loss waits for the next logging step

  TrainOptions o3 = o2;
  o3.should_stop = nullptr;
  o3.resume_from_checkpoint = "latest";
  TrainModel resumed = with_dropout();
  const TrainOutcome c = train_loop(resumed, train, nullptr, resumed.config.label_names(), o3);
  EXPECT_FALSE(c.interrupted);
  EXPECT_EQ(c.steps_this_run, 17);
  size_t differing = 0;
  for (size_t i = 0; i < full.params.size(); ++i) differing += full.params[i] != resumed.params[i];
  EXPECT_EQ(differing, 0u);
  ASSERT_EQ(a.state.log_history.size(), c.state.log_history.size());
  for (size_t i = 0; i + 1 < a.state.log_history.size(); ++i)
    EXPECT_EQ(a.state.log_history[i], c.state.log_history[i]) << i;
  // Resuming from a mid-epoch checkpoint by path works as well (checkpoint-8: epoch 1, 8 batches in).
  TrainOptions o4 = o3;
  o4.output_dir = temp_dir("mid_path");
  o4.resume_from_checkpoint = (o2.output_dir / "checkpoint-8").string();
  o4.save_steps = 0;
  TrainModel from8 = with_dropout();
  train_loop(from8, train, nullptr, from8.config.label_names(), o4);
  EXPECT_EQ(from8.params, full.params);
  // A resume must read the same columns: the checkpoint's training_args.json names them.
  TrainOptions o5 = o4;
  o5.text_pair_column = "hypothesis";
  TrainModel other = with_dropout();
  try {
    train_loop(other, train, nullptr, other.config.label_names(), o5);
    ADD_FAILURE() << "resumed with another pair column";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("text pair column is '' but this run's is 'hypothesis'"), std::string::npos)
        << e.what();
  }
  for (const auto& d : {o.output_dir, o2.output_dir, o4.output_dir}) fs::remove_all(d);
}
