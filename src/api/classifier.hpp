// classifier.hpp — the public library API: load a classifier once, classify many texts.
//
// (Interface contract; the inference owner completes the overview.)
//
//   #include "api/classifier.hpp"
//   auto clf = bert_emotion::Classifier::load("runs/emotion");
//   for (const auto& p : clf->classify({"I love this!", "so sad today"}))
//     std::cout << p.label << " " << p.score << "\n";
//
// A Classifier is immutable after load() and safe to call from many threads at once; each call
// uses its own activation buffers. Batches are sorted by length internally; results are returned
// in input order. Softmax for single-label models, sigmoid for multi_label_classification.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "model/config.hpp"
#include "tokenizer/tokenizer.hpp"

namespace bert_emotion {

struct Prediction {
  int label_id = -1;
  std::string label;
  float score = 0.f;            // probability of `label`
  std::vector<float> scores;    // per label id: softmax (or sigmoid) probabilities
  std::vector<float> logits;    // per label id
  size_t num_tokens = 0;        // after truncation, specials included
};

struct ClassifierOptions {
  int threads = 0;              // 0 = all cores
  size_t max_length = 0;        // 0 = the model's maximum
  int batch_size = 32;
};

class Classifier {
 public:
  static std::unique_ptr<Classifier> load(const std::filesystem::path& model_dir, const ClassifierOptions& opts = {});
  virtual ~Classifier() = default;

  virtual const ModelConfig& config() const = 0;
  virtual const Tokenizer& tokenizer() const = 0;

  // Tokenizes, batches (sorted by length) and runs the model. Output order = input order.
  virtual std::vector<Prediction> classify(const std::vector<std::string>& texts) const = 0;
  // Pre-tokenized rows ([CLS] ... [SEP] included) -> logits [rows][K]; one padded batch per call.
  virtual std::vector<std::vector<float>> logits(const std::vector<std::vector<int32_t>>& rows) const = 0;
};

// probabilities from logits: softmax (single-label, max subtracted) or sigmoid (multi-label).
std::vector<float> scores_from_logits(const std::vector<float>& logits, bool multi_label);

}  // namespace bert_emotion
