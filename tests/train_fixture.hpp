// train_fixture.hpp — the tiny model and train.py recipe of tests/fixtures/train/traj, shared by the
// tests of the training loop (train_loop, multilabel, train_accumulation, train_best_model).
//
//   TokenizedSplit train{read_ids(kTraj / "train.jsonl"), read_labels(kTraj / "train_labels.txt")};
//   TrainModel tm = load_traj_model(kTraj);
//   TrainOptions o = traj_options(out_dir, kTraj);   // lr 1e-3, warmup 5, batch 4, 5 epochs, dropout off
#pragma once

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/model_dir.hpp"
#include "train/trainer.hpp"

namespace bert_emotion::testing_support {

// Token-id rows of a .jsonl fixture (one JSON array per line; blank lines skipped).
inline std::vector<std::vector<int32_t>> read_ids(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::vector<int32_t>> out;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line).get<std::vector<int32_t>>());
  return out;
}

// Whitespace-separated integer labels.
inline std::vector<int> read_labels(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<int> out;
  int v;
  while (in >> v) out.push_back(v);
  return out;
}

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
