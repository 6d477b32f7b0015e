// train_fixture.hpp — the tiny model and train.py recipe of tests/fixtures/train/traj, shared by the
// tests of the training loop (train_loop, multilabel, train_accumulation, train_best_model).
//
//   TrainModel tm = load_traj_model(kTraj);
//   TrainOptions o = traj_options(out_dir, kTraj);   // lr 1e-3, warmup 5, batch 4, 5 epochs, dropout off
#pragma once

#include <filesystem>

#include "model/model_dir.hpp"
#include "train/trainer.hpp"

namespace bert_emotion::testing_support {

// The trajectory's initial weights (traj/init) as a trainable model.
inline TrainModel load_traj_model(const std::filesystem::path& traj) {
  LoadOptions lo;
  lo.owned_arena = true;
  LoadedModel m = load_model_dir(traj / "init", lo);
  TrainModel tm;
  tm.config = m.config;
  tm.layout = m.layout;
  tm.params = m.arena;
  return tm;
}

// The options of ../shared/reference/train.py's fixture run: its order file, no dropout, one thread,
// no checkpoints, quiet.
inline TrainOptions traj_options(const std::filesystem::path& out, const std::filesystem::path& traj) {
  TrainOptions o;
  o.output_dir = out;
  o.learning_rate = 1e-3;
  o.warmup_steps = 5;
  o.weight_decay = 0.01;
  o.max_grad_norm = 0.45;
  o.train_batch_size = 4;
  o.eval_batch_size = 8;
  o.num_train_epochs = 5;
  o.seed = 42;
  o.dropout = false;
  o.order_file = traj / "order.txt";
  o.save_strategy = "no";
  o.quiet = true;
  o.threads = 1;
  return o;
}

}  // namespace bert_emotion::testing_support
