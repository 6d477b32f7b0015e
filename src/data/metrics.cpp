// metrics.cpp — precision/recall/F1/accuracy/confusion matrix and sklearn's classification_report.
#include "data/metrics.hpp"

#include "data/report_table.hpp"

#include <algorithm>
#include <cstdio>

#include "util/error.hpp"

namespace bert_emotion {

namespace {

double safe_div(double num, double den) { return den == 0 ? 0.0 : num / den; }

// Python's "{:>{width}s}" / "{:>9}" for ASCII-or-UTF-8 text: right-aligned by code points.
std::string pad_left(const std::string& s, size_t width) {
  size_t cps = 0;
  for (unsigned char c : s) cps += (c & 0xC0) != 0x80;
  return cps >= width ? s : std::string(width - cps, ' ') + s;
}

size_t code_points(const std::string& s) {
  size_t cps = 0;
  for (unsigned char c : s) cps += (c & 0xC0) != 0x80;
  return cps;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

ClassificationMetrics compute_metrics(const std::vector<int>& y_true, const std::vector<int>& y_pred, int num_labels) {
  if (num_labels < 1)
    throw InvalidArgument("compute_metrics: num_labels must be >= 1, got " + std::to_string(num_labels));
  if (y_true.size() != y_pred.size())
    throw InvalidArgument("compute_metrics: " + std::to_string(y_true.size()) + " gold labels but " +
                          std::to_string(y_pred.size()) + " predictions");
  const int K = num_labels;
  ClassificationMetrics m;
  m.num_labels = K;
  m.total = static_cast<int64_t>(y_true.size());
  m.confusion.assign(K, std::vector<int64_t>(K, 0));
  for (size_t i = 0; i < y_true.size(); ++i) {
    if (y_true[i] < 0 || y_true[i] >= K)
      throw InvalidArgument("compute_metrics: gold label " + std::to_string(y_true[i]) + " at index " +
                            std::to_string(i) + " is outside [0, " + std::to_string(K) + ")");
    if (y_pred[i] < 0 || y_pred[i] >= K)
      throw InvalidArgument("compute_metrics: prediction " + std::to_string(y_pred[i]) + " at index " +
                            std::to_string(i) + " is outside [0, " + std::to_string(K) + ")");
    m.confusion[y_true[i]][y_pred[i]] += 1;
  }
  m.precision.assign(K, 0);
  m.recall.assign(K, 0);
  m.f1.assign(K, 0);
  m.support.assign(K, 0);
  m.predicted.assign(K, 0);
  m.true_positives.assign(K, 0);
  int64_t tp_sum = 0;
  for (int k = 0; k < K; ++k) {
    for (int j = 0; j < K; ++j) {
      m.support[k] += m.confusion[k][j];
      m.predicted[k] += m.confusion[j][k];
    }
    const int64_t tp = m.confusion[k][k];
    const int64_t fp = m.predicted[k] - tp, fn = m.support[k] - tp;
    m.true_positives[k] = tp;
    tp_sum += tp;
    m.precision[k] = safe_div(tp, tp + fp);
    m.recall[k] = safe_div(tp, tp + fn);
    // sklearn computes F from counts (not from rounded P and R): 2tp / (2tp + fn + fp).
    m.f1[k] = safe_div(2.0 * tp, 2.0 * tp + fn + fp);
  }
  // Averages: numpy sums left to right, then divides (np.average = sum(w*x)/sum(w)).
  double sp = 0, sr = 0, sf = 0, wp = 0, wr = 0, wf = 0;
  for (int k = 0; k < K; ++k) {
    sp += m.precision[k];
    sr += m.recall[k];
    sf += m.f1[k];
    wp += m.precision[k] * m.support[k];
    wr += m.recall[k] * m.support[k];
    wf += m.f1[k] * m.support[k];
  }
  m.macro_precision = sp / K;
  m.macro_recall = sr / K;
  m.macro_f1 = sf / K;
  m.weighted_precision = safe_div(wp, m.total);
  m.weighted_recall = safe_div(wr, m.total);
  m.weighted_f1 = safe_div(wf, m.total);
  // Micro: every example is predicted exactly once, so summed pred = summed true = N.
  m.micro_precision = safe_div(tp_sum, m.total);
  m.micro_recall = safe_div(tp_sum, m.total);
  m.micro_f1 = safe_div(2.0 * tp_sum, 2.0 * tp_sum + (m.total - tp_sum) + (m.total - tp_sum));
  m.accuracy = safe_div(tp_sum, m.total);
  return m;
}

std::string classification_report(const ClassificationMetrics& m, const std::vector<std::string>& names, int digits) {
  const int K = m.num_labels;
  if (static_cast<int>(names.size()) != K)
    throw InvalidArgument("classification_report: " + std::to_string(names.size()) + " label names for " +
                          std::to_string(K) + " labels");
  if (digits < 0) throw InvalidArgument("classification_report: digits must be >= 0");
  ReportTable t(names, digits);
  for (int k = 0; k < K; ++k) t.row(names[k], m.precision[k], m.recall[k], m.f1[k], m.support[k]);
  t.blank_line();
  // micro_is_accuracy: labels given (0..K-1) must equal the labels present in y_true or y_pred.
  bool all_present = true;
  for (int k = 0; k < K; ++k) all_present = all_present && (m.support[k] + m.predicted[k] > 0);
  if (all_present) t.accuracy_row(m.accuracy, m.total);
  else t.row("micro avg", m.micro_precision, m.micro_recall, m.micro_f1, m.total);
  t.row("macro avg", m.macro_precision, m.macro_recall, m.macro_f1, m.total);
  t.row("weighted avg", m.weighted_precision, m.weighted_recall, m.weighted_f1, m.total);
  return t.str();
}

ReportTable::ReportTable(const std::vector<std::string>& names, int digits) : digits_(digits) {
  width_ = std::string("weighted avg").size();
  for (const auto& n : names) width_ = std::max(width_, code_points(n));
  width_ = std::max(width_, static_cast<size_t>(digits));
  // sklearn: head_fmt = "{:>{width}s} " + " {:>9}" * 4, then "\n\n".
  out_ = std::string(width_, ' ') + " ";
  for (const char* h : {"precision", "recall", "f1-score", "support"}) cell(h);
  out_ += "\n\n";
}

// Appended piecewise: `" " + std::string` trips GCC 12's -Wrestrict false positive.
void ReportTable::cell(const std::string& text) {
  out_ += ' ';
  out_ += pad_left(text, 9);
}

void ReportTable::row(const std::string& name, double precision, double recall, double f1, int64_t support) {
  out_ += pad_left(name, width_);
  out_ += ' ';
  for (double v : {precision, recall, f1}) cell(fixed(v, digits_));
  cell(std::to_string(support));
  out_ += '\n';
}

void ReportTable::accuracy_row(double accuracy, int64_t total) {
  out_ += pad_left("accuracy", width_);
  out_ += ' ';
  cell("");
  cell("");
  cell(fixed(accuracy, digits_));
  cell(std::to_string(total));
  out_ += '\n';
}

std::string confusion_matrix_text(const ClassificationMetrics& m, const std::vector<std::string>& names) {
  const int K = m.num_labels;
  if (static_cast<int>(names.size()) != K)
    throw InvalidArgument("confusion_matrix_text: " + std::to_string(names.size()) + " label names for " +
                          std::to_string(K) + " labels");
  const std::string corner = "true \\ pred";
  size_t row_w = corner.size();
  for (const auto& n : names) row_w = std::max(row_w, code_points(n));
  std::vector<size_t> col_w(K);
  for (int j = 0; j < K; ++j) {
    col_w[j] = code_points(names[j]);
    for (int i = 0; i < K; ++i) col_w[j] = std::max(col_w[j], std::to_string(m.confusion[i][j]).size());
  }
  auto left = [](const std::string& s, size_t w) { return s + std::string(w - std::min(w, code_points(s)), ' '); };
  std::string out = left(corner, row_w);
  for (int j = 0; j < K; ++j) out += "  " + pad_left(names[j], col_w[j]);
  out += "\n";
  for (int i = 0; i < K; ++i) {
    out += left(names[i], row_w);
    for (int j = 0; j < K; ++j) out += "  " + pad_left(std::to_string(m.confusion[i][j]), col_w[j]);
    out += "\n";
  }
  return out;
}

nlohmann::json metrics_to_json(const ClassificationMetrics& m, const std::vector<std::string>& names,
                               const std::string& prefix) {
  const int K = m.num_labels;
  if (static_cast<int>(names.size()) != K)
    throw InvalidArgument("metrics_to_json: " + std::to_string(names.size()) + " label names for " + std::to_string(K) +
                          " labels");
  nlohmann::json j = nlohmann::json::object();
  j[prefix + "accuracy"] = m.accuracy;
  j[prefix + "precision"] = m.macro_precision;
  j[prefix + "recall"] = m.macro_recall;
  j[prefix + "f1"] = m.macro_f1;
  j[prefix + "precision_weighted"] = m.weighted_precision;
  j[prefix + "recall_weighted"] = m.weighted_recall;
  j[prefix + "f1_weighted"] = m.weighted_f1;
  j[prefix + "precision_micro"] = m.micro_precision;
  j[prefix + "recall_micro"] = m.micro_recall;
  j[prefix + "f1_micro"] = m.micro_f1;
  for (int k = 0; k < K; ++k) {
    j[prefix + "precision_" + names[k]] = m.precision[k];
    j[prefix + "recall_" + names[k]] = m.recall[k];
    j[prefix + "f1_" + names[k]] = m.f1[k];
    j[prefix + "support_" + names[k]] = m.support[k];
  }
  j[prefix + "confusion_matrix"] = m.confusion;
  return j;
}

}  // namespace bert_emotion
