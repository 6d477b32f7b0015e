// multilabel_test.cpp — multi-label classification against scikit-learn and PyTorch (fixtures from
// tools/make_multilabel_fixtures.sh): metrics and report text, per-label threshold tuning and
// thresholds.json, the BCE-with-logits loss and gradient, and a 50-step training trajectory of
// ../shared/reference/train.py --problem-type multi_label_classification (dropout off, its order).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/evaluate.hpp"
#include "data/multilabel_metrics.hpp"
#include "data/thresholds.hpp"
#include "model/encoder.hpp"
#include "model/model_dir.hpp"
#include "model/safetensors.hpp"
#include "test_support.hpp"
#include "train/trainer.hpp"
#include "train_fixture.hpp"
#include "util/error.hpp"

using namespace bert_emotion;
using namespace bert_emotion::testing_support;
namespace fs = std::filesystem;

namespace {

const fs::path kDir = fs::path(FIXTURES_DIR) / "multilabel";
const fs::path kSingleTraj = fs::path(FIXTURES_DIR) / "train" / "traj";

nlohmann::json load(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

MultiHot hot(const nlohmann::json& j) { return j.get<MultiHot>(); }

void expect_vec(const std::vector<double>& got, const nlohmann::json& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i].get<double>(), 1e-12) << what << "[" << i << "]";
}

}  // namespace

TEST(MultiLabelMetrics, MatchScikitLearn) {
  const auto fx = load(kDir / "metrics.json");
  int undefined_auc = 0;
  for (const auto& c : fx["cases"]) {
    const auto m = compute_multilabel_metrics(hot(c["y_true"]), hot(c["y_pred"]), hot(c["scores"]));
    expect_vec(m.precision, c["per_label"]["precision"], "precision");
    expect_vec(m.recall, c["per_label"]["recall"], "recall");
    expect_vec(m.f1, c["per_label"]["f1"], "f1");
    struct Avg {
      const char* key;
      double p, r, f;
    };
    for (const Avg& a : {Avg{"micro", m.micro_precision, m.micro_recall, m.micro_f1},
                         Avg{"macro", m.macro_precision, m.macro_recall, m.macro_f1},
                         Avg{"weighted", m.weighted_precision, m.weighted_recall, m.weighted_f1},
                         Avg{"samples", m.samples_precision, m.samples_recall, m.samples_f1}}) {
      EXPECT_NEAR(a.p, c[a.key]["precision"].get<double>(), 1e-12) << a.key;
      EXPECT_NEAR(a.r, c[a.key]["recall"].get<double>(), 1e-12) << a.key;
      EXPECT_NEAR(a.f, c[a.key]["f1"].get<double>(), 1e-12) << a.key;
    }
    EXPECT_NEAR(m.subset_accuracy, c["subset_accuracy"].get<double>(), 1e-12);
    EXPECT_NEAR(m.hamming_loss, c["hamming_loss"].get<double>(), 1e-12);
    double sum = 0;
    int defined = 0;
    for (size_t k = 0; k < m.roc_auc.size(); ++k) {
      if (c["roc_auc"][k].is_null()) {
        EXPECT_TRUE(std::isnan(m.roc_auc[k])) << k;
        ++undefined_auc;
      } else {
        EXPECT_NEAR(m.roc_auc[k], c["roc_auc"][k].get<double>(), 1e-12) << k;
        sum += c["roc_auc"][k].get<double>();
        ++defined;
      }
    }
    EXPECT_NEAR(m.roc_auc_macro, sum / defined, 1e-12);
    const auto names = c["names"].get<std::vector<std::string>>();
    EXPECT_EQ(multilabel_report(m, names, 2), c["report_2"].get<std::string>());
    EXPECT_EQ(multilabel_report(m, names, 4), c["report_4"].get<std::string>());
  }
  EXPECT_GT(undefined_auc, 0);  // the fixture covers labels with one class
}

TEST(MultiLabelMetrics, ShapeErrorsNameTheRow) {
  EXPECT_THAT(error_of<InvalidArgument>([] {
                compute_multilabel_metrics({{1, 0}, {0, 1}}, {{1, 0}, {0}});
              }),
              ::testing::HasSubstr("row 1 of y_pred has 1 labels, expected 2"));
}

TEST(Thresholds, TuningMatchesTheDocumentedRule) {
  const auto fx = load(kDir / "metrics.json");
  bool some_not_half = false;
  for (const auto& c : fx["tuning"]) {
    const auto got = tune_thresholds(hot(c["targets"]), hot(c["scores"]));
    const auto want = c["thresholds"].get<std::vector<double>>();
    ASSERT_EQ(got.size(), want.size());
    for (size_t k = 0; k < got.size(); ++k) {
      EXPECT_NEAR(got[k], want[k], 1e-6) << k;
      some_not_half = some_not_half || std::fabs(want[k] - 0.5) > 1e-6;
    }
  }
  EXPECT_TRUE(some_not_half);
}

TEST(Thresholds, FileRoundTripAndErrors) {
  TempDir t;
  const std::vector<std::string> names = {"joy", "anger"};
  EXPECT_TRUE(read_thresholds(t.path, names).empty());
  write_thresholds(t.path, names, {0.35f, 0.6f}, "dev.tsv");
  EXPECT_EQ(read_thresholds(t.path, names), (std::vector<float>{0.35f, 0.6f}));
  EXPECT_THAT(error_of<FormatError>([&] {
                read_thresholds(t.path, {"joy", "fear"});
              }),
              ::testing::HasSubstr("no threshold for label 'fear'"));
  spit(t.path / kThresholdsFile, R"({"thresholds": {"joy": 1.5, "anger": 0.5}})");
  EXPECT_THAT(error_of<FormatError>([&] { read_thresholds(t.path, names); }), ::testing::HasSubstr("in [0, 1]"));
  // Scores strictly above the threshold pass.
  EXPECT_EQ(apply_thresholds({{0.35f, 0.61f}}, {0.35f, 0.6f}), (MultiHot{{0.f, 1.f}}));
}

TEST(MultiLabelLoss, BceWithLogitsMatchesTorch) {
  const auto fx = load(kDir / "bce.json");
  const int B = fx["B"], K = fx["K"];
  const auto z = fx["logits"].get<std::vector<float>>();
  const auto y = fx["targets"].get<std::vector<float>>();
  std::vector<float> grad(z.size());
  const float loss = bce_with_logits_forward_backward(z.data(), y.data(), B, K, grad.data());
  EXPECT_NEAR(loss, fx["loss"].get<double>(), 1e-6 * fx["loss"].get<double>());
  const auto want = fx["grad"].get<std::vector<double>>();
  for (size_t i = 0; i < grad.size(); ++i) EXPECT_NEAR(grad[i], want[i], 1e-7) << i;
}

namespace {

MultiHot read_sets(const fs::path& p, int K) {
  std::ifstream in(p);
  MultiHot out;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<float> row(static_cast<size_t>(K), 0.f);
    size_t start = 0;
    while (start < line.size()) {
      const size_t comma = line.find(',', start);
      row[static_cast<size_t>(std::stoi(line.substr(start, comma - start)))] = 1.f;
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    out.push_back(row);
  }
  return out;
}

}  // namespace

TEST(MultiLabelTrainLoop, MatchesPyTorchReferenceTrajectory) {
  TrainModel tm = load_traj_model(kSingleTraj);
  tm.config.problem_type = "multi_label_classification";
  const int K = tm.config.num_labels();
  TokenizedSplit train{read_ids(kSingleTraj / "train.jsonl"), {}, read_sets(kDir / "traj" / "train_labels.txt", K)};
  TokenizedSplit eval{read_ids(kSingleTraj / "eval.jsonl"), {}, read_sets(kDir / "traj" / "eval_labels.txt", K)};
  ASSERT_EQ(train.targets.size(), train.ids.size());
  TempDir out;
  const TrainOptions o = traj_options(out.path, kSingleTraj);
  const TrainOutcome r = train_loop(tm, train, &eval, tm.config.label_names(), o);

  std::vector<nlohmann::json> ref_steps, ref_evals;
  std::ifstream in(kDir / "traj" / "ref" / "log.jsonl");
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    (j["type"] == "step" ? ref_steps : ref_evals).push_back(j);
  }
  ASSERT_EQ(ref_steps.size(), 50u);
  ASSERT_EQ(r.steps.size(), 50u);
  for (size_t k = 0; k < r.steps.size(); ++k) {
    const double loss = ref_steps[k]["loss"].get<double>(), gn = ref_steps[k]["grad_norm"].get<double>();
    EXPECT_NEAR(r.steps[k].loss, loss, 1e-4 * loss) << "step " << k;
    EXPECT_NEAR(r.steps[k].grad_norm, gn, 1e-4 * gn) << "step " << k;
    EXPECT_EQ(r.steps[k].lr, ref_steps[k]["lr"].get<double>()) << "step " << k;
  }
  ASSERT_EQ(r.evals.size(), ref_evals.size());
  for (size_t e = 0; e < ref_evals.size(); ++e) {
    const double want = ref_evals[e]["eval_loss"].get<double>();
    EXPECT_NEAR(r.evals[e].metrics["eval_loss"].get<double>(), want, 1e-4 * want) << "epoch " << e + 1;
    EXPECT_NEAR(r.evals[e].metrics["eval_f1"].get<double>(), ref_evals[e]["f1_macro"].get<double>(), 1e-12);
    EXPECT_NEAR(r.evals[e].metrics["eval_f1_micro"].get<double>(), ref_evals[e]["f1_micro"].get<double>(), 1e-12);
    EXPECT_NEAR(r.evals[e].metrics["eval_accuracy"].get<double>(), ref_evals[e]["accuracy"].get<double>(), 1e-12);
  }
  auto ref = SafetensorsFile::open(kDir / "traj" / "ref" / "model.safetensors");
  for (const auto& p : tm.layout.params()) {
    if (p.name.find("attention.k_lin.bias") != std::string::npos) continue;  // zero true gradient (see train_loop_test)
    std::vector<float> want(p.numel);
    ref->to_float32(p.name, want.data());
    double num = 0, den = 0;
    for (size_t i = 0; i < p.numel; ++i) {
      const double d = static_cast<double>(tm.params[p.offset + i]) - want[i];
      num += d * d;
      den += static_cast<double>(want[i]) * want[i];
    }
    EXPECT_LE(std::sqrt(num), 1e-4 * std::sqrt(den)) << p.name;
  }
}
