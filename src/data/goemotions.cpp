// goemotions.cpp — the GoEmotions TSV reader (see goemotions.hpp).
#include "data/goemotions.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>

#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace bert_emotion {
namespace fs = std::filesystem;

namespace {

// "4,27" -> {4, 27}; false on an empty list or anything but digits and commas.
bool parse_id_list(std::string_view s, std::vector<int>& ids) {
  ids.clear();
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
  if (s.empty()) return false;
  size_t start = 0;
  for (;;) {
    const size_t comma = s.find(',', start);
    const std::string_view tok =
        s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    int v = -1;
    auto [ptr, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
    if (tok.empty() || ec != std::errc() || ptr != tok.data() + tok.size() || v < 0) return false;
    ids.push_back(v);
    if (comma == std::string_view::npos) return true;
    start = comma + 1;
  }
}

}  // namespace

fs::path goemotions_split_file(const fs::path& dir, const std::string& split) {
  const std::string s = canonical_split(split);
  return dir / ((s == "val" ? std::string("dev") : s) + ".tsv");
}

bool is_goemotions_file(const fs::path& tsv) {
  std::error_code ec;
  if (!fs::is_regular_file(tsv, ec) || !fs::is_regular_file(tsv.parent_path() / "labels.txt", ec)) return false;
  std::ifstream in(tsv, std::ios::binary);
  std::string first;
  if (!std::getline(in, first)) return false;
  const size_t tab = first.find('\t');
  if (tab == std::string::npos) return false;
  const size_t tab2 = first.find('\t', tab + 1);
  std::vector<int> ids;
  return parse_id_list(
      std::string_view(first).substr(tab + 1, tab2 == std::string::npos ? std::string::npos : tab2 - tab - 1), ids);
}

Dataset load_goemotions(const fs::path& tsv, const fs::path& labels_txt, const DatasetOptions& opts) {
  const std::string source = tsv.string();
  std::vector<std::string> file_names;
  for (auto& l : split_lines(read_file(labels_txt), labels_txt.string())) {
    while (!l.empty() && (l.back() == '\r' || l.back() == ' ')) l.pop_back();
    if (!l.empty()) file_names.push_back(l);
  }
  if (file_names.empty()) throw FormatError(labels_txt.string() + ": no label names");
  if (opts.label_mode == LabelMode::Single)
    throw FormatError(source +
                      ": GoEmotions is multi-label data (one or more labels per line), but the model is "
                      "single-label (train with --problem-type multi_label_classification)");
  Dataset ds;
  ds.source = source;
  ds.multi_label = true;
  ds.label_names = reconcile_label_names(opts.label_names, file_names, labels_txt.string());
  const int K = static_cast<int>(ds.label_names.size());
  const auto lines = split_lines(read_file(tsv), source);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    const std::string at = source + ":" + std::to_string(i + 1);
    if (l.empty() || l == "\r") continue;
    const size_t tab = l.find('\t');
    if (tab == std::string::npos)
      throw FormatError(at + ": expected 'text<TAB>label ids<TAB>comment id' (no tab found)");
    const size_t tab2 = l.find('\t', tab + 1);
    LabeledText row;
    row.line = i + 1;
    row.text = l.substr(0, tab);
    if (!parse_id_list(
            std::string_view(l).substr(tab + 1, tab2 == std::string::npos ? std::string::npos : tab2 - tab - 1),
            row.labels)) {
      if (!opts.allow_missing_labels)
        throw FormatError(at + ": expected comma-separated label ids in the second field, got '" +
                          l.substr(tab + 1, tab2 == std::string::npos ? std::string::npos : tab2 - tab - 1) + "'");
      row.labels.clear();
    }
    for (int id : row.labels)
      if (id >= K)
        throw FormatError(at + ": label " + std::to_string(id) + " out of range: expected an id in [0, " +
                          std::to_string(K) + ") (" + labels_txt.string() + ")");
    std::sort(row.labels.begin(), row.labels.end());
    row.labels.erase(std::unique(row.labels.begin(), row.labels.end()), row.labels.end());
    ds.rows.push_back(std::move(row));
  }
  if (ds.rows.empty()) throw FormatError(source + ": empty dataset: no lines");
  return ds;
}

}  // namespace bert_emotion
