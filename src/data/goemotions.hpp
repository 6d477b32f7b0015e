// goemotions.hpp — the GoEmotions release format (Demszky et al., 2020; google-research/goemotions).
//
// A GoEmotions folder holds train.tsv, dev.tsv and test.tsv — one example per "\n"-separated line,
// `text<TAB>label ids, comma-separated<TAB>comment id`, no header and no CSV quoting (fields split
// on the tab only) — and labels.txt, one label name per line (line i = id i). Every example has one
// or more labels, so the dataset is always multi-label (Dataset::multi_label, LabeledText::labels).
// Split "val" reads dev.tsv. load_dataset() calls this for such a folder, or for one of its .tsv
// files named directly; `--data go_emotions` resolves to a folder through src/hub/datasets.cpp.
//
//   if (is_goemotions_file(dir / "train.tsv")) {
//     Dataset train = load_goemotions(dir / "train.tsv", dir / "labels.txt", {});
//     for (const auto& row : train.rows) use(row.text, row.labels);   // e.g. {4, 27}
//   }
// Errors are FormatErrors naming the file and line (a missing tab, a label id that is not an
// integer or not below the number of names in labels.txt, invalid UTF-8); LabelMode::Single gives
// one saying the data is multi-label.
#pragma once

#include <filesystem>

#include "data/dataset.hpp"

namespace bert_emotion {

// The file of `split` ("train", "val", "test") in a GoEmotions folder.
std::filesystem::path goemotions_split_file(const std::filesystem::path& dir, const std::string& split);

// Whether `tsv` is a GoEmotions split file: labels.txt beside it and a first line whose second
// tab-separated field is a comma-separated list of ids (a headered TSV has a column name there).
bool is_goemotions_file(const std::filesystem::path& tsv);

Dataset load_goemotions(const std::filesystem::path& tsv, const std::filesystem::path& labels_txt,
                        const DatasetOptions& opts);

}  // namespace bert_emotion
