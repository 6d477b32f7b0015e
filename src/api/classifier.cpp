// classifier.cpp — the public Classifier: a loaded model + tokenizer, packed (unpadded) batches,
// a pool of activation buffers shared by concurrent callers.
#include "api/classifier.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "data/thresholds.hpp"
#include "model/encoder.hpp"
#include "model/model_dir.hpp"
#include "model/quantize.hpp"
#include "util/error.hpp"

namespace bert_emotion {

std::vector<float> scores_from_logits(const std::vector<float>& logits, bool multi_label) {
  std::vector<float> p(logits.size());
  if (logits.empty()) return p;
  if (multi_label) {
    for (size_t k = 0; k < logits.size(); ++k) p[k] = 1.f / (1.f + std::exp(-logits[k]));
    return p;
  }
  float mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (size_t k = 0; k < logits.size(); ++k) sum += std::exp(static_cast<double>(logits[k] - mx));
  for (size_t k = 0; k < logits.size(); ++k)
    p[k] = static_cast<float>(std::exp(static_cast<double>(logits[k] - mx)) / sum);
  return p;
}

namespace {

class EncoderClassifier final : public Classifier {
 public:
  EncoderClassifier(LoadedModel model, Tokenizer tok, ClassifierOptions opts)
      : model_(std::move(model)), tok_(std::move(tok)), opts_(std::move(opts)) {
    const auto& cfg = model_.config;
    if (cfg.num_labels() < 1)
      throw FormatError((model_.dir / "config.json").string() + ": id2label is empty: a classifier needs labels");
    if (opts_.batch_size < 1)
      throw InvalidArgument("classifier: batch size must be >= 1, got " + std::to_string(opts_.batch_size));
    if (opts_.threads < 0)
      throw InvalidArgument("classifier: threads must be >= 0, got " + std::to_string(opts_.threads));
    const size_t model_max = std::min<size_t>(tok_.model_max_length(), static_cast<size_t>(cfg.max_tokens()));
    max_length_ = opts_.max_length == 0 ? model_max : std::min(opts_.max_length, model_max);
    if (max_length_ < 2) throw InvalidArgument("classifier: max length must be >= 2 ([CLS] and [SEP])");
    names_ = cfg.label_names();
    if (cfg.multi_label()) {
      if (opts_.threshold > 1.f) throw InvalidArgument("classifier: threshold must be in [0, 1]");
      thresholds_ = opts_.threshold >= 0.f ? std::vector<float>(names_.size(), opts_.threshold)
                                           : read_thresholds(model_.dir, names_);
      if (thresholds_.empty()) thresholds_.assign(names_.size(), 0.5f);
    }
  }

  const ModelConfig& config() const override { return model_.config; }
  const Tokenizer& tokenizer() const override { return tok_; }
  const std::vector<float>& thresholds() const override { return thresholds_; }
  std::string dtype() const override { return inference_dtype(model_); }

  std::vector<Prediction> classify(const std::vector<std::string>& texts) const override { return classify(texts, {}); }

  std::vector<Prediction> classify(const std::vector<std::string>& texts,
                                   const std::vector<std::string>& text_pairs) const override {
    apply_threads();
    const size_t N = texts.size();
    if (!text_pairs.empty() && text_pairs.size() != N)
      throw InvalidArgument("classifier: " + std::to_string(N) + " texts but " + std::to_string(text_pairs.size()) +
                            " second texts of pairs");
    TokenRows encoded =
        tok_.encode_rows(std::vector<std::string_view>(texts.begin(), texts.end()),
                         std::vector<std::optional<std::string_view>>(text_pairs.begin(), text_pairs.end()),
                         max_length_, model_.config.takes_token_types());
    std::vector<std::vector<int32_t>>& ids = encoded.ids;
    std::vector<std::vector<int32_t>>& types = encoded.type_ids;
    const bool typed = !types.empty();
    const int K = model_.config.num_labels();
    std::vector<Prediction> out(N);
    std::vector<std::vector<int32_t>> rows, type_rows;
    std::vector<float> logits;
    const size_t bs = static_cast<size_t>(opts_.batch_size);
    for (size_t start = 0; start < N; start += bs) {
      const size_t end = std::min(N, start + bs);
      rows.clear();
      type_rows.clear();
      for (size_t i = start; i < end; ++i) {
        rows.push_back(std::move(ids[i]));
        if (typed) type_rows.push_back(std::move(types[i]));
      }
      run_batch(rows, type_rows, logits);
      for (size_t r = 0; r < rows.size(); ++r) {
        Prediction& p = out[start + r];
        p.logits.assign(logits.begin() + r * K, logits.begin() + (r + 1) * K);
        p.scores = scores_from_logits(p.logits, model_.config.multi_label());
        p.label_id = static_cast<int>(std::max_element(p.logits.begin(), p.logits.end()) - p.logits.begin());
        p.label = names_[p.label_id];
        p.score = p.scores[p.label_id];
        p.num_tokens = rows[r].size();
        if (model_.config.multi_label()) p.passing = passing_labels(p.scores, thresholds_);
      }
    }
    return out;
  }

  std::vector<std::vector<float>> logits(const std::vector<std::vector<int32_t>>& rows,
                                         const std::vector<std::vector<int32_t>>& type_rows = {}) const override {
    apply_threads();
    const auto& cfg = model_.config;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (rows[i].empty()) throw InvalidArgument("classifier: row " + std::to_string(i) + " has no tokens");
      if (rows[i].size() > static_cast<size_t>(cfg.max_tokens()))
        throw InvalidArgument("classifier: row " + std::to_string(i) + " has " + std::to_string(rows[i].size()) +
                              " tokens; the model takes at most " + std::to_string(cfg.max_tokens()));
      for (int32_t id : rows[i])
        if (id < 0 || id >= cfg.vocab_size)
          throw InvalidArgument("classifier: row " + std::to_string(i) + " has token id " + std::to_string(id) +
                                " outside the vocabulary [0, " + std::to_string(cfg.vocab_size) + ")");
    }
    std::vector<std::vector<float>> out;
    if (rows.empty()) return out;
    std::vector<float> flat;
    run_batch(rows, cfg.takes_token_types() ? type_rows : std::vector<std::vector<int32_t>>{}, flat);
    const int K = cfg.num_labels();
    out.reserve(rows.size());
    for (size_t r = 0; r < rows.size(); ++r) out.emplace_back(flat.begin() + r * K, flat.begin() + (r + 1) * K);
    return out;
  }

 private:
  void apply_threads() const {
    // The OpenMP thread count is per calling thread: set it on every call, from any thread.
    if (opts_.threads > 0) omp_set_num_threads(opts_.threads);
  }

  // One packed forward pass (no padding) with buffers borrowed from the pool; type_rows empty or
  // one per row.
  void run_batch(const std::vector<std::vector<int32_t>>& rows, const std::vector<std::vector<int32_t>>& type_rows,
                 std::vector<float>& logits) const {
    const auto& cfg = model_.config;
    const PackedBatch batch = pack_rows(rows, type_rows);
    std::unique_ptr<PackedActivations> acts = acquire();
    logits.assign(static_cast<size_t>(batch.B) * cfg.num_labels(), 0.f);
    try {
      encoder_forward_packed(cfg, model_.weights, batch, *acts, logits.data());
    } catch (...) {
      release(std::move(acts));
      throw;
    }
    release(std::move(acts));
  }

  std::unique_ptr<PackedActivations> acquire() const {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    if (pool_.empty()) return std::make_unique<PackedActivations>();
    auto a = std::move(pool_.back());
    pool_.pop_back();
    return a;
  }
  void release(std::unique_ptr<PackedActivations> a) const {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    pool_.push_back(std::move(a));
  }

  LoadedModel model_;
  Tokenizer tok_;
  ClassifierOptions opts_;
  size_t max_length_ = 0;
  std::vector<std::string> names_;
  std::vector<float> thresholds_;
  mutable std::mutex pool_mutex_;
  mutable std::vector<std::unique_ptr<PackedActivations>> pool_;
};

}  // namespace

std::unique_ptr<Classifier> Classifier::load(const std::filesystem::path& model_dir, const ClassifierOptions& opts) {
  LoadedModel model = load_model_dir(model_dir);
  set_inference_dtype(model, opts.dtype);
  Tokenizer tok = Tokenizer::from_model_dir(model_dir);
  return std::make_unique<EncoderClassifier>(std::move(model), std::move(tok), opts);
}

}  // namespace bert_emotion
