// metrics_test.cpp — compute_metrics / classification_report / metrics_to_json against
// hand-derived values with scikit-learn's semantics (labels=range(K), zero_division=0).
#include <gtest/gtest.h>

#include <filesystem>

#include "data/metrics.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

using namespace bert_emotion;

namespace {

// The example of sklearn's classification_report docstring:
//   y_true = [0, 1, 2, 2, 2], y_pred = [0, 0, 2, 2, 1]
// class 0: predicted at 0,1 -> tp 1, fp 1, fn 0: P 1/2, R 1/1, F 2/(2+0+1) = 2/3
// class 1: predicted at 4 (gold 2) -> tp 0, fp 1, fn 1: P 0, R 0, F 0
// class 2: predicted at 2,3 -> tp 2, fp 0, fn 1: P 1, R 2/3, F 4/(4+1+0) = 4/5
// accuracy 3/5; macro P (1/2+0+1)/3 = 1/2, R (1+0+2/3)/3 = 5/9, F (2/3+0+4/5)/3 = 22/45
// weighted (supports 1,1,3): P (1/2+0+3)/5 = 7/10, R (1+0+2)/5 = 3/5, F (2/3+0+12/5)/5 = 46/75
const std::vector<int> kDocTrue = {0, 1, 2, 2, 2};
const std::vector<int> kDocPred = {0, 0, 2, 2, 1};

}  // namespace

TEST(Metrics, SklearnDocstringExampleValues) {
  auto m = compute_metrics(kDocTrue, kDocPred, 3);
  EXPECT_EQ(m.total, 5);
  EXPECT_DOUBLE_EQ(m.precision[0], 0.5);
  EXPECT_DOUBLE_EQ(m.recall[0], 1.0);
  EXPECT_DOUBLE_EQ(m.f1[0], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.precision[1], 0.0);
  EXPECT_DOUBLE_EQ(m.recall[1], 0.0);
  EXPECT_DOUBLE_EQ(m.f1[1], 0.0);
  EXPECT_DOUBLE_EQ(m.precision[2], 1.0);
  EXPECT_DOUBLE_EQ(m.recall[2], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.f1[2], 0.8);
  EXPECT_EQ(m.support, (std::vector<int64_t>{1, 1, 3}));
  EXPECT_EQ(m.predicted, (std::vector<int64_t>{2, 1, 2}));
  EXPECT_DOUBLE_EQ(m.accuracy, 0.6);
  EXPECT_DOUBLE_EQ(m.macro_precision, 0.5);
  EXPECT_DOUBLE_EQ(m.macro_recall, 5.0 / 9.0);
  EXPECT_DOUBLE_EQ(m.macro_f1, 22.0 / 45.0);
  EXPECT_DOUBLE_EQ(m.weighted_precision, 0.7);
  EXPECT_DOUBLE_EQ(m.weighted_recall, 0.6);
  EXPECT_NEAR(m.weighted_f1, 46.0 / 75.0, 1e-15);
  // Micro = accuracy for single-label data.
  EXPECT_DOUBLE_EQ(m.micro_precision, 0.6);
  EXPECT_DOUBLE_EQ(m.micro_recall, 0.6);
  EXPECT_DOUBLE_EQ(m.micro_f1, 0.6);
  // Confusion matrix: rows = true, cols = predicted.
  std::vector<std::vector<int64_t>> cm = {{1, 0, 0}, {1, 0, 0}, {0, 1, 2}};
  EXPECT_EQ(m.confusion, cm);
}

TEST(Metrics, SklearnDocstringExampleReportLayout) {
  auto m = compute_metrics(kDocTrue, kDocPred, 3);
  // As printed by sklearn's docstring example (target_names class 0..2, digits=2); width = 12
  // (len("weighted avg")), numbers right-aligned in 9 columns after a space.
  const std::string expected =
      "              precision    recall  f1-score   support\n"
      "\n"
      "     class 0       0.50      1.00      0.67         1\n"
      "     class 1       0.00      0.00      0.00         1\n"
      "     class 2       1.00      0.67      0.80         3\n"
      "\n"
      "    accuracy                           0.60         5\n"
      "   macro avg       0.50      0.56      0.49         5\n"
      "weighted avg       0.70      0.60      0.61         5\n";
  EXPECT_EQ(classification_report(m, {"class 0", "class 1", "class 2"}), expected);
}

TEST(Metrics, ReportWidthFollowsLongestNameAndDigits) {
  auto m = compute_metrics(kDocTrue, kDocPred, 3);
  // Longest name 15 > 12 sets the width; digits=4 gives 4 decimals (2/3 -> 0.6667, 5/9 -> 0.5556,
  // 22/45 = 0.48888.. -> 0.4889, 46/75 = 0.61333.. -> 0.6133).
  const std::string expected =
      "                 precision    recall  f1-score   support\n"
      "\n"
      "              a     0.5000    1.0000    0.6667         1\n"
      "a-very-long-one     0.0000    0.0000    0.0000         1\n"
      "              c     1.0000    0.6667    0.8000         3\n"
      "\n"
      "       accuracy                         0.6000         5\n"
      "      macro avg     0.5000    0.5556    0.4889         5\n"
      "   weighted avg     0.7000    0.6000    0.6133         5\n";
  EXPECT_EQ(classification_report(m, {"a", "a-very-long-one", "c"}, 4), expected);
}

TEST(Metrics, ClassAbsentFromBothGivesMicroAvgRowAndCountsInMacro) {
  // labels=[0,1,2] but only 0 and 1 occur: sklearn's micro_is_accuracy is false (labels given
  // differ from the present set) so it prints "micro avg"; class 2 has P=R=F=0, support 0 and
  // still counts in the macro mean: (1+1+0)/3 = 0.67.
  auto m = compute_metrics({0, 0, 1}, {0, 0, 1}, 3);
  EXPECT_DOUBLE_EQ(m.macro_f1, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.weighted_f1, 1.0);
  EXPECT_DOUBLE_EQ(m.accuracy, 1.0);
  const std::string expected =
      "              precision    recall  f1-score   support\n"
      "\n"
      "           a       1.00      1.00      1.00         2\n"
      "           b       1.00      1.00      1.00         1\n"
      "           c       0.00      0.00      0.00         0\n"
      "\n"
      "   micro avg       1.00      1.00      1.00         3\n"
      "   macro avg       0.67      0.67      0.67         3\n"
      "weighted avg       1.00      1.00      1.00         3\n";
  EXPECT_EQ(classification_report(m, {"a", "b", "c"}), expected);
}

TEST(Metrics, ClassNeverPredicted) {
  // Class 1 never predicted: precision 0/0 -> 0 (zero_division=0), recall 0/2 = 0, F 0.
  // Class 0: tp 2, fp 2 -> P 1/2, R 1, F 4/(4+0+2) = 2/3.
  auto m = compute_metrics({0, 0, 1, 1}, {0, 0, 0, 0}, 2);
  EXPECT_DOUBLE_EQ(m.precision[1], 0.0);
  EXPECT_DOUBLE_EQ(m.recall[1], 0.0);
  EXPECT_DOUBLE_EQ(m.f1[1], 0.0);
  EXPECT_DOUBLE_EQ(m.precision[0], 0.5);
  EXPECT_DOUBLE_EQ(m.f1[0], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.macro_precision, 0.25);
  EXPECT_DOUBLE_EQ(m.macro_f1, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.weighted_precision, 0.25);  // (0.5*2 + 0*2)/4
  EXPECT_DOUBLE_EQ(m.accuracy, 0.5);
}

TEST(Metrics, ClassAbsentFromGoldButPredicted) {
  // Class 2 has no gold example but is predicted once: recall 0/0 -> 0, precision 0/1 = 0.
  // It is present (predicted), so sklearn prints an "accuracy" row.
  auto m = compute_metrics({0, 1, 1}, {0, 1, 2}, 3);
  EXPECT_EQ(m.support[2], 0);
  EXPECT_EQ(m.predicted[2], 1);
  EXPECT_DOUBLE_EQ(m.recall[2], 0.0);
  EXPECT_DOUBLE_EQ(m.precision[2], 0.0);
  EXPECT_DOUBLE_EQ(m.f1[1], 2.0 / 3.0);  // tp 1, fn 1, fp 0
  EXPECT_DOUBLE_EQ(m.macro_f1, (1.0 + 2.0 / 3.0 + 0.0) / 3.0);
  EXPECT_DOUBLE_EQ(m.weighted_f1, (1.0 * 1 + 2.0 / 3.0 * 2) / 3.0);
  auto report = classification_report(m, {"x", "y", "z"});
  EXPECT_NE(report.find("    accuracy                           0.67         3\n"), std::string::npos) << report;
  EXPECT_EQ(report.find("micro avg"), std::string::npos);
}

TEST(Metrics, AllCorrect) {
  auto m = compute_metrics({3, 0, 1, 2, 2}, {3, 0, 1, 2, 2}, 4);
  for (int k = 0; k < 4; ++k) {
    EXPECT_DOUBLE_EQ(m.precision[k], 1.0);
    EXPECT_DOUBLE_EQ(m.recall[k], 1.0);
    EXPECT_DOUBLE_EQ(m.f1[k], 1.0);
  }
  EXPECT_DOUBLE_EQ(m.macro_f1, 1.0);
  EXPECT_DOUBLE_EQ(m.weighted_f1, 1.0);
  EXPECT_DOUBLE_EQ(m.accuracy, 1.0);
}

TEST(Metrics, WeightedAveragesUseSupportNotPerClassPR) {
  // Weighted F is the support-weighted mean of per-class F, not the F of weighted P and R
  // (which would be 2*(5/6)*(1/2)/(5/6+1/2) = 5/8 here). true [0,0,0,1], pred [0,1,1,1]: class 0 P 1, R 1/3, F 2/(2+2+0) = 1/2; class 1 P 1/3, R 1,
  // F 2/(2+0+2) = 1/2. Weighted (3,1): P (3+1/3)/4 = 5/6, R (1+1)/4 = 1/2, F 1/2.
  auto m = compute_metrics({0, 0, 0, 1}, {0, 1, 1, 1}, 2);
  EXPECT_DOUBLE_EQ(m.weighted_precision, 5.0 / 6.0);
  EXPECT_DOUBLE_EQ(m.weighted_recall, 0.5);
  EXPECT_DOUBLE_EQ(m.weighted_f1, 0.5);
}

TEST(Metrics, RoundingHalfToEvenLikePythonFormat) {
  // Precision 1/8 = 0.125 exactly; Python's format(0.125, ".2f") gives "0.12" (exact binary
  // value, ties to even), and 3/8 = 0.375 gives "0.38".
  std::vector<int> y_true(8, 1), y_pred(8, 0);
  y_true[0] = 0;  // class 0: predicted 8 times, 1 correct -> P = 1/8, F = 2/(2+0+7) = 0.22
  auto m = compute_metrics(y_true, y_pred, 2);
  EXPECT_DOUBLE_EQ(m.precision[0], 0.125);
  auto report = classification_report(m, {"a", "b"});
  EXPECT_NE(report.find("           a       0.12      1.00      0.22         1\n"), std::string::npos) << report;
  std::vector<int> t2 = {0, 0, 0, 1, 1, 1, 1, 1}, p2 = {0, 0, 0, 0, 0, 0, 0, 0};
  auto m2 = compute_metrics(t2, p2, 2);
  EXPECT_DOUBLE_EQ(m2.precision[0], 0.375);
  EXPECT_NE(classification_report(m2, {"a", "b"}).find("0.38"), std::string::npos);
}

TEST(Metrics, JsonKeysTrainerStyle) {
  auto m = compute_metrics(kDocTrue, kDocPred, 3);
  auto j = metrics_to_json(m, {"anger", "joy", "optimism"});
  EXPECT_DOUBLE_EQ(j.at("eval_accuracy").get<double>(), 0.6);
  EXPECT_DOUBLE_EQ(j.at("eval_f1").get<double>(), 22.0 / 45.0);
  EXPECT_DOUBLE_EQ(j.at("eval_precision").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j.at("eval_recall").get<double>(), 5.0 / 9.0);
  EXPECT_DOUBLE_EQ(j.at("eval_precision_weighted").get<double>(), 0.7);
  EXPECT_DOUBLE_EQ(j.at("eval_f1_micro").get<double>(), 0.6);
  EXPECT_DOUBLE_EQ(j.at("eval_f1_optimism").get<double>(), 0.8);
  EXPECT_EQ(j.at("eval_support_optimism").get<int>(), 3);
  EXPECT_EQ(j.at("eval_confusion_matrix")[2][1].get<int>(), 1);
  auto t = metrics_to_json(m, {"a", "b", "c"}, "test_");
  EXPECT_TRUE(t.contains("test_f1_weighted"));
  EXPECT_FALSE(t.contains("eval_f1"));
}

TEST(Metrics, ConfusionMatrixTextNamesRowsAndColumns) {
  auto m = compute_metrics(kDocTrue, kDocPred, 3);
  const std::string expected =
      "true \\ pred  a  bb  c\n"
      "a            1   0  0\n"
      "bb           1   0  0\n"
      "c            0   1  2\n";
  EXPECT_EQ(confusion_matrix_text(m, {"a", "bb", "c"}), expected);
}

TEST(Metrics, RejectsBadInput) {
  EXPECT_THROW(compute_metrics({0, 1}, {0}, 2), InvalidArgument);
  EXPECT_THROW(compute_metrics({0, 2}, {0, 1}, 2), InvalidArgument);
  EXPECT_THROW(compute_metrics({0, 1}, {0, -1}, 2), InvalidArgument);
  auto m = compute_metrics({0}, {0}, 2);
  EXPECT_THROW(classification_report(m, {"only one"}), InvalidArgument);
}

TEST(Metrics, EmptyInputIsAllZero) {
  auto m = compute_metrics({}, {}, 2);
  EXPECT_EQ(m.total, 0);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.0);
  EXPECT_DOUBLE_EQ(m.macro_f1, 0.0);
  EXPECT_DOUBLE_EQ(m.weighted_f1, 0.0);
}

TEST(Metrics, MatchesReferenceImplementationOnRandomCases) {
  // tests/fixtures/data/metrics_reference.json: tools/make_metric_fixtures.py, metrics by
  // ../shared/reference/train.py (sklearn semantics; F1 there is 2PR/(P+R), equal up to rounding).
  auto j = nlohmann::json::parse(read_file(std::filesystem::path(FIXTURES_DIR) / "data" / "metrics_reference.json"));
  ASSERT_GE(j["cases"].size(), 4u);
  for (const auto& c : j["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const int K = c["num_labels"].get<int>();
    auto m = compute_metrics(c["y_true"].get<std::vector<int>>(), c["y_pred"].get<std::vector<int>>(), K);
    const auto& e = c["expected"];
    EXPECT_NEAR(m.accuracy, e["accuracy"].get<double>(), 1e-12);
    EXPECT_NEAR(m.macro_precision, e["precision_macro"].get<double>(), 1e-12);
    EXPECT_NEAR(m.macro_recall, e["recall_macro"].get<double>(), 1e-12);
    EXPECT_NEAR(m.macro_f1, e["f1_macro"].get<double>(), 1e-12);
    EXPECT_NEAR(m.weighted_precision, e["precision_weighted"].get<double>(), 1e-12);
    EXPECT_NEAR(m.weighted_recall, e["recall_weighted"].get<double>(), 1e-12);
    EXPECT_NEAR(m.weighted_f1, e["f1_weighted"].get<double>(), 1e-12);
    for (int k = 0; k < K; ++k) {
      const auto& pc = e["per_class"][std::to_string(k)];
      EXPECT_NEAR(m.precision[k], pc["precision"].get<double>(), 1e-12) << k;
      EXPECT_NEAR(m.recall[k], pc["recall"].get<double>(), 1e-12) << k;
      EXPECT_NEAR(m.f1[k], pc["f1"].get<double>(), 1e-12) << k;
      EXPECT_EQ(m.support[k], pc["support"].get<int64_t>()) << k;
    }
  }
}
