// thresholds.hpp — per-label decision thresholds of a multi-label model (thresholds.json).
//
// A multi-label model predicts label k when sigmoid(logit_k) > threshold_k. Without a file every
// threshold is 0.5 (transformers' pipeline, SamLowe/roberta-base-go_emotions); `train
// --tune-thresholds` picks one per label on the validation split and saves them in the model
// directory as thresholds.json, which predict, eval and serve then use (docs/MODELS.md):
//   {"format": "bert-emotion-thresholds", "rule": "sigmoid(logit) > threshold",
//    "tuned_on": "<data source>", "criterion": "per-label F1",
//    "thresholds": {"<label name>": 0.35, ...}}            // one entry per id2label name
// Tuning (tune_thresholds): for each label, the threshold among 0.05, 0.10, ..., 0.95 with the
// highest F1 of that label on the given data; ties go to the candidate nearest 0.5 (then the lower);
// a label without positives keeps 0.5.
//
//   std::vector<float> t = tune_thresholds(val_targets, val_scores);
//   write_thresholds(out_dir, names, t, "val.tsv");
//   std::vector<float> back = read_thresholds(out_dir, names);   // empty if there is no file
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "data/multilabel_metrics.hpp"

namespace bert_emotion {

constexpr const char* kThresholdsFile = "thresholds.json";

// Thresholds from model_dir/thresholds.json in id order of `names`; empty when the file is absent.
// FormatError naming the file for bad JSON, a missing or unknown label, or a value outside [0, 1].
std::vector<float> read_thresholds(const std::filesystem::path& model_dir, const std::vector<std::string>& names);

void write_thresholds(const std::filesystem::path& model_dir, const std::vector<std::string>& names,
                      const std::vector<float>& thresholds, const std::string& tuned_on);

// Per-label thresholds maximizing each label's F1 on (targets, scores) [N][K] (see the overview).
std::vector<float> tune_thresholds(const MultiHot& targets, const MultiHot& scores);

// Multi-label: ids whose score > thresholds[id], highest score first (ties: lower id first).
// What predict, the Classifier and the server report as the labels that pass.
std::vector<int> passing_labels(const std::vector<float>& scores, const std::vector<float>& thresholds);

}  // namespace bert_emotion
