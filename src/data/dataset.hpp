// dataset.hpp — labelled text datasets: TweetEval task folders, CSV/TSV and JSONL files.
//
// A dataset spec is one of
//   * a TweetEval task folder: {split}_text.txt + {split}_labels.txt (one row per "\n"-separated
//     line) and mapping.txt (`id<TAB>name[<TAB>...]`, here or in the parent folder, as for stance);
//   * a folder holding {split}.csv, {split}.tsv or {split}.jsonl;
//   * one .csv / .tsv / .jsonl file (the split argument is then ignored).
// Splits are "train", "val" (aliases "validation", "dev", "eval") and "test"; the validation split's
// files may be named val.*, validation.* or dev.* (val_text.txt, validation_text.txt, dev_text.txt). Lines split on "\n" only: U+0085,
// U+2028, VT, FF and "\r" inside a tweet belong to its text; a final newline adds no row.
// CSV/TSV follow RFC 4180 (header row; quoted fields with "" escapes, embedded commas/newlines).
//
// Labels are integer ids or names. With DatasetOptions::label_names (a model's id2label) that list
// is the label space: a name must be in it, an id in range. Without it: TweetEval names come from
// mapping.txt; otherwise, if every label is a non-negative integer the names are LABEL_0..LABEL_max,
// else the label space is the sorted set of distinct label strings.
// Multi-label data: a label field "2,7" (CSV/TSV, TweetEval labels files), a JSON array [2, 7] or
// ["joy", "anger"] (JSONL), or a GoEmotions folder (goemotions.hpp) makes the dataset multi-label
// (Dataset::multi_label, LabeledText::labels); LabelMode::Single turns that into an error naming the
// line, LabelMode::Multi reads even one-label rows as label sets.
// Every error is a FormatError naming the file and the 1-based line (label out of range, unknown
// label, text/label count mismatch, invalid UTF-8, missing column, broken quoting, empty dataset).
//
//   Dataset test = load_dataset("../shared/data/tweeteval/datasets/emotion", "test");
//   Dataset d = load_dataset("reviews.csv", "", {.label_names = cfg.label_names(), .text_column = "review"});
//   for (const auto& row : test.rows) use(row.text, row.label);   // label in [0, label_names.size())
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace bert_emotion {

struct LabeledText {
  std::string text;
  int label = -1;           // id into Dataset::label_names; -1 only with allow_missing_labels
  size_t line = 0;          // 1-based line of the row in its source file (first line of a CSV record)
  std::string text_pair;    // second text column for sentence pairs (CSV/TSV/JSONL), empty if none
  std::vector<int> labels;  // multi-label datasets: the row's label ids, sorted, unique (label = -1)
};

struct Dataset {
  std::string source;                    // the file (or files) the rows came from
  std::vector<std::string> label_names;  // id -> name
  std::vector<LabeledText> rows;
  bool multi_label = false;  // rows carry `labels` (label sets), not `label`
};

// How label fields are read: Auto detects label lists ("2,7", [2, 7]) and makes the whole dataset
// multi-label; Single rejects them (a single-label model); Multi reads every label as a set.
enum class LabelMode { Auto, Single, Multi };

struct DatasetOptions {
  std::vector<std::string> label_names{};  // the label space (e.g. a model's id2label); empty = infer
  std::string text_column = "text";        // CSV/TSV header / JSONL key
  std::string label_column = "label";
  std::string text_pair_column{};     // optional second text column; empty = single texts
  bool allow_missing_labels = false;  // rows without a label get -1 (prediction input)
  LabelMode label_mode = LabelMode::Auto;
};

// Throws FormatError (malformed content, naming file and line), IoError (cannot read),
// InvalidArgument (unknown split or spec).
Dataset load_dataset(const std::filesystem::path& spec, const std::string& split, const DatasetOptions& opts = {});

// Unlabelled input for predict: one text per "\n"-separated line of `path` ("-" = stdin); a final
// newline adds no row, a trailing "\r" is kept (it is text). Invalid UTF-8 throws naming the line.
std::vector<std::string> read_lines(const std::filesystem::path& path);

// Same splitting rule on text already in memory; `source` names it in error messages.
std::vector<std::string> split_lines(const std::string& contents, const std::string& source);

// Resolves one label string (a name of `label_names`, else a non-negative integer id below its
// size). Returns -1 if it is neither.
int resolve_label(const std::string& value, const std::vector<std::string>& label_names);

// One CSV/TSV record (RFC 4180) and the 1-based line where it starts.
struct CsvRecord {
  std::vector<std::string> fields;
  size_t line = 0;
};

// Parses CSV/TSV text (a leading UTF-8 BOM skipped; quoted fields with "" escapes and embedded
// delimiters/newlines; blank lines skipped). FormatError naming `source` and the line for broken
// quoting. Fields are not checked for UTF-8.
std::vector<CsvRecord> parse_csv(const std::string& data, char delim, const std::string& source);

// Multi-hot rows [N][K] (0/1 floats) of a multi-label dataset; a single-label one gives one-hot rows.
std::vector<std::vector<float>> multi_hot(const Dataset& d);

// The label space for a file that names its own labels (`file_names`, from `file`): the model's
// names when they equal them, the file's when the model's are generic LABEL_i of the same count or
// absent; else FormatError naming `file` and both lists.
std::vector<std::string> reconcile_label_names(const std::vector<std::string>& model_names,
                                               const std::vector<std::string>& file_names, const std::string& file);

// Canonical split name ("validation", "dev", "eval" -> "val"); throws InvalidArgument for anything else.
std::string canonical_split(const std::string& split);

// The file stems a folder may use for `split`, in the order looked for: {"val", "validation", "dev"}
// for the validation split, else the canonical name.
std::vector<std::string> split_file_stems(const std::string& split);

// Whether folder `dir` holds `split` in a layout load_dataset reads.
bool dataset_has_split(const std::filesystem::path& dir, const std::string& split);

// The Utf8Error message for `text` (at `where`, e.g. "in.txt:3") whose first invalid byte is at
// `offset`, naming the likely encoding: UTF-16 (a byte-order mark at the start of the first line)
// or Latin-1 / Windows-1252 (a lone byte >= 0xA0), with the iconv command that converts it.
std::string invalid_utf8_message(std::string_view text, size_t offset, const std::string& where, bool first_line);

// `text` with every byte that does not begin well-formed UTF-8 replaced by U+FFFD.
std::string replace_invalid_utf8(std::string_view text);

}  // namespace bert_emotion
