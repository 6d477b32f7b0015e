// batcher.cpp — see batcher.hpp.
#include "serve/batcher.hpp"

#include <algorithm>
#include <exception>

#include "serve/api_error.hpp"
#include "util/error.hpp"

namespace bert_emotion::serve {

std::vector<std::vector<size_t>> split_by_length(const std::vector<size_t>& lengths, double max_padding_ratio,
                                                 size_t min_split_tokens) {
  std::vector<size_t> order(lengths.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (order.empty()) return {};
  if (max_padding_ratio <= 0.0) return {order};
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return lengths[a] < lengths[b]; });
  std::vector<std::vector<size_t>> groups;
  std::vector<size_t> group;
  size_t real = 0, longest = 0;
  for (size_t idx : order) {
    const size_t len = lengths[idx];
    if (!group.empty()) {
      const double padded_if_added = double(std::max(longest, len)) * double(group.size() + 1);
      const bool too_wasteful = padded_if_added > max_padding_ratio * double(real + len);
      if (too_wasteful && longest * group.size() >= min_split_tokens) {
        groups.push_back(std::move(group));
        group.clear();
        real = longest = 0;
      }
    }
    group.push_back(idx);
    real += len;
    longest = std::max(longest, len);
  }
  if (!group.empty()) groups.push_back(std::move(group));
  return groups;
}

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

std::vector<std::future<RowResult>> Batcher::submit(std::vector<std::vector<int32_t>> rows) {
  std::vector<std::future<RowResult>> futures;
  futures.reserve(rows.size());
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw ApiError(ErrorType::Unhealthy, "the server is shutting down");
    if (queue_.size() + rows.size() > opts_.max_queue_rows)
      throw ApiError(ErrorType::Overloaded, "Model is overloaded");
    const auto now = Clock::now();
    for (auto& ids : rows) {
      Item item{std::move(ids), {}, now};
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
  size_t longest = 0;
  while (!queue_.empty()) {
    const size_t len = queue_.front().ids.size();
    const size_t new_longest = std::max(longest, len);
    const bool fits_tokens = new_longest * (batch.size() + 1) <= opts_.max_batch_tokens;
    const bool fits_rows = opts_.max_batch_requests == 0 || batch.size() + 1 <= opts_.max_batch_requests;
    if (!batch.empty() && !(fits_tokens && fits_rows)) break;
    longest = new_longest;
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
    std::vector<size_t> lengths(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) lengths[i] = batch[i].ids.size();
    for (const auto& group : split_by_length(lengths, opts_.max_padding_ratio, opts_.min_split_tokens))
      run_group(batch, group);
  }
}

void Batcher::run_group(std::vector<Item>& batch, const std::vector<size_t>& group) {
  std::vector<std::vector<int32_t>> rows;
  rows.reserve(group.size());
  size_t longest = 0;
  for (size_t i : group) {
    longest = std::max(longest, batch[i].ids.size());
    rows.push_back(std::move(batch[i].ids));
  }
  if (metrics_) {
    metrics_->observe("te_batch_next_size", static_cast<double>(rows.size()));
    metrics_->observe("te_batch_next_tokens", static_cast<double>(longest * rows.size()));
  }
  const auto start = Clock::now();
  std::vector<std::vector<float>> logits;
  std::string error;
  try {
    logits = backend_.predict(rows);
    if (logits.size() != rows.size())
      error = "backend returned " + std::to_string(logits.size()) + " rows of logits for " +
              std::to_string(rows.size()) + " inputs";
  } catch (const std::exception& e) {
    error = std::string("inference failed: ") + e.what();
  } catch (...) {
    error = "inference failed: unknown exception";
  }
  const double inference = std::chrono::duration<double>(Clock::now() - start).count();
  for (size_t k = 0; k < group.size(); ++k) {
    Item& item = batch[group[k]];
    RowResult r;
    r.queue_seconds = std::chrono::duration<double>(start - item.enqueued).count();
    r.inference_seconds = inference;
    r.batch_rows = group.size();
    if (error.empty()) r.logits = std::move(logits[k]);
    else r.error = error;
    item.promise.set_value(std::move(r));
  }
}

}  // namespace bert_emotion::serve
