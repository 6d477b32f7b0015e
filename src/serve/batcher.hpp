// batcher.hpp — TEI's queue + batching task: one inference thread, a token budget per batch.
//
// HTTP threads tokenize and submit() rows; they get a future per row. One worker thread takes rows
// from the queue in arrival order and forms a batch while it fits both limits:
//   padded tokens = longest row in the batch x rows  <= max_batch_tokens
//   rows                                             <= max_batch_requests (0 = no limit)
// (a batch always holds at least one row), runs Backend::predict on it, and fulfils each row's
// future with its logits or with the backend's error. The backend pads every row of a call to the
// call's longest row, so a FIFO batch of mixed lengths wastes compute on padding: the batch is cut
// into length-sorted sub-batches (split_by_length) wherever padding would exceed the real tokens by
// more than `max_padding_ratio`, once a sub-batch is big enough (`min_split_tokens`) to keep the
// GEMMs efficient. The model is exact under padding, so this changes speed, never answers. The queue is bounded (`max_queue_rows`):
// submit() past the bound or after stop() throws ApiError(Overloaded) at once, it never blocks.
//
//   Batcher batcher(backend, {.max_batch_tokens = 16384}, &metrics);
//   std::vector<std::future<RowResult>> futs = batcher.submit({ids_a, ids_b});
//   RowResult r = futs[0].get();   // r.ok(), r.logits, r.queue_seconds, r.inference_seconds
//   batcher.stop();                // finishes every queued row, then joins the worker
//
// Metrics when given: te_batch_next_size, te_batch_next_tokens (per backend call, padded tokens;
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
  size_t max_batch_requests = 0;   // 0 = limited by tokens only
  size_t max_queue_rows = 1 << 16;
  double max_padding_ratio = 1.3;  // padded / real tokens allowed per backend call; 0 = never split
  size_t min_split_tokens = 256;   // a sub-batch is closed only once it holds this many padded tokens
};

// Row indices grouped for backend calls: sorted by length, cut where the group's padded tokens
// (longest x rows) would exceed max_padding_ratio x its real tokens and the group already holds
// min_split_tokens padded tokens. max_padding_ratio <= 0: one group, in the given order.
std::vector<std::vector<size_t>> split_by_length(const std::vector<size_t>& lengths, double max_padding_ratio,
                                                 size_t min_split_tokens);

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

  std::vector<std::future<RowResult>> submit(std::vector<std::vector<int32_t>> rows);
  void stop();
  size_t queue_size() const;
  const BatcherOptions& options() const { return opts_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Item {
    std::vector<int32_t> ids;
    std::promise<RowResult> promise;
    Clock::time_point enqueued;
  };

  void run();
  std::vector<Item> next_batch(std::unique_lock<std::mutex>& lock);
  void run_group(std::vector<Item>& batch, const std::vector<size_t>& group);

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
