// backend.hpp — what the HTTP server needs from a model: logits for a batch of token rows, and health.
//
// The server (serve/server.hpp) tokenizes on its HTTP threads, queues rows, and one inference
// thread (serve/batcher.hpp) hands batches of rows to a Backend. Keeping the model behind this small
// interface lets the HTTP layer, the batcher and every limit be tested with fake backends (slow,
// failing, unhealthy), and lets the CLI plug in the real Classifier without the serve layer
// depending on the api layer.
//
//   FunctionBackend backend(
//       [&](const std::vector<std::vector<int32_t>>& rows) { return clf->logits(rows); },
//       [] { return true; });
//   Server server(backend, encoder, info, opts);
//
// predict() is only ever called from the batcher's single inference thread; health() may be called
// from any HTTP thread at the same time, so it must be thread-safe with respect to predict().
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace bert_emotion::serve {

class Backend {
 public:
  virtual ~Backend() = default;
  // rows: token ids with the special tokens ([CLS] ... [SEP]); lengths may differ (the real backend
  // packs them without padding). Returns logits [rows.size()][num_labels]. Throws on failure
  // (reported as 424 Backend).
  virtual std::vector<std::vector<float>> predict(const std::vector<std::vector<int32_t>>& rows) = 0;
  // false -> GET /health answers 503 Unhealthy.
  virtual bool health() = 0;
};

// A Backend made of two callables; what the CLI and the tests use.
class FunctionBackend : public Backend {
 public:
  using PredictFn = std::function<std::vector<std::vector<float>>(const std::vector<std::vector<int32_t>>&)>;
  using HealthFn = std::function<bool()>;

  explicit FunctionBackend(PredictFn predict, HealthFn health = [] { return true; })
      : predict_(std::move(predict)), health_(std::move(health)) {}

  std::vector<std::vector<float>> predict(const std::vector<std::vector<int32_t>>& rows) override {
    return predict_(rows);
  }
  bool health() override { return health_(); }

 private:
  PredictFn predict_;
  HealthFn health_;
};

}  // namespace bert_emotion::serve
