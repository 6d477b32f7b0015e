// dataset_invariants.hpp — what every row a dataset reader returns must satisfy, for the fuzz
// targets of those readers: a single-label row has one id in the label space (-1 only when missing
// labels are allowed); a multi-label row has label -1 and a sorted, duplicate-free set of ids in it.
//
//   for (const LabeledText& row : ds.rows) FUZZ_CHECK(fuzz::label_in_range(ds, row, allow_missing));
#pragma once

#include <algorithm>

#include "data/dataset.hpp"

namespace fuzz {

inline bool label_in_range(const bert_emotion::Dataset& ds, const bert_emotion::LabeledText& row, bool allow_missing) {
  const int n = static_cast<int>(ds.label_names.size());
  if (!ds.multi_label) return row.label >= (allow_missing ? -1 : 0) && row.label < n && row.labels.empty();
  if (row.label != -1) return false;
  if (!std::is_sorted(row.labels.begin(), row.labels.end())) return false;
  if (std::adjacent_find(row.labels.begin(), row.labels.end()) != row.labels.end()) return false;
  return std::all_of(row.labels.begin(), row.labels.end(), [n](int id) { return id >= 0 && id < n; });
}

}  // namespace fuzz
