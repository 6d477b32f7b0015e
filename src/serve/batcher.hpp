// batcher.hpp — TEI's queue + batching task: one inference thread, a token budget per batch.
//
// HTTP threads tokenize and submit() rows; they get a future per row. One worker thread takes rows
// from the queue in arrival order and forms a batch while it fits both limits:
//   tokens = sum of the rows' lengths  <= max_batch_tokens
//   rows                               <= max_batch_requests (0 = no limit)
// (a batch always holds at least one row), runs Backend::predict on it, and fulfils each row's
// future with its logits or with the backend's error. The backend packs the rows without padding
// (encoder_forward_packed), so a batch costs its real tokens whatever the mix of lengths and the
// worker never sorts or splits what arrived (as TEI's padding-free backends). The queue is bounded
// (`max_queue_rows`): submit() past the bound throws ApiError(Overloaded) at once, after stop()
// ApiError(Unhealthy); it never blocks.
//
//   Batcher batcher(backend, {.max_batch_tokens = 16384}, &metrics);
//   std::vector<std::future<RowResult>> futs = batcher.submit({ids_a, ids_b}, {types_a, types_b});
//   RowResult r = futs[0].get();   // r.ok(), r.logits, r.queue_seconds, r.inference_seconds
//   batcher.stop();                // finishes every queued row, then joins the worker
//
// Metrics when given: te_batch_next_size, te_batch_next_tokens (per backend call, tokens;
// histograms), te_queue_size (gauge).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "serve/backend.hpp"
#include "serve/prometheus.hpp"

namespace bert_emotion::serve {

struct BatcherOptions {
  size_t max_batch_tokens = 16384;
  size_t max_batch_requests = 0;  // 0 = limited by tokens only
  size_t max_queue_rows = 1 << 16;
};

struct RowResult {
  std::vector<float> logits;
  std::string error;               // non-empty: the backend failed for this row's batch
  double queue_seconds = 0.0;      // submit -> batch start
  double inference_seconds = 0.0;  // the batch's backend call
  size_t batch_rows = 0;           // rows in the batch this row ran in
  bool ok() const { return error.empty(); }
};

class Batcher {
 public:
  Batcher(Backend& backend, BatcherOptions opts, MetricsRegistry* metrics = nullptr);
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // type_rows: one per row (each as long as its row), or empty: every token type 0.
  std::vector<std::future<RowResult>> submit(TokenRows rows, TokenRows type_rows = {});
  void stop();
  size_t queue_size() const;
  const BatcherOptions& options() const { return opts_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Item {
    std::vector<int32_t> ids;
    std::vector<int32_t> type_ids;  // empty: all 0
    std::promise<RowResult> promise;
    Clock::time_point enqueued;
  };

  void run();
  std::vector<Item> next_batch(std::unique_lock<std::mutex>& lock);
  void run_batch(std::vector<Item>& batch);

  Backend& backend_;
  BatcherOptions opts_;
  MetricsRegistry* metrics_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace bert_emotion::serve
