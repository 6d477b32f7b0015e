// evaluate.hpp — run a classifier over a labelled dataset: loss, predictions, metrics.
//
// Matches Trainer.evaluate(): eval mode (no dropout), eval_loss = mean per-example cross-entropy
// over the whole dataset, prediction = argmax of the logits (first index on ties), metrics with
// scikit-learn semantics (metrics.hpp). Rows are batched in dataset order, as the Trainer does,
// and each batch is packed without padding (encoder_forward_packed; equal to the padded
// forward up to float rounding). Uses the OpenMP thread count the caller set.
//
//   Dataset val = load_dataset(spec, "val", {.label_names = cfg.label_names()});
//   EvalOutput out = evaluate_model(cfg, weights, tokenizer, val, /*batch_size=*/32);
//   nlohmann::json j = eval_results_json(out, cfg.label_names());   // eval_loss, eval_f1, ...
//
// The trainer, which tokenizes once, calls evaluate_tokenized() with the token ids directly.
// With a distributed communicator (every rank calls with the same rows) each rank runs a
// contiguous share of the batches, the same batches one process would run, and the logits are
// gathered: every rank returns the whole EvalOutput, equal to one process's.
//
// Multi-label models (problem_type multi_label_classification): eval_loss = mean binary
// cross-entropy with logits over N x K (train.py's mean over examples of the per-example mean), a
// label is predicted when sigmoid(logit) > its threshold (0.5, or per label from thresholds.json,
// see thresholds.hpp), metrics are multilabel_metrics.hpp's (ROC-AUC from the sigmoid scores).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "data/metrics.hpp"
#include "data/multilabel_metrics.hpp"
#include "dist/communicator.hpp"
#include "model/config.hpp"
#include "model/weights.hpp"
#include "tokenizer/tokenizer.hpp"

namespace bert_emotion {

struct EvalOutput {
  double loss = 0;               // mean per-example cross-entropy (natural log)
  std::vector<int> predictions;  // [N], dataset order
  std::vector<float> logits;     // [N, K], dataset order
  std::vector<int> labels;       // [N], the gold ids
  ClassificationMetrics metrics;
  double runtime_seconds = 0;  // wall time of tokenization + forward passes
  size_t num_tokens = 0;       // real tokens processed (specials included)
  // Multi-label models: gold and predicted label sets, sigmoid scores, metrics (predictions/labels
  // above then hold the argmax / first gold label, for callers that want one label).
  bool multi_label = false;
  MultiHot targets, predicted_sets, scores;  // [N][K]
  MultiLabelMetrics ml_metrics;
};

// ids[i] of every row ([CLS] ... [SEP], truncated to max_length; pairs as the post-processor joins
// them) and, when `token_types` and some row is a pair, types[i] (0 then 1 for a pair, all 0 for a
// single text); otherwise types is left empty (every token type 0). What training and evaluation
// feed the model.
void encode_rows(const Tokenizer& tok, const std::vector<LabeledText>& rows, size_t max_length, bool token_types,
                 std::vector<std::vector<int32_t>>& ids, std::vector<std::vector<int32_t>>& types);

// Tokenizes every row (truncated to max_length; 0 = the model's maximum) and evaluates.
// Throws InvalidArgument for batch_size < 1, a dataset whose label space differs in size from the
// model's num_labels, or multi-label data for a single-label model.
// `thresholds` (multi-label only): one per label; empty = 0.5 for every label.
EvalOutput evaluate_model(const ModelConfig& cfg, const Weights& w, const Tokenizer& tok, const Dataset& data,
                          int batch_size, size_t max_length = 0, dist::Communicator& comm = dist::Communicator::solo(),
                          const std::vector<float>& thresholds = {});

// Same on pre-tokenized rows ([CLS] ... [SEP] included) with gold ids in [0, K). type_rows: the
// rows' token types (empty: all 0), as evaluate_model passes for pairs when the model takes them.
EvalOutput evaluate_tokenized(const ModelConfig& cfg, const Weights& w, const std::vector<std::vector<int32_t>>& ids,
                              const std::vector<int>& labels, int batch_size,
                              dist::Communicator& comm = dist::Communicator::solo(),
                              const std::vector<std::vector<int32_t>>& type_rows = {});

// Multi-label: gold label sets as multi-hot rows [N][K].
EvalOutput evaluate_tokenized_multilabel(const ModelConfig& cfg, const Weights& w,
                                         const std::vector<std::vector<int32_t>>& ids, const MultiHot& targets,
                                         int batch_size, const std::vector<float>& thresholds = {},
                                         dist::Communicator& comm = dist::Communicator::solo(),
                                         const std::vector<std::vector<int32_t>>& type_rows = {});

// Multi-hot predictions: scores[i][k] > thresholds[k] (0.5 when `thresholds` is empty).
MultiHot apply_thresholds(const MultiHot& scores, const std::vector<float>& thresholds);

// Trainer-style eval results: {prefix}loss, metrics_to_json keys, {prefix}runtime,
// {prefix}samples_per_second, {prefix}steps_per_second (batches/s), and "{prefix}samples".
nlohmann::json eval_results_json(const EvalOutput& out, const std::vector<std::string>& names, int batch_size,
                                 const std::string& prefix = "eval_");

}  // namespace bert_emotion
