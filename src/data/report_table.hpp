// report_table.hpp — the text layout of scikit-learn's classification_report, shared by the
// single-label (metrics.hpp) and multi-label (multilabel_metrics.hpp) reports; defined in
// metrics.cpp beside the padding helpers it uses.
//
// The first column fits every name, "weighted avg" and `digits`; a row is "{name:>width} " then
// " {:>9}" per value, values printed with `digits` decimals, as sklearn formats them.
//
//   ReportTable t(names, 2);            // header + blank line
//   t.row("joy", 0.5, 1.0, 0.67, 3);
//   t.blank_line();
//   t.row("macro avg", p, r, f, total);
//   std::string text = t.str();
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bert_emotion {

class ReportTable {
 public:
  ReportTable(const std::vector<std::string>& names, int digits);
  void row(const std::string& name, double precision, double recall, double f1, int64_t support);
  void accuracy_row(double accuracy, int64_t total);  // sklearn's "accuracy" line (two empty cells)
  void blank_line() { out_ += '\n'; }
  const std::string& str() const { return out_; }

 private:
  void cell(const std::string& text);
  std::string out_;
  size_t width_ = 0;
  int digits_ = 2;
};

}  // namespace bert_emotion
