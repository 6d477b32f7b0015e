// Training --bf16 (torch.autocast("cpu", torch.bfloat16) semantics) against the PyTorch reference
// under autocast (tests/fixtures/train/traj_bf16, tools/make_bf16_train_fixture.sh): the traj
// recipe for 20 steps, per-step loss and gradient norm, per-epoch eval loss and the final weights.
// Then the CLI's --bf16 on every instruction-set path (BERT_EMOTION_MAX_CPU_ISA): the AVX2 and scalar
// fallbacks train bit-identically to vdpbf16ps, so a machine without AVX-512 BF16 trains the same.
// (That holds for the engine's own kernels, which run every product of these small models; a
// base-size model's products of >= 2^20 multiply-adds run on oneDNN's bf16 matmul on AVX-512 BF16
// CPUs and agree with the fallbacks to FP32 accumulation rounding: bf16_kernels_test.)
//
// Tolerance: torch's autocast also rounds each linear's *output* (and the gradients flowing back
// through it) to bf16, where ours keeps FP32 outputs (more precise); so ours and torch's differ by
// the order of bf16 rounding itself. Measured over the 20 steps: losses within 6e-5 relative (bound
// kRel 2e-4), gradient norms (0.005-0.9) within 1.3e-3 absolute (bound kNormAbs 3e-3; relative
// bounds fail on the near-zero norms of steps 4 and 12), final weights within 3.1e-2 relative L2
// (bound kWeightRel 6e-2: AdamW divides by sqrt(v), so a small gradient's rounding noise becomes a
// full lr-sized step; our own FP32 run lands as far, 3.3e-2, from torch's bf16 one). And our bf16 run must
// differ from our FP32 run (the bf16 path was taken).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_harness.hpp"
#include "dtype_test_models.hpp"
#include "kernels/cpu_isa.hpp"
#include "model/init.hpp"
#include "model/safetensors.hpp"
#include "train/trainer.hpp"
#include "train_fixture.hpp"
#include "util/atomic_file.hpp"

using namespace bert_emotion;
using namespace bert_emotion::testing_support;
namespace fs = std::filesystem;

namespace {

const fs::path kTraj = fs::path(FIXTURES_DIR) / "train" / "traj";
const fs::path kRef = fs::path(FIXTURES_DIR) / "train" / "traj_bf16" / "ref";
constexpr double kRel = 2e-4, kNormAbs = 3e-3, kWeightRel = 6e-2;

fs::path temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("bf16_train_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

TrainOutcome run_traj(bool bf16, TrainModel& tm, const std::string& name) {
  TokenizedSplit train{read_ids(kTraj / "train.jsonl"), read_labels(kTraj / "train_labels.txt")};
  TokenizedSplit eval{read_ids(kTraj / "eval.jsonl"), read_labels(kTraj / "eval_labels.txt")};
  TrainOptions o = traj_options(temp_dir(name), kTraj);
  o.num_train_epochs = 2;
  o.bf16 = bf16;
  TrainOutcome r = train_loop(tm, train, &eval, tm.config.label_names(), o);
  fs::remove_all(o.output_dir);
  return r;
}

}  // namespace

TEST(Bf16Train, TrajectoryMatchesTorchAutocast) {
  TrainModel tm = load_traj_model(kTraj), fp = load_traj_model(kTraj);
  const TrainOutcome r = run_traj(true, tm, "bf16");
  const TrainOutcome f = run_traj(false, fp, "f32");
  std::vector<nlohmann::json> steps, evals;
  std::ifstream in(kRef / "log.jsonl");
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    (j["type"] == "step" ? steps : evals).push_back(j);
  }
  ASSERT_EQ(steps.size(), 20u);
  ASSERT_EQ(r.steps.size(), steps.size());
  double worst_loss = 0, worst_norm = 0, fp_vs_bf = 0;
  for (size_t k = 0; k < steps.size(); ++k) {
    const double loss = steps[k]["loss"].get<double>(), gn = steps[k]["grad_norm"].get<double>();
    EXPECT_EQ(r.steps[k].lr, steps[k]["lr"].get<double>()) << "step " << k;
    EXPECT_NEAR(r.steps[k].loss, loss, kRel * std::fabs(loss)) << "step " << k;
    EXPECT_NEAR(r.steps[k].grad_norm, gn, kNormAbs) << "step " << k;
    worst_loss = std::max(worst_loss, std::fabs(r.steps[k].loss - loss) / std::fabs(loss));
    worst_norm = std::max(worst_norm, std::fabs(r.steps[k].grad_norm - gn));
    fp_vs_bf = std::max(fp_vs_bf, std::fabs(f.steps[k].loss - r.steps[k].loss));
  }
  EXPECT_GT(fp_vs_bf, 0.) << "--bf16 gave FP32's losses exactly: the bf16 path did not run";
  ASSERT_EQ(r.evals.size(), evals.size());
  for (size_t e = 0; e < evals.size(); ++e) {
    // train.py's evaluate() takes the cross-entropy of the bf16 logits outside autocast, in bf16:
    // its eval loss is a bf16 number (1.3828125), within one bf16 step (2^-7 at 1-2) of ours.
    const double want = evals[e]["eval_loss"].get<double>();
    EXPECT_NEAR(r.evals[e].metrics["eval_loss"].get<double>(), want, std::ldexp(1.0, -7)) << "epoch " << e + 1;
  }
  // Final master weights: relative L2 error per tensor.
  auto ref = SafetensorsFile::open(kRef / "model.safetensors");
  double worst_tensor = 0, worst_fp_tensor = 0;
  for (const auto& p : tm.layout.params()) {
    std::vector<float> want(p.numel);
    ref->to_float32(ref->at(p.name), want.data());
    double num = 0, num_fp = 0, den = 0;
    for (size_t i = 0; i < p.numel; ++i) {
      const double d = double(tm.params[p.offset + i]) - want[i], d_fp = double(fp.params[p.offset + i]) - want[i];
      num += d * d;
      num_fp += d_fp * d_fp;
      den += double(want[i]) * want[i];
    }
    // The key bias has an exactly-zero true gradient (it cancels in the softmax): only rounding
    // noise moves it, on both sides, so it gets an absolute bound (as in train_loop_test).
    if (p.name.find("k_lin.bias") != std::string::npos) {
      EXPECT_LE(std::sqrt(num), 1e-3) << p.name;
      continue;
    }
    worst_tensor = std::max(worst_tensor, std::sqrt(num / den));
    worst_fp_tensor = std::max(worst_fp_tensor, std::sqrt(num_fp / den));
    EXPECT_LE(std::sqrt(num), kWeightRel * std::sqrt(den)) << p.name;
  }
  std::printf(
      "bf16 vs torch autocast over 20 steps: worst rel loss %.2e, |grad norm| %.2e, rel tensor (L2) %.2e "
      "(our FP32 run vs torch autocast: tensor %.2e; |bf16 - FP32 loss| %.2e)\n",
      worst_loss, worst_norm, worst_tensor, worst_fp_tensor, fp_vs_bf);
}

TEST(Bf16Train, CliTrainsBitIdenticallyOnEveryInstructionSetPath) {
  const fs::path root = temp_dir("cli");
  fs::create_directories(root / "data");
  ModelConfig cfg = preset_config("tiny");
  cfg.max_position_embeddings = 64;
  set_labels(cfg, {"anger", "joy"});
  create_random_model_dir(root / "tiny", cfg, 5, fs::path(SHARED_DIR) / "models" / "distilbert-base-cased");
  write_file_atomic(root / "data" / "train.csv",
                    "text,label\nI love this so much,joy\nThis is terrible and I hate it,anger\nwhat a wonderful "
                    "day,joy\nso angry right now,anger\nbest news ever!,joy\nfurious about the delay,anger\n");
  std::string first;
  for (CpuIsa isa : {CpuIsa::scalar, CpuIsa::avx2, CpuIsa::avx512_bf16}) {
    if (isa > detected_cpu_isa()) {
      std::printf("skipped %s: not on this CPU\n", cpu_isa_name(isa));
      continue;
    }
    const fs::path out = root / cpu_isa_name(isa);
    const CliResult r = run_capped({"train",
                                    "--model",
                                    (root / "tiny").string(),
                                    "--data",
                                    (root / "data").string(),
                                    "--output-dir",
                                    out.string(),
                                    "--bf16",
                                    "--num-train-epochs",
                                    "2",
                                    "--per-device-train-batch-size",
                                    "3",
                                    "--learning-rate",
                                    "1e-3",
                                    "--logging-steps",
                                    "1",
                                    "--threads",
                                    "1",
                                    "--eval-split",
                                    "none",
                                    "--test-split",
                                    "none",
                                    "--save-strategy",
                                    "no",
                                    "--dropout",
                                    "off"},
                                   cpu_isa_name(isa));
    ASSERT_EQ(r.exit_code, 0) << cpu_isa_name(isa) << ": " << r.err;
    const std::string weights = read_file(out / "model.safetensors");
    if (first.empty()) first = weights;
    else EXPECT_TRUE(weights == first) << cpu_isa_name(isa) << " trained different weights";
    EXPECT_TRUE(nlohmann::json::parse(read_file(out / "training_args.json"))["bf16"].get<bool>());
  }
  fs::remove_all(root);
}
