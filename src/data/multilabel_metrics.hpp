// multilabel_metrics.hpp — multi-label classification metrics with scikit-learn's semantics.
//
// Inputs are multi-hot arrays y_true, y_pred [N][K] (0/1) and, for ROC-AUC, scores [N][K] (any
// monotone score: sigmoid probabilities or logits). Equals, with zero_division=0,
//   sklearn.metrics.precision_recall_fscore_support(y_true, y_pred, average=None | "micro" | "macro" |
//       "weighted" | "samples"),  accuracy_score (subset accuracy: the whole label set must match),
//   hamming_loss (wrong entries / (N K)), roc_auc_score(y_true, scores, average="macro"),
//   classification_report(y_true, y_pred, target_names=names, digits=d) (its text, byte for byte).
// Per label: P = tp/(tp+fp), R = tp/(tp+fn), F1 = 2PR/(P+R) (0 when a denominator is 0); support =
// the label's true count. "samples" averages the same ratios per example over examples. ROC-AUC is
// the Mann-Whitney statistic (ties count 1/2), the area under sklearn's ROC curve; sklearn raises
// for a label whose y_true column holds one class only: here such labels are left out of the macro
// mean and listed in auc_undefined (roc_auc_macro is NaN when none is defined).
//
//   MultiLabelMetrics m = compute_multilabel_metrics(y_true, y_pred, scores);
//   std::cout << multilabel_report(m, names, 2);
//   nlohmann::json j = multilabel_metrics_to_json(m, names);   // eval_f1 (macro), eval_f1_micro, ...
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace bert_emotion {

using MultiHot = std::vector<std::vector<float>>;  // [N][K], entries 0 or 1

struct MultiLabelMetrics {
  int num_labels = 0;
  int64_t total = 0;                          // examples
  std::vector<double> precision, recall, f1;  // per label [K]
  std::vector<int64_t> support, predicted;    // per label: true count, predicted count
  double micro_precision = 0, micro_recall = 0, micro_f1 = 0;
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
  double weighted_precision = 0, weighted_recall = 0, weighted_f1 = 0;
  double samples_precision = 0, samples_recall = 0, samples_f1 = 0;
  double subset_accuracy = 0;
  double hamming_loss = 0;
  std::vector<double> roc_auc;  // per label; NaN where y_true's column holds one class
  double roc_auc_macro = 0;     // mean over the defined labels; NaN if none (or no scores given)
  std::vector<int> auc_undefined;
};

// InvalidArgument for ragged or mismatched shapes (naming the row). `scores` may be empty (no AUC).
MultiLabelMetrics compute_multilabel_metrics(const MultiHot& y_true, const MultiHot& y_pred,
                                             const MultiHot& scores = {});

// sklearn's multi-label classification_report text: one row per label, then micro, macro,
// weighted and samples averages (support = the sum of label supports).
std::string multilabel_report(const MultiLabelMetrics& m, const std::vector<std::string>& names, int digits = 2);

// Trainer-style keys: {p}accuracy (subset), {p}precision/recall/f1 (macro), _micro, _weighted,
// _samples variants, {p}hamming_loss, {p}roc_auc (macro; null if undefined), and per label
// {p}{precision,recall,f1,support,roc_auc}_{name}.
nlohmann::json multilabel_metrics_to_json(const MultiLabelMetrics& m, const std::vector<std::string>& names,
                                          const std::string& prefix = "eval_");

}  // namespace bert_emotion
