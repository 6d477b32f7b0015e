// batcher.cpp — see batcher.hpp.
#include "serve/batcher.hpp"

#include <algorithm>
#include <exception>

#include "serve/api_error.hpp"
#include "util/error.hpp"

namespace bert_emotion::serve {

Batcher::Batcher(Backend& backend, BatcherOptions opts, MetricsRegistry* metrics)
    : backend_(backend), opts_(opts), metrics_(metrics) {
  if (opts_.max_batch_tokens == 0) throw InvalidArgument("max_batch_tokens must be > 0");
  if (opts_.max_queue_rows == 0) throw InvalidArgument("max_queue_rows must be > 0");
  if (metrics_) {
    metrics_->add_histogram("te_batch_next_size", power_of_two_buckets(4096));
    metrics_->add_histogram("te_batch_next_tokens", power_of_two_buckets(1 << 20));
    metrics_->set_gauge("te_queue_size", 0);
  }
  worker_ = std::thread([this] { run(); });
}

Batcher::~Batcher() { stop(); }

std::vector<std::future<RowResult>> Batcher::submit(TokenRows rows, TokenRows type_rows) {
  if (!type_rows.empty() && type_rows.size() != rows.size())
    throw InvalidArgument("batcher: " + std::to_string(rows.size()) + " rows but " + std::to_string(type_rows.size()) +
                          " token type rows");
  std::vector<std::future<RowResult>> futures;
  futures.reserve(rows.size());
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw ApiError(ErrorType::Unhealthy, "the server is shutting down");
    if (queue_.size() + rows.size() > opts_.max_queue_rows)
      throw ApiError(ErrorType::Overloaded, "Model is overloaded");
    const auto now = Clock::now();
    for (size_t i = 0; i < rows.size(); ++i) {
      Item item{std::move(rows[i]), type_rows.empty() ? std::vector<int32_t>{} : std::move(type_rows[i]), {}, now};
      futures.push_back(item.promise.get_future());
      queue_.push_back(std::move(item));
    }
    if (metrics_) metrics_->set_gauge("te_queue_size", static_cast<double>(queue_.size()));
  }
  cv_.notify_one();
  return futures;
}

size_t Batcher::queue_size() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void Batcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

// Called with the lock held and the queue non-empty: FIFO prefix that fits both limits.
std::vector<Batcher::Item> Batcher::next_batch(std::unique_lock<std::mutex>&) {
  std::vector<Item> batch;
  size_t tokens = 0;
  while (!queue_.empty()) {
    const size_t len = queue_.front().ids.size();
    const bool fits_tokens = tokens + len <= opts_.max_batch_tokens;
    const bool fits_rows = opts_.max_batch_requests == 0 || batch.size() + 1 <= opts_.max_batch_requests;
    if (!batch.empty() && !(fits_tokens && fits_rows)) break;
    tokens += len;
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  if (metrics_) metrics_->set_gauge("te_queue_size", static_cast<double>(queue_.size()));
  return batch;
}

void Batcher::run() {
  for (;;) {
    std::vector<Item> batch;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      batch = next_batch(lock);
    }
    run_batch(batch);
  }
}

void Batcher::run_batch(std::vector<Item>& batch) {
  TokenRows rows, type_rows;
  rows.reserve(batch.size());
  type_rows.reserve(batch.size());
  size_t tokens = 0;
  for (Item& item : batch) {
    tokens += item.ids.size();
    // A row submitted without types is all type 0, so that every row of the batch has its types.
    if (item.type_ids.empty()) item.type_ids.assign(item.ids.size(), 0);
    rows.push_back(std::move(item.ids));
    type_rows.push_back(std::move(item.type_ids));
  }
  if (metrics_) {
    metrics_->observe("te_batch_next_size", static_cast<double>(rows.size()));
    metrics_->observe("te_batch_next_tokens", static_cast<double>(tokens));
  }
  const auto start = Clock::now();
  std::vector<std::vector<float>> logits;
  std::string error;
  try {
    logits = backend_.predict(rows, type_rows);
    if (logits.size() != rows.size())
      error = "backend returned " + std::to_string(logits.size()) + " rows of logits for " +
              std::to_string(rows.size()) + " inputs";
  } catch (const std::exception& e) {
    error = std::string("inference failed: ") + e.what();
  } catch (...) {
    error = "inference failed: unknown exception";
  }
  const double inference = std::chrono::duration<double>(Clock::now() - start).count();
  for (size_t k = 0; k < batch.size(); ++k) {
    Item& item = batch[k];
    RowResult r;
    r.queue_seconds = std::chrono::duration<double>(start - item.enqueued).count();
    r.inference_seconds = inference;
    r.batch_rows = batch.size();
    if (error.empty()) r.logits = std::move(logits[k]);
    else r.error = error;
    item.promise.set_value(std::move(r));
  }
}

}  // namespace bert_emotion::serve
