// multilabel_metrics.cpp — scikit-learn's multi-label metrics and report (see multilabel_metrics.hpp).
#include "data/multilabel_metrics.hpp"

#include "data/report_table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "util/error.hpp"

namespace bert_emotion {

namespace {

double safe_div(double num, double den) { return den == 0 ? 0.0 : num / den; }
double f1_of(double p, double r) { return p + r == 0 ? 0.0 : 2 * p * r / (p + r); }

void check_shape(const MultiHot& a, size_t N, size_t K, const char* what) {
  if (a.size() != N)
    throw InvalidArgument(std::string("multi-label metrics: ") + what + " has " + std::to_string(a.size()) +
                          " rows, expected " + std::to_string(N));
  for (size_t i = 0; i < N; ++i)
    if (a[i].size() != K)
      throw InvalidArgument(std::string("multi-label metrics: row ") + std::to_string(i) + " of " + what + " has " +
                            std::to_string(a[i].size()) + " labels, expected " + std::to_string(K));
}

// Area under the ROC curve of one label: the probability that a random positive outscores a random
// negative, ties counting 1/2 (average ranks). NaN when one class is absent.
double roc_auc(const MultiHot& y_true, const MultiHot& scores, size_t k) {
  const size_t N = y_true.size();
  std::vector<size_t> idx(N);
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return scores[a][k] < scores[b][k]; });
  double pos = 0, rank_sum = 0;
  for (size_t i = 0; i < N;) {
    size_t j = i;
    while (j < N && scores[idx[j]][k] == scores[idx[i]][k]) ++j;
    const double avg_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;  // 1-based ranks i+1..j
    for (size_t t = i; t < j; ++t)
      if (y_true[idx[t]][k] > 0.5f) {
        pos += 1;
        rank_sum += avg_rank;
      }
    i = j;
  }
  const double neg = static_cast<double>(N) - pos;
  if (pos == 0 || neg == 0) return std::numeric_limits<double>::quiet_NaN();
  return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg);
}

}  // namespace

MultiLabelMetrics compute_multilabel_metrics(const MultiHot& y_true, const MultiHot& y_pred, const MultiHot& scores) {
  const size_t N = y_true.size();
  const size_t K = N ? y_true[0].size() : (y_pred.empty() ? 0 : y_pred[0].size());
  check_shape(y_true, N, K, "y_true");
  check_shape(y_pred, N, K, "y_pred");
  if (!scores.empty()) check_shape(scores, N, K, "scores");
  MultiLabelMetrics m;
  m.num_labels = static_cast<int>(K);
  m.total = static_cast<int64_t>(N);
  std::vector<int64_t> tp(K, 0);
  m.support.assign(K, 0);
  m.predicted.assign(K, 0);
  int64_t exact = 0, wrong = 0;
  double sp = 0, sr = 0, sf = 0;
  for (size_t i = 0; i < N; ++i) {
    int64_t row_tp = 0, row_true = 0, row_pred = 0;
    bool same = true;
    for (size_t k = 0; k < K; ++k) {
      const bool t = y_true[i][k] > 0.5f, p = y_pred[i][k] > 0.5f;
      row_tp += t && p;
      row_true += t;
      row_pred += p;
      tp[k] += t && p;
      m.support[k] += t;
      m.predicted[k] += p;
      if (t != p) {
        same = false;
        ++wrong;
      }
    }
    exact += same;
    const double p = safe_div(row_tp, row_pred), r = safe_div(row_tp, row_true);
    sp += p;
    sr += r;
    sf += f1_of(p, r);
  }
  m.precision.resize(K);
  m.recall.resize(K);
  m.f1.resize(K);
  int64_t tp_all = 0, true_all = 0, pred_all = 0;
  for (size_t k = 0; k < K; ++k) {
    m.precision[k] = safe_div(tp[k], m.predicted[k]);
    m.recall[k] = safe_div(tp[k], m.support[k]);
    m.f1[k] = f1_of(m.precision[k], m.recall[k]);
    m.macro_precision += m.precision[k] / K;
    m.macro_recall += m.recall[k] / K;
    m.macro_f1 += m.f1[k] / K;
    m.weighted_precision += m.precision[k] * m.support[k];
    m.weighted_recall += m.recall[k] * m.support[k];
    m.weighted_f1 += m.f1[k] * m.support[k];
    tp_all += tp[k];
    true_all += m.support[k];
    pred_all += m.predicted[k];
  }
  m.weighted_precision = safe_div(m.weighted_precision, true_all);
  m.weighted_recall = safe_div(m.weighted_recall, true_all);
  m.weighted_f1 = safe_div(m.weighted_f1, true_all);
  m.micro_precision = safe_div(tp_all, pred_all);
  m.micro_recall = safe_div(tp_all, true_all);
  m.micro_f1 = f1_of(m.micro_precision, m.micro_recall);
  m.samples_precision = safe_div(sp, N);
  m.samples_recall = safe_div(sr, N);
  m.samples_f1 = safe_div(sf, N);
  m.subset_accuracy = safe_div(exact, N);
  m.hamming_loss = safe_div(wrong, static_cast<double>(N) * K);
  m.roc_auc_macro = std::numeric_limits<double>::quiet_NaN();
  if (!scores.empty()) {
    double sum = 0;
    int defined = 0;
    for (size_t k = 0; k < K; ++k) {
      m.roc_auc.push_back(roc_auc(y_true, scores, k));
      if (std::isnan(m.roc_auc.back())) {
        m.auc_undefined.push_back(static_cast<int>(k));
      } else {
        sum += m.roc_auc.back();
        ++defined;
      }
    }
    if (defined > 0) m.roc_auc_macro = sum / defined;
  }
  return m;
}

std::string multilabel_report(const MultiLabelMetrics& m, const std::vector<std::string>& names, int digits) {
  const int K = m.num_labels;
  if (static_cast<int>(names.size()) != K)
    throw InvalidArgument("multilabel_report: " + std::to_string(names.size()) + " label names for " +
                          std::to_string(K) + " labels");
  if (digits < 0) throw InvalidArgument("multilabel_report: digits must be >= 0");
  ReportTable t(names, digits);
  int64_t support = 0;
  for (int k = 0; k < K; ++k) {
    t.row(names[k], m.precision[k], m.recall[k], m.f1[k], m.support[k]);
    support += m.support[k];
  }
  t.blank_line();
  t.row("micro avg", m.micro_precision, m.micro_recall, m.micro_f1, support);
  t.row("macro avg", m.macro_precision, m.macro_recall, m.macro_f1, support);
  t.row("weighted avg", m.weighted_precision, m.weighted_recall, m.weighted_f1, support);
  t.row("samples avg", m.samples_precision, m.samples_recall, m.samples_f1, support);
  return t.str();
}

nlohmann::json multilabel_metrics_to_json(const MultiLabelMetrics& m, const std::vector<std::string>& names,
                                          const std::string& prefix) {
  const int K = m.num_labels;
  if (static_cast<int>(names.size()) != K)
    throw InvalidArgument("multilabel_metrics_to_json: " + std::to_string(names.size()) + " label names for " +
                          std::to_string(K) + " labels");
  auto num = [](double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); };
  nlohmann::json j = nlohmann::json::object();
  j[prefix + "accuracy"] = m.subset_accuracy;
  j[prefix + "precision"] = m.macro_precision;
  j[prefix + "recall"] = m.macro_recall;
  j[prefix + "f1"] = m.macro_f1;
  j[prefix + "precision_micro"] = m.micro_precision;
  j[prefix + "recall_micro"] = m.micro_recall;
  j[prefix + "f1_micro"] = m.micro_f1;
  j[prefix + "precision_weighted"] = m.weighted_precision;
  j[prefix + "recall_weighted"] = m.weighted_recall;
  j[prefix + "f1_weighted"] = m.weighted_f1;
  j[prefix + "precision_samples"] = m.samples_precision;
  j[prefix + "recall_samples"] = m.samples_recall;
  j[prefix + "f1_samples"] = m.samples_f1;
  j[prefix + "hamming_loss"] = m.hamming_loss;
  j[prefix + "roc_auc"] = num(m.roc_auc_macro);
  for (int k = 0; k < K; ++k) {
    j[prefix + "precision_" + names[k]] = m.precision[k];
    j[prefix + "recall_" + names[k]] = m.recall[k];
    j[prefix + "f1_" + names[k]] = m.f1[k];
    j[prefix + "support_" + names[k]] = m.support[k];
    if (!m.roc_auc.empty()) j[prefix + "roc_auc_" + names[k]] = num(m.roc_auc[k]);
  }
  return j;
}

}  // namespace bert_emotion
