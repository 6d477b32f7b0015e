// backend.hpp — what the HTTP server needs from a model: logits for a batch of token rows, and health.
//
// The server (serve/server.hpp) tokenizes on its HTTP threads, queues rows, and one inference
// thread (serve/batcher.hpp) hands batches of rows to a Backend. Keeping the model behind this small
// interface lets the HTTP layer, the batcher and every limit be tested with fake backends (slow,
// failing, unhealthy), and lets the CLI plug in the real Classifier without the serve layer
// depending on the api layer.
//
//   FunctionBackend backend(
//       [&](const TokenRows& rows, const TokenRows& types) { return clf->logits(rows, types); },
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

using TokenRows = std::vector<std::vector<int32_t>>;

class Backend {
 public:
  virtual ~Backend() = default;
  // rows: token ids with the special tokens ([CLS] ... [SEP]); lengths may differ (the real backend
  // packs them without padding). type_rows: each row's token types (Encoding::type_ids; BERT pairs
  // 0 then 1), one per row. Returns logits [rows.size()][num_labels]. Throws on failure (reported
  // as 424 Backend).
  virtual std::vector<std::vector<float>> predict(const TokenRows& rows, const TokenRows& type_rows) = 0;
  // false -> GET /health answers 503 Unhealthy.
  virtual bool health() = 0;
};

// A Backend made of two callables; what the CLI and the tests use. A PredictFn of rows alone
// (fake models of the HTTP tests) ignores the token types.
class FunctionBackend : public Backend {
 public:
  using TypedPredictFn = std::function<std::vector<std::vector<float>>(const TokenRows&, const TokenRows&)>;
  using PredictFn = std::function<std::vector<std::vector<float>>(const TokenRows&)>;
  using HealthFn = std::function<bool()>;

  explicit FunctionBackend(
      TypedPredictFn predict, HealthFn health = [] { return true; })
      : predict_(std::move(predict)), health_(std::move(health)) {}
  explicit FunctionBackend(
      PredictFn predict, HealthFn health = [] { return true; })
      : predict_([p = std::move(predict)](const TokenRows& rows, const TokenRows&) { return p(rows); }),
        health_(std::move(health)) {}

  std::vector<std::vector<float>> predict(const TokenRows& rows, const TokenRows& type_rows) override {
    return predict_(rows, type_rows);
  }
  bool health() override { return health_(); }

 private:
  TypedPredictFn predict_;
  HealthFn health_;
};

}  // namespace bert_emotion::serve
