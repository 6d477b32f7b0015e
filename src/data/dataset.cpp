// dataset.cpp — TweetEval, CSV/TSV and JSONL readers (see dataset.hpp for the formats and rules).
#include "data/dataset.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "data/goemotions.hpp"
#include "tokenizer/unicode.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace bert_emotion {
namespace fs = std::filesystem;

namespace {

void check_utf8(std::string_view text, const std::string& source, size_t line) {
  const size_t bad = unicode::find_invalid_utf8(text);
  if (bad != std::string_view::npos)
    throw Utf8Error(invalid_utf8_message(text, bad, source + ":" + std::to_string(line), line == 1), bad);
}

std::string where(const std::string& source, size_t line) { return source + ":" + std::to_string(line); }

// Strips ASCII spaces, tabs and a "\r" from both ends (for label and mapping fields, not texts).
std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

bool parse_nonnegative_int(const std::string& s, int& out) {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc() && ptr == end && out >= 0;
}

bool is_generic_names(const std::vector<std::string>& names) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] != "LABEL_" + std::to_string(i)) return false;
  return true;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
  return s;
}

// A label as read from a file, before the label space is known. A list ("2,7", [2, 7]) keeps its
// members in `items` (each a scalar RawLabel).
struct RawLabel {
  std::string value;
  bool present = true;
  bool json_integer = false;  // a JSON number (not a string): always an id
  int64_t json_value = 0;
  bool is_list = false;
  std::vector<RawLabel> items;
};

// A label field of a text format: "2,7" is a list of two labels, anything else one label.
RawLabel raw_label_from_text(const std::string& field) {
  RawLabel lab;
  lab.value = trim(field);
  lab.present = !lab.value.empty();
  if (lab.value.find(',') == std::string::npos) return lab;
  lab.is_list = true;
  size_t start = 0;
  for (;;) {
    const size_t comma = lab.value.find(',', start);
    RawLabel item;
    item.value =
        trim(std::string_view(lab.value).substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!item.value.empty()) lab.items.push_back(std::move(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return lab;
}

std::string describe_raw(const RawLabel& r) { return r.json_integer ? std::to_string(r.json_value) : r.value; }

// Whether the rows make a multi-label dataset (see LabelMode); throws for a list under Single.
bool decide_multi_label(const Dataset& ds, const std::vector<RawLabel>& raw, LabelMode mode,
                        const std::string& source) {
  if (mode == LabelMode::Multi) return true;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (!raw[i].is_list) continue;
    if (mode == LabelMode::Single)
      throw FormatError(where(source, ds.rows[i].line) + ": label '" + describe_raw(raw[i]) +
                        "' holds several labels: this is multi-label data, but the model is single-label "
                        "(train with --problem-type multi_label_classification)");
    return true;
  }
  return false;
}

// One scalar label to an id of `names`; -1 if it is neither a name nor an id in range.
int scalar_label_id(const RawLabel& r, const std::vector<std::string>& names, bool by_name_only) {
  if (r.json_integer)
    return r.json_value >= 0 && r.json_value < static_cast<int64_t>(names.size()) ? static_cast<int>(r.json_value) : -1;
  if (by_name_only) {
    auto it = std::lower_bound(names.begin(), names.end(), r.value);
    return it != names.end() && *it == r.value ? static_cast<int>(it - names.begin()) : -1;
  }
  return resolve_label(r.value, names);
}

[[noreturn]] void throw_bad_label(const RawLabel& r, const std::vector<std::string>& names, const std::string& at) {
  int as_int;
  if (r.json_integer || parse_nonnegative_int(r.value, as_int))
    throw FormatError(at + ": label " + describe_raw(r) + " out of range: expected an id in [0, " +
                      std::to_string(names.size()) + ")" + (r.json_integer ? "" : " or one of: " + join_names(names)));
  throw FormatError(at + ": unknown label '" + r.value + "': expected one of: " + join_names(names) +
                    " or an id in [0, " + std::to_string(names.size()) + ")");
}

// Turns raw labels into ids, choosing the label space (see dataset.hpp). `lines` are for errors.
void resolve_labels(Dataset& ds, const std::vector<RawLabel>& raw, const DatasetOptions& opts,
                    const std::string& source) {
  ds.multi_label = decide_multi_label(ds, raw, opts.label_mode, source);
  // Every scalar label, list members included: they share one label space.
  std::vector<const RawLabel*> scalars;
  for (const auto& r : raw) {
    if (!r.present) continue;
    if (r.is_list)
      for (const auto& item : r.items) scalars.push_back(&item);
    else scalars.push_back(&r);
  }
  const auto& given = opts.label_names;
  std::vector<std::string> names = given;
  if (names.empty()) {
    bool all_int = true;
    int max_id = -1;
    std::set<std::string> distinct;
    for (const RawLabel* r : scalars) {
      int id;
      if (r->json_integer) {
        if (r->json_value < 0 || r->json_value > 1'000'000) all_int = false;
        else max_id = std::max(max_id, static_cast<int>(r->json_value));
      } else if (parse_nonnegative_int(r->value, id) && id <= 1'000'000) {  // same bound as JSON ids: one
        max_id = std::max(max_id, id);  // label "1888888888" must not create 1.9e9 LABEL_ names (fuzzer)
      } else {
        all_int = false;
      }
      distinct.insert(describe_raw(*r));
    }
    if (all_int) {
      for (int i = 0; i <= max_id; ++i) names.push_back("LABEL_" + std::to_string(i));
    } else {
      names.assign(distinct.begin(), distinct.end());
    }
  }
  ds.label_names = names;
  const bool by_name_only = given.empty() && !names.empty() && !is_generic_names(names);
  for (size_t i = 0; i < raw.size(); ++i) {
    auto& row = ds.rows[i];
    const auto& r = raw[i];
    const std::string at = where(source, row.line);
    row.label = -1;
    if (!r.present) {
      if (!opts.allow_missing_labels)
        throw FormatError(at + ": missing label (column/key '" + opts.label_column + "')");
      continue;
    }
    if (!ds.multi_label) {
      row.label = scalar_label_id(r, names, by_name_only);
      if (row.label < 0) throw_bad_label(r, names, at);
      continue;
    }
    std::vector<const RawLabel*> members;
    if (r.is_list)
      for (const auto& item : r.items) members.push_back(&item);
    else members.push_back(&r);
    for (const RawLabel* m : members) {
      const int id = scalar_label_id(*m, names, by_name_only);
      if (id < 0) throw_bad_label(*m, names, at);
      row.labels.push_back(id);
    }
    std::sort(row.labels.begin(), row.labels.end());
    row.labels.erase(std::unique(row.labels.begin(), row.labels.end()), row.labels.end());
  }
}

// ---- CSV / TSV (RFC 4180) ----

}  // namespace

std::vector<CsvRecord> parse_csv(const std::string& data, char delim, const std::string& source) {
  std::vector<CsvRecord> records;
  size_t i = 0, n = data.size(), line = 1;
  if (n >= 3 && data.compare(0, 3, "\xEF\xBB\xBF") == 0) i = 3;  // UTF-8 BOM
  while (i < n) {
    CsvRecord rec;
    rec.line = line;
    std::string field;
    bool at_record_end = false;
    while (!at_record_end) {
      field.clear();
      if (i < n && data[i] == '"') {
        size_t open_line = line;
        ++i;
        for (;;) {
          if (i >= n) throw FormatError(where(source, open_line) + ": broken quoting: quoted field never closed");
          char c = data[i];
          if (c == '"') {
            if (i + 1 < n && data[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (c == '\n') ++line;
          field += c;
          ++i;
        }
        // After the closing quote: a delimiter, a record end, or EOF.
        if (i < n && data[i] != delim && data[i] != '\n' && !(data[i] == '\r' && i + 1 < n && data[i + 1] == '\n') &&
            !(data[i] == '\r' && i + 1 == n))
          throw FormatError(where(source, line) + ": broken quoting: expected '" +
                            (delim == '\t' ? std::string("TAB") : std::string(1, delim)) +
                            "' or end of line after a closing quote, got '" + std::string(1, data[i]) + "'");
      } else {
        while (i < n && data[i] != delim && data[i] != '\n') {
          if (data[i] == '\r' && (i + 1 == n || data[i + 1] == '\n')) {
            ++i;
            continue;
          }  // CRLF record end
          field += data[i++];
        }
      }
      if (i < n && data[i] == '\r') ++i;  // "\r\n" after a quoted field
      rec.fields.push_back(field);
      if (i >= n) {
        at_record_end = true;
      } else if (data[i] == delim) {
        ++i;
        if (i >= n) rec.fields.emplace_back();
        at_record_end = i >= n;
      } else if (data[i] == '\n') {
        ++i;
        ++line;
        at_record_end = true;
      }
    }
    bool blank = rec.fields.size() == 1 && rec.fields[0].empty();
    if (!blank) records.push_back(std::move(rec));
  }
  return records;
}

namespace {

Dataset load_csv(const fs::path& path, char delim, const DatasetOptions& opts) {
  const std::string source = path.string();
  std::string data = read_file(path);
  auto records = parse_csv(data, delim, source);
  if (records.empty()) throw FormatError(source + ": empty file: expected a header row and data rows");
  const auto& header = records[0].fields;
  auto column = [&](const std::string& name, bool required) -> int {
    for (size_t c = 0; c < header.size(); ++c)
      if (header[c] == name) return static_cast<int>(c);
    if (required) {
      std::string have;
      for (const auto& h : header) have += (have.empty() ? "" : ", ") + ("'" + h + "'");
      throw FormatError(where(source, records[0].line) + ": missing column '" + name +
                        "' in the header (columns: " + have + ")");
    }
    return -1;
  };
  int text_col = column(opts.text_column, true);
  int label_col = column(opts.label_column, !opts.allow_missing_labels);
  int pair_col = opts.text_pair_column.empty() ? -1 : column(opts.text_pair_column, true);

  Dataset ds;
  ds.source = source;
  std::vector<RawLabel> raw;
  for (size_t r = 1; r < records.size(); ++r) {
    const auto& rec = records[r];
    if (rec.fields.size() != header.size())
      throw FormatError(where(source, rec.line) + ": expected " + std::to_string(header.size()) +
                        " fields (as in the header), got " + std::to_string(rec.fields.size()));
    LabeledText row;
    row.line = rec.line;
    row.text = rec.fields[text_col];
    check_utf8(row.text, source, rec.line);
    if (pair_col >= 0) {
      row.text_pair = rec.fields[pair_col];
      check_utf8(row.text_pair, source, rec.line);
    }
    RawLabel lab;
    if (label_col < 0) {
      lab.present = false;
    } else {
      check_utf8(rec.fields[label_col], source, rec.line);
      lab = raw_label_from_text(rec.fields[label_col]);
    }
    raw.push_back(lab);
    ds.rows.push_back(std::move(row));
  }
  if (ds.rows.empty()) throw FormatError(source + ": empty dataset: a header row but no data rows");
  resolve_labels(ds, raw, opts, source);
  return ds;
}

// ---- JSON lines ----

Dataset load_jsonl(const fs::path& path, const DatasetOptions& opts) {
  const std::string source = path.string();
  auto lines = split_lines(read_file(path), source);
  Dataset ds;
  ds.source = source;
  std::vector<RawLabel> raw;
  for (size_t li = 0; li < lines.size(); ++li) {
    const size_t line = li + 1;
    if (trim(lines[li]).empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(lines[li]);
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range 406 (number overflow: 1e400)
      throw FormatError(where(source, line) + ": invalid JSON: " + e.what());
    }
    if (!j.is_object()) throw FormatError(where(source, line) + ": expected a JSON object per line");
    auto text_field = [&](const std::string& key) {
      auto it = j.find(key);
      if (it == j.end()) throw FormatError(where(source, line) + ": missing key '" + key + "'");
      if (!it->is_string()) throw FormatError(where(source, line) + ": key '" + key + "' must be a string");
      return it->get<std::string>();
    };
    LabeledText row;
    row.line = line;
    row.text = text_field(opts.text_column);
    if (!opts.text_pair_column.empty()) row.text_pair = text_field(opts.text_pair_column);
    RawLabel lab;
    auto it = j.find(opts.label_column);
    if (it == j.end() || it->is_null()) {
      lab.present = false;
    } else if (it->is_number_integer() || it->is_number_unsigned()) {
      lab.json_integer = true;
      lab.json_value = it->get<int64_t>();
    } else if (it->is_string()) {
      lab.value = it->get<std::string>();
    } else if (it->is_array()) {  // a label set: [2, 7] or ["joy", "anger"]
      lab.is_list = true;
      for (const auto& v : *it) {
        RawLabel item;
        if (v.is_number_integer() || v.is_number_unsigned()) {
          item.json_integer = true;
          item.json_value = v.get<int64_t>();
        } else if (v.is_string()) {
          item.value = v.get<std::string>();
        } else {
          throw FormatError(where(source, line) + ": key '" + opts.label_column +
                            "': every member of a label list must be an integer id or a label name, got " + v.dump());
        }
        lab.items.push_back(std::move(item));
      }
    } else {
      throw FormatError(where(source, line) + ": key '" + opts.label_column +
                        "' must be an integer id or a label name, or a list of them, got " + it->dump());
    }
    raw.push_back(lab);
    ds.rows.push_back(std::move(row));
  }
  if (ds.rows.empty()) throw FormatError(source + ": empty dataset: no JSON rows");
  resolve_labels(ds, raw, opts, source);
  return ds;
}

// ---- TweetEval task folders ----

std::vector<std::string> read_mapping(const fs::path& path) {
  const std::string source = path.string();
  auto lines = split_lines(read_file(path), source);
  std::map<int, std::string> by_id;
  for (size_t li = 0; li < lines.size(); ++li) {
    if (trim(lines[li]).empty()) continue;
    const std::string& l = lines[li];
    size_t tab = l.find('\t');
    if (tab == std::string::npos)
      throw FormatError(where(source, li + 1) + ": expected 'id<TAB>name', got '" + l + "'");
    int id;
    if (!parse_nonnegative_int(trim(l.substr(0, tab)), id))
      throw FormatError(where(source, li + 1) + ": expected a non-negative integer id before the tab");
    size_t tab2 = l.find('\t', tab + 1);
    std::string name = trim(l.substr(tab + 1, tab2 == std::string::npos ? std::string::npos : tab2 - tab - 1));
    if (name.empty()) throw FormatError(where(source, li + 1) + ": empty label name");
    if (!by_id.emplace(id, name).second)
      throw FormatError(where(source, li + 1) + ": label id " + std::to_string(id) + " listed twice");
  }
  std::vector<std::string> names;
  for (const auto& [id, name] : by_id) {
    if (id != static_cast<int>(names.size()))
      throw FormatError(source + ": label ids must be 0..K-1 without gaps; id " + std::to_string(names.size()) +
                        " is missing");
    names.push_back(name);
  }
  if (names.empty()) throw FormatError(source + ": no labels");
  return names;
}

Dataset load_tweeteval(const fs::path& dir, const std::string& file_split, const DatasetOptions& opts) {
  fs::path text_path = dir / (file_split + "_text.txt");
  fs::path label_path = dir / (file_split + "_labels.txt");
  const std::string text_src = text_path.string(), label_src = label_path.string();
  auto texts = split_lines(read_file(text_path), text_src);
  Dataset ds;
  ds.source = text_src;
  bool has_labels = fs::exists(label_path);
  std::vector<std::string> labels;
  if (has_labels) {
    labels = split_lines(read_file(label_path), label_src);
    if (labels.size() != texts.size())
      throw FormatError(label_src + ": " + std::to_string(labels.size()) + " labels but " + text_src + " has " +
                        std::to_string(texts.size()) + " lines: expected one label per text line");
    ds.source += " + " + label_src;
  } else if (!opts.allow_missing_labels) {
    throw IoError(label_src + ": no such file (labels for " + text_src + ")");
  }
  if (texts.empty()) throw FormatError(text_src + ": empty dataset: no lines");

  std::vector<std::string> mapping;
  for (const fs::path& m : {dir / "mapping.txt", dir.parent_path() / "mapping.txt"})
    if (fs::exists(m)) {
      mapping = read_mapping(m);
      break;
    }

  // Label space: the model's, checked against mapping.txt; else mapping.txt; else inferred.
  const std::vector<std::string> names =
      mapping.empty() ? opts.label_names
                      : reconcile_label_names(opts.label_names, mapping, dir.string() + "/mapping.txt");

  std::vector<RawLabel> raw;
  for (size_t i = 0; i < texts.size(); ++i) {
    LabeledText row;
    row.line = i + 1;
    row.text = std::move(texts[i]);
    RawLabel lab;
    if (has_labels) {
      check_utf8(labels[i], label_src, i + 1);
      lab = raw_label_from_text(labels[i]);
      if (!lab.present && !opts.allow_missing_labels) throw FormatError(where(label_src, i + 1) + ": empty label line");
    } else {
      lab.present = false;
    }
    raw.push_back(lab);
    ds.rows.push_back(std::move(row));
  }
  DatasetOptions resolved = opts;
  resolved.label_names = names;
  // Errors about labels point at the labels file.
  resolve_labels(ds, raw, resolved, has_labels ? label_src : text_src);
  return ds;
}

fs::path find_split_file(const fs::path& dir, const std::string& split) {
  for (const auto& stem : split_file_stems(split))
    for (const char* ext : {".csv", ".tsv", ".jsonl", ".json"})
      if (fs::exists(dir / (stem + ext))) return dir / (stem + ext);
  return {};
}

// The TweetEval stem of `split` present in `dir` ({stem}_text.txt), or "".
std::string find_tweeteval_stem(const fs::path& dir, const std::string& split) {
  for (const auto& stem : split_file_stems(split))
    if (fs::exists(dir / (stem + "_text.txt"))) return stem;
  return "";
}

}  // namespace

std::vector<std::string> split_file_stems(const std::string& split) {
  const std::string s = canonical_split(split);
  if (s == "val") return {"val", "validation", "dev"};
  return {s};
}

bool dataset_has_split(const fs::path& dir, const std::string& split) {
  return !find_tweeteval_stem(dir, split).empty() || !find_split_file(dir, split).empty();
}

std::string invalid_utf8_message(std::string_view text, size_t offset, const std::string& where, bool first_line) {
  std::string msg = where + ": invalid UTF-8 at byte " + std::to_string(offset) + " of the line";
  const auto byte = [&](size_t i) { return i < text.size() ? static_cast<unsigned char>(text[i]) : 0u; };
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02X", byte(offset));
  if (first_line && offset == 0 && ((byte(0) == 0xFF && byte(1) == 0xFE) || (byte(0) == 0xFE && byte(1) == 0xFF))) {
    msg += std::string(": the input starts with a UTF-16 byte-order mark (") + (byte(0) == 0xFF ? "FF FE" : "FE FF") +
           "), so it is UTF-16, not UTF-8; convert it, e.g. iconv -f UTF-16 -t UTF-8";
  } else {
    msg += std::string(" (") + hex + "): expected UTF-8";
    if (byte(offset) >= 0xA0) {
      // A lone Latin-1 letter (é = 0xE9) is the usual culprit: legacy Windows / ISO-8859-1 files.
      std::string as_latin1;
      as_latin1 += static_cast<char>(0xC0 | (byte(offset) >> 6));
      as_latin1 += static_cast<char>(0x80 | (byte(offset) & 0x3F));
      msg += "; this looks like Latin-1 / Windows-1252 text (" + std::string(hex) + " is '" + as_latin1 +
             "' there): convert it, e.g. iconv -f WINDOWS-1252 -t UTF-8";
    } else if (byte(offset) >= 0x80 && byte(offset) < 0xC0) {
      msg += "; a stray continuation byte: perhaps Windows-1252 text, e.g. iconv -f WINDOWS-1252 -t UTF-8";
    }
  }
  return msg;
}

std::string replace_invalid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const size_t bad = unicode::find_invalid_utf8(text);
    if (bad == std::string_view::npos) {
      out += text;
      break;
    }
    out += text.substr(0, bad);
    out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER, one per invalid byte
    text.remove_prefix(bad + 1);
  }
  return out;
}

std::string canonical_split(const std::string& split) {
  if (split == "train" || split == "test" || split == "val") return split;
  if (split == "validation" || split == "dev" || split == "eval") return "val";
  throw InvalidArgument("unknown split '" + split + "': expected train, val (validation) or test");
}

std::vector<std::string> reconcile_label_names(const std::vector<std::string>& model_names,
                                               const std::vector<std::string>& file_names, const std::string& file) {
  if (model_names.empty() || model_names == file_names) return file_names;
  if (model_names.size() != file_names.size())
    throw FormatError(file + ": " + std::to_string(file_names.size()) + " labels (" + join_names(file_names) +
                      ") but the model has " + std::to_string(model_names.size()) + " (" + join_names(model_names) +
                      ")");
  if (is_generic_names(model_names)) return file_names;
  throw FormatError(file + ": labels (" + join_names(file_names) + ") differ from the model's id2label (" +
                    join_names(model_names) + ")");
}

int resolve_label(const std::string& value, const std::vector<std::string>& label_names) {
  for (size_t i = 0; i < label_names.size(); ++i)
    if (label_names[i] == value) return static_cast<int>(i);
  int id;
  if (parse_nonnegative_int(value, id) && id < static_cast<int>(label_names.size())) return id;
  return -1;
}

std::vector<std::vector<float>> multi_hot(const Dataset& d) {
  const size_t K = d.label_names.size();
  std::vector<std::vector<float>> out(d.rows.size(), std::vector<float>(K, 0.f));
  for (size_t i = 0; i < d.rows.size(); ++i) {
    const auto& row = d.rows[i];
    if (d.multi_label)
      for (int id : row.labels) out[i][static_cast<size_t>(id)] = 1.f;
    else if (row.label >= 0) out[i][static_cast<size_t>(row.label)] = 1.f;
  }
  return out;
}

std::vector<std::string> split_lines(const std::string& contents, const std::string& source) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < contents.size()) {
    size_t nl = contents.find('\n', start);
    size_t end = nl == std::string::npos ? contents.size() : nl;
    std::string_view line(contents.data() + start, end - start);
    check_utf8(line, source, lines.size() + 1);
    lines.emplace_back(line);
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return lines;
}

std::vector<std::string> read_lines(const fs::path& path) {
  if (path == "-") {
    std::string data((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (std::cin.bad()) throw IoError("<stdin>: read error");
    return split_lines(data, "<stdin>");
  }
  return split_lines(read_file(path), path.string());
}

namespace {

// Sentence pairs need a second text column, which the one-text-per-row layouts do not have.
[[noreturn]] void throw_no_pair_column(const fs::path& file, const DatasetOptions& opts, const char* layout) {
  throw InvalidArgument(file.string() + ": no column '" + opts.text_pair_column + "' for sentence pairs: " + layout +
                        " holds one text per row (give CSV/TSV/JSONL data with both text columns)");
}

}  // namespace

Dataset load_dataset(const fs::path& spec, const std::string& split, const DatasetOptions& opts) {
  std::error_code ec;
  if (!fs::exists(spec, ec)) throw IoError(spec.string() + ": no such file or directory (dataset)");
  if (fs::is_directory(spec)) {
    if (split.empty()) throw InvalidArgument(spec.string() + ": a dataset folder needs a split (train, val, test)");
    const std::string s = canonical_split(split);
    if (const std::string stem = find_tweeteval_stem(spec, s); !stem.empty()) {
      if (!opts.text_pair_column.empty()) throw_no_pair_column(spec / (stem + "_text.txt"), opts, "a TweetEval folder");
      return load_tweeteval(spec, stem, opts);
    }
    fs::path file = find_split_file(spec, s);
    if (file.empty()) {
      std::string stems;
      for (const auto& stem : split_file_stems(s)) stems += (stems.empty() ? "" : "|") + stem;
      if (s == "val") stems = "{" + stems + "}";
      throw IoError(spec.string() + ": no '" + s + "' split: expected " + stems + "_text.txt + " + stems +
                    "_labels.txt (TweetEval) or " + stems + ".csv / .tsv / .jsonl");
    }
    return load_dataset(file, s, opts);
  }
  std::string ext = spec.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(c | 0x20); });
  if (ext == ".csv") return load_csv(spec, ',', opts);
  if (ext == ".tsv" && is_goemotions_file(spec)) {
    if (!opts.text_pair_column.empty()) throw_no_pair_column(spec, opts, "a GoEmotions file");
    return load_goemotions(spec, spec.parent_path() / "labels.txt", opts);
  }
  if (ext == ".tsv") return load_csv(spec, '\t', opts);
  if (ext == ".jsonl" || ext == ".json") return load_jsonl(spec, opts);
  throw InvalidArgument(spec.string() + ": unknown dataset format '" + ext +
                        "': expected a TweetEval folder, a folder of {split}.csv|.tsv|.jsonl, or such a file");
}

}  // namespace bert_emotion
