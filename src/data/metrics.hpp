// metrics.hpp — classification metrics with scikit-learn's semantics.
//
// Equals sklearn.metrics.precision_recall_fscore_support(y_true, y_pred, labels=range(K),
// zero_division=0) for average=None / "macro" / "weighted" / "micro", plus accuracy and the
// confusion matrix (rows = true label, columns = predicted). The label set is fixed to 0..K-1
// (the model's id2label), so a class absent from both y_true and y_pred still counts in the macro
// average with zeros — as sklearn does when `labels` is passed. Per class, from counts:
//   precision = tp / (tp + fp), recall = tp / (tp + fn), F1 = 2tp / (2tp + fn + fp),
// each 0 when its denominator is 0 (zero_division=0). Micro = accuracy for single-label data.
// classification_report() reproduces sklearn's text layout byte for byte; metrics_to_json() gives
// the Trainer-style keys (eval_accuracy, eval_f1 = macro F1, eval_f1_weighted, eval_f1_micro, ...).
//
//   ClassificationMetrics m = compute_metrics({0, 1, 2, 2}, {0, 2, 2, 2}, 4);
//   std::cout << classification_report(m, {"anger", "joy", "optimism", "sadness"});
//   nlohmann::json j = metrics_to_json(m, names);   // j["eval_f1"], j["eval_accuracy"], ...
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace bert_emotion {

struct ClassificationMetrics {
  int num_labels = 0;
  int64_t total = 0;                            // number of examples
  std::vector<double> precision, recall, f1;    // per class [K]
  std::vector<int64_t> support;                 // per class: true count (tp + fn)
  std::vector<int64_t> predicted;               // per class: predicted count (tp + fp)
  std::vector<int64_t> true_positives;          // per class
  std::vector<std::vector<int64_t>> confusion;  // [true][pred], K x K
  double accuracy = 0;
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
  double weighted_precision = 0, weighted_recall = 0, weighted_f1 = 0;
  double micro_precision = 0, micro_recall = 0, micro_f1 = 0;
};

// y_true and y_pred must have the same length and hold ids in [0, num_labels); otherwise
// InvalidArgument naming the index. Empty input gives all-zero metrics.
ClassificationMetrics compute_metrics(const std::vector<int>& y_true, const std::vector<int>& y_pred, int num_labels);

// sklearn.metrics.classification_report(y_true, y_pred, labels=range(K), target_names=names,
// digits=digits, zero_division=0) text. The "accuracy" row is printed when every label 0..K-1
// occurs in y_true or y_pred (sklearn's micro_is_accuracy); otherwise a "micro avg" row.
std::string classification_report(const ClassificationMetrics& m, const std::vector<std::string>& names,
                                  int digits = 2);

// The confusion matrix as a text table with label names (rows = true, columns = predicted).
std::string confusion_matrix_text(const ClassificationMetrics& m, const std::vector<std::string>& names);

// Trainer-style flat keys: {prefix}accuracy, {prefix}precision / recall / f1 (macro),
// {prefix}{precision,recall,f1}_weighted, {prefix}{precision,recall,f1}_micro,
// {prefix}{precision,recall,f1,support}_{name} per class, {prefix}confusion_matrix ([K][K]).
nlohmann::json metrics_to_json(const ClassificationMetrics& m, const std::vector<std::string>& names,
                               const std::string& prefix = "eval_");

}  // namespace bert_emotion
