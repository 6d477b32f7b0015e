// train_fixture.hpp — the tiny model and train.py recipe of tests/fixtures/train/traj, shared by the
// tests of the training loop (train_loop, multilabel, train_accumulation, train_best_model).
//
//   TokenizedSplit train{read_ids(kTraj / "train.jsonl"), read_labels(kTraj / "train_labels.txt")};
//   TrainModel tm = load_traj_model(kTraj);
//   TrainOptions o = traj_options(out_dir, kTraj);   // lr 1e-3, warmup 5, batch 4, 5 epochs, dropout off
//   RunDeviation d = expect_matches_reference_run(r, tm.layout, tm.params.data(), kTraj / "ref");
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/model_dir.hpp"
#include "model/safetensors.hpp"
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

// Per tensor of `layout`, the L2 error against the reference file within 1e-4 of the tensor's norm
// (the key bias, whose true gradient is exactly zero, within 1e-5 absolute); returns the largest
// relative error.
inline double expect_weights_match_reference(const ParamLayout& layout, const float* params,
                                             const std::filesystem::path& ref_file) {
  double worst = 0;
  auto ref = SafetensorsFile::open(ref_file);
  for (const auto& p : layout.params()) {
    std::vector<float> want(p.numel);
    ref->to_float32(p.name, want.data());
    double num = 0, den = 0;
    for (size_t i = 0; i < p.numel; ++i) {
      const double d = static_cast<double>(params[p.offset + i]) - want[i];
      num += d * d;
      den += static_cast<double>(want[i]) * want[i];
    }
    // The key bias (attention.k_lin.bias, BERT's attention.self.key.bias) has an exactly-zero true
    // gradient (a per-query constant added to every score cancels in the softmax): both sides only
    // move it by rounding noise, so it gets an absolute bound instead (its reference norm is ~1e-7).
    const bool zero_grad_tensor = p.name.find("attention.k_lin.bias") != std::string::npos ||
                                  p.name.find("attention.self.key.bias") != std::string::npos;
    if (!zero_grad_tensor) worst = std::max(worst, std::sqrt(num / den));
    if (zero_grad_tensor) EXPECT_LE(std::sqrt(num), 1e-5) << p.name;
    else EXPECT_LE(std::sqrt(num), 1e-4 * std::sqrt(den)) << p.name;
  }
  return worst;
}

// The largest relative deviations from the reference run (for the tests' printed summary).
struct RunDeviation {
  double loss = 0, grad_norm = 0, tensor = 0;
  int clipped = 0;  // reference steps whose pre-clip norm exceeded 0.45 (the fixtures' max_grad_norm)
};

// Checks a run against train.py's `ref_dir` (log.jsonl, model.safetensors): per step the batch size,
// padded length, exact learning rate, loss and grad norm within 1e-4 relative; per evaluation the
// loss (1e-4 relative), macro F1 and step; per final tensor the L2 error within 1e-4 of its norm
// (the key bias, whose true gradient is exactly zero, within 1e-5 absolute).
inline RunDeviation expect_matches_reference_run(const TrainOutcome& r, const ParamLayout& layout, const float* params,
                                                 const std::filesystem::path& ref_dir) {
  RunDeviation dev;
  std::vector<nlohmann::json> ref_steps, ref_evals;
  {
    std::ifstream in(ref_dir / "log.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line);
      (j["type"] == "step" ? ref_steps : ref_evals).push_back(j);
    }
  }
  EXPECT_FALSE(ref_steps.empty()) << ref_dir;
  EXPECT_EQ(r.steps.size(), ref_steps.size());
  for (size_t k = 0; k < std::min(r.steps.size(), ref_steps.size()); ++k) {
    const auto& ref = ref_steps[k];
    const auto& got = r.steps[k];
    EXPECT_EQ(got.step, ref["step"].get<int64_t>());
    EXPECT_EQ(got.batch_size, ref["batch_size"].get<int>()) << "step " << k;
    EXPECT_EQ(got.seq_len, ref["seq_len"].get<int>()) << "step " << k;
    EXPECT_EQ(got.lr, ref["lr"].get<double>()) << "step " << k;  // exact
    const double loss = ref["loss"].get<double>();
    EXPECT_NEAR(got.loss, loss, 1e-4 * std::fabs(loss)) << "step " << k;
    const double gn = ref["grad_norm"].get<double>();
    EXPECT_NEAR(got.grad_norm, gn, 1e-4 * gn) << "step " << k;
    if (gn > 0.45) ++dev.clipped;
    dev.loss = std::max(dev.loss, std::fabs(got.loss - loss) / std::fabs(loss));
    dev.grad_norm = std::max(dev.grad_norm, std::fabs(got.grad_norm - gn) / gn);
  }
  EXPECT_EQ(r.evals.size(), ref_evals.size());
  for (size_t e = 0; e < std::min(r.evals.size(), ref_evals.size()); ++e) {
    const double want = ref_evals[e]["eval_loss"].get<double>();
    EXPECT_NEAR(r.evals[e].metrics["eval_loss"].get<double>(), want, 1e-4 * want) << "epoch " << e + 1;
    EXPECT_NEAR(r.evals[e].metrics["eval_f1"].get<double>(), ref_evals[e]["f1_macro"].get<double>(), 1e-12);
    EXPECT_EQ(r.evals[e].step, ref_evals[e]["step"].get<int64_t>());
  }
  dev.tensor = expect_weights_match_reference(layout, params, ref_dir / "model.safetensors");
  return dev;
}

}  // namespace bert_emotion::testing_support
