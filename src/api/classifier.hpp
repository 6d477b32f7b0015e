// classifier.hpp — the public library API: load a classifier once, classify many texts.
//
// load() maps the model directory's weights (load_model_dir: F32 tensors stay mmap'ed, F16/BF16
// widened once), readies them for the requested dtype (set_inference_dtype: in FP32 on AVX-512 the
// linears are prepacked for oneDNN's matmul, their mapped pages released) and builds its tokenizer
// (Tokenizer::from_model_dir). Everything — labels, special tokens, casing, maximum length, single-
// vs multi-label — comes from the directory's files.
//
//   #include "api/classifier.hpp"
//   auto clf = bert_emotion::Classifier::load("runs/emotion", {.threads = 2, .batch_size = 32});
//   for (const auto& p : clf->classify({"I love this!", "so sad today"}))
//     std::cout << p.label << " " << p.score << "\n";
//   auto raw = clf->logits({{101, 1422, 102}});   // pre-tokenized rows (the HTTP server's path)
//   auto pairs = clf->classify({"premise"}, {"hypothesis"});   // sentence pairs, one per text
//
// A Classifier is immutable after load() and safe to call from many threads at once: each call
// borrows activation buffers from a small mutex-guarded pool (one set per concurrent caller,
// grown to the largest batch seen). classify() tokenizes, truncates to max_length ([CLS] + first
// pieces + [SEP]; pairs longest-first) and runs batches of batch_size texts in input order; every batch is packed (the
// rows end to end, no padding: encoder_forward_packed), so mixed lengths cost nothing extra and
// the outputs do not depend on the batch size beyond float rounding. Scores are softmax over the logits for single-label models and an independent sigmoid per
// label for problem_type multi_label_classification; label_id is the argmax (first on ties).
// Token types: a pair's second segment is type 1 (the tokenizer's post-processor) for models that
// take token types (config type_vocab_size >= 2: BERT); RoBERTa and DistilBERT see type 0 only.
// Multi-label models also report `passing`: the labels whose sigmoid score exceeds their threshold
// (ClassifierOptions::threshold for every label when set, else the directory's thresholds.json,
// else 0.5; see src/data/thresholds.hpp).
// `dtype` "int8" quantizes the linears at load (model/quantize.hpp): about 2x faster on CPUs with
// AVX-512 VNNI, logits within a few hundredths of FP32's; "bf16" rounds them to bf16 (vdpbf16ps on
// CPUs with AVX-512 BF16, a widening fallback elsewhere).
// `threads` > 0 sets the OpenMP thread count of every calling thread (0 = leave OpenMP's default).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "data/thresholds.hpp"  // passing_labels
#include "model/config.hpp"
#include "tokenizer/tokenizer.hpp"

namespace bert_emotion {

struct Prediction {
  int label_id = -1;
  std::string label;
  float score = 0.f;          // probability of `label`
  std::vector<float> scores;  // per label id: softmax (or sigmoid) probabilities
  std::vector<float> logits;  // per label id
  size_t num_tokens = 0;      // after truncation, specials included
  std::vector<int> passing;   // multi-label: ids with score > threshold, highest score first
};

struct ClassifierOptions {
  int threads = 0;        // 0 = all cores
  size_t max_length = 0;  // 0 = the model's maximum
  int batch_size = 32;
  float threshold = -1.f;      // multi-label: one threshold for every label (< 0: thresholds.json / 0.5)
  std::string dtype = "auto";  // f32, bf16, int8 (dynamic quantization) or auto: the directory's own
};

class Classifier {
 public:
  static std::unique_ptr<Classifier> load(const std::filesystem::path& model_dir, const ClassifierOptions& opts = {});
  virtual ~Classifier() = default;

  virtual const ModelConfig& config() const = 0;
  virtual const Tokenizer& tokenizer() const = 0;
  // Multi-label: the per-label thresholds in effect (see the overview); empty for single-label.
  virtual const std::vector<float>& thresholds() const = 0;
  // The dtype the linears run in: "f32", "bf16" or "int8" ("auto" resolved to the directory's own).
  virtual std::string dtype() const = 0;

  // Tokenizes, batches (packed) and runs the model. Output order = input order.
  virtual std::vector<Prediction> classify(const std::vector<std::string>& texts) const = 0;
  // Sentence pairs (texts[i], text_pairs[i]); InvalidArgument when the sizes differ.
  virtual std::vector<Prediction> classify(const std::vector<std::string>& texts,
                                           const std::vector<std::string>& text_pairs) const = 0;
  // Pre-tokenized rows ([CLS] ... [SEP] included) -> logits [rows][K]; one packed batch per call.
  // type_rows: the rows' token types (Encoding::type_ids), or empty (all 0); used only by models
  // that take token types (ModelConfig::takes_token_types).
  virtual std::vector<std::vector<float>> logits(const std::vector<std::vector<int32_t>>& rows,
                                                 const std::vector<std::vector<int32_t>>& type_rows = {}) const = 0;
};

// probabilities from logits: softmax (single-label, max subtracted) or sigmoid (multi-label).
std::vector<float> scores_from_logits(const std::vector<float>& logits, bool multi_label);

}  // namespace bert_emotion
