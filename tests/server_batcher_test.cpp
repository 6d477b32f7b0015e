// The batcher: token budget (padded count), request cap, FIFO order, error propagation, draining stop().
// A gated fake backend holds the worker in its first call so that later rows pile up and the next
// batches are formed from a known queue.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "serve/api_error.hpp"
#include "serve/backend.hpp"
#include "serve/batcher.hpp"
#include "util/error.hpp"

using namespace bert_emotion::serve;

namespace {

// Records every batch; the first call waits until release().
class GatedBackend : public Backend {
 public:
  std::vector<std::vector<float>> predict(const TokenRows& rows, const TokenRows& type_rows) override {
    {
      std::unique_lock lock(mutex_);
      batches_.push_back(rows);
      type_batches_.push_back(type_rows);
      ++calls_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return released_; });
    }
    if (fail_) throw std::runtime_error("boom");
    std::vector<std::vector<float>> out;
    for (const auto& r : rows) out.push_back({static_cast<float>(r.size()), static_cast<float>(r.front())});
    return out;
  }
  bool health() override { return true; }
  void wait_for_calls(int n) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return calls_ >= n; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    cv_.notify_all();
  }
  std::vector<TokenRows> batches() {
    std::lock_guard lock(mutex_);
    return batches_;
  }
  std::vector<TokenRows> type_batches() {
    std::lock_guard lock(mutex_);
    return type_batches_;
  }
  bool fail_ = false;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool released_ = false;
  int calls_ = 0;
  std::vector<TokenRows> batches_;
  std::vector<TokenRows> type_batches_;
};

std::vector<int32_t> row(int32_t tag, size_t len) { return std::vector<int32_t>(len, tag); }

}  // namespace

TEST(Batcher, TokenBudgetCountsRealTokensAndKeepsFifo) {
  GatedBackend backend;
  MetricsRegistry metrics;
  Batcher batcher(backend, {.max_batch_tokens = 20, .max_batch_requests = 0, .max_queue_rows = 100}, &metrics);
  auto first = batcher.submit({row(0, 4)});
  backend.wait_for_calls(1);  // the worker is now held inside batch 1
  // Queue while held: lengths 5, 5, 5, 8, 9, 2. Token sums: 5,10,15, +8 = 23 > 20: batch 2 = {1,2,3};
  // batch 3: 8, +9 = 17, +2 = 19: {4,5,6}. (Padded, {4,5,6} would count 9x3 = 27 > 20.)
  auto rest = batcher.submit({row(1, 5), row(2, 5), row(3, 5), row(4, 8), row(5, 9), row(6, 2)});
  EXPECT_EQ(batcher.queue_size(), 6u);
  backend.release();
  auto r0 = first[0].get();
  ASSERT_TRUE(r0.ok());
  EXPECT_EQ(r0.logits, (std::vector<float>{4.f, 0.f}));
  for (size_t i = 0; i < rest.size(); ++i) {
    auto r = rest[i].get();
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.logits[1], float(i + 1)) << "row " << i + 1 << " got another row's result";
    EXPECT_GE(r.queue_seconds, 0.0);
  }
  auto batches = backend.batches();
  ASSERT_EQ(batches.size(), 3u);
  auto tags = [](const std::vector<std::vector<int32_t>>& b) {
    std::vector<int32_t> t;
    for (auto& r : b) t.push_back(r.front());
    return t;
  };
  EXPECT_EQ(tags(batches[0]), (std::vector<int32_t>{0}));
  EXPECT_EQ(tags(batches[1]), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(tags(batches[2]), (std::vector<int32_t>{4, 5, 6}));
  EXPECT_EQ(metrics.histogram_count("te_batch_next_size"), 3u);
  const std::string text = metrics.render();
  // tokens per batch: 4 + 15 + 19 = 38
  EXPECT_NE(text.find("te_batch_next_tokens_sum 38\n"), std::string::npos) << text;
}

TEST(Batcher, RequestCapAndOversizedRowAlone) {
  GatedBackend backend;
  Batcher batcher(backend, {.max_batch_tokens = 10, .max_batch_requests = 2, .max_queue_rows = 100});
  auto first = batcher.submit({row(0, 1)});
  backend.wait_for_calls(1);
  auto rest = batcher.submit({row(1, 1), row(2, 1), row(3, 1), row(4, 30), row(5, 1)});
  backend.release();
  for (auto& f : rest) ASSERT_TRUE(f.get().ok());
  auto batches = backend.batches();
  // cap 2 rows: {1,2}, {3} (+30 would be 31 > 10), {4} alone (a row longer than the budget still runs), {5}
  ASSERT_EQ(batches.size(), 5u);
  EXPECT_EQ(batches[1].size(), 2u);
  EXPECT_EQ(batches[2].size(), 1u);
  EXPECT_EQ(batches[3][0].size(), 30u);
  EXPECT_EQ(batches[4].size(), 1u);
}

TEST(Batcher, BackendErrorReachesEveryRowOfTheBatch) {
  GatedBackend backend;
  backend.fail_ = true;
  backend.release();
  Batcher batcher(backend, {.max_batch_tokens = 100});
  auto futs = batcher.submit({row(1, 3), row(2, 3)});
  for (auto& f : futs) {
    auto r = f.get();
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.error.find("boom"), std::string::npos);
  }
}

TEST(Batcher, WrongNumberOfRowsIsAnError) {
  FunctionBackend backend([](const std::vector<std::vector<int32_t>>&) { return std::vector<std::vector<float>>{}; });
  Batcher batcher(backend, {.max_batch_tokens = 100});
  auto r = batcher.submit({row(1, 3)})[0].get();
  EXPECT_FALSE(r.ok());
}

TEST(Batcher, BoundedQueueAnswersOverloadedAtOnce) {
  GatedBackend backend;
  Batcher batcher(backend, {.max_batch_tokens = 100, .max_batch_requests = 0, .max_queue_rows = 3});
  auto held = batcher.submit({row(0, 1)});
  backend.wait_for_calls(1);
  auto ok = batcher.submit({row(1, 1), row(2, 1), row(3, 1)});
  try {
    batcher.submit({row(4, 1)});
    FAIL() << "queue bound not enforced";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.type, ErrorType::Overloaded);
  }
  backend.release();
  for (auto& f : ok) EXPECT_TRUE(f.get().ok());
}

TEST(Batcher, StopDrainsQueuedRowsThenRefuses) {
  GatedBackend backend;
  Batcher batcher(backend, {.max_batch_tokens = 100});
  auto held = batcher.submit({row(0, 1)});
  backend.wait_for_calls(1);
  auto queued = batcher.submit({row(1, 1), row(2, 1)});
  std::thread stopper([&] { batcher.stop(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  backend.release();
  stopper.join();
  EXPECT_TRUE(held[0].get().ok());
  for (auto& f : queued) EXPECT_TRUE(f.get().ok());  // queued before stop(): finished, not dropped
  EXPECT_THROW(batcher.submit({row(3, 1)}), ApiError);
}

TEST(Batcher, MixedLengthsRunInArrivalOrderInOneCall) {
  // The backend packs rows without padding: nothing is sorted or split, each answer goes back to
  // its own request.
  GatedBackend backend;
  Batcher batcher(backend, {.max_batch_tokens = 1000});
  auto first = batcher.submit({row(0, 1)});
  backend.wait_for_calls(1);
  auto rest = batcher.submit({row(1, 10), row(2, 50), row(3, 12), row(4, 48), row(5, 11), row(6, 52)});
  backend.release();
  for (size_t i = 0; i < rest.size(); ++i) {
    auto r = rest[i].get();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.logits[1], float(i + 1)) << "result delivered to the wrong request";
    EXPECT_EQ(r.batch_rows, 6u);
  }
  auto batches = backend.batches();
  ASSERT_EQ(batches.size(), 2u);
  std::vector<size_t> lengths;
  for (const auto& r : batches[1]) lengths.push_back(r.size());
  EXPECT_EQ(lengths, (std::vector<size_t>{10, 50, 12, 48, 11, 52}));
}

TEST(Batcher, TokenTypesTravelWithTheirRows) {
  // A pair's types (BERT: 0 then 1) reach the backend beside its ids, in the batch's row order; a
  // row submitted without types gets type 0 for every token.
  GatedBackend backend;
  backend.release();
  Batcher batcher(backend, {.max_batch_tokens = 1000});
  auto held = batcher.submit({row(7, 3)});
  held[0].get();
  auto futs = batcher.submit({row(1, 5), row(2, 3)}, {{0, 0, 0, 1, 1}, {0, 0, 0}});
  auto single = batcher.submit({row(3, 2)});
  for (auto& f : futs) ASSERT_TRUE(f.get().ok());
  ASSERT_TRUE(single[0].get().ok());
  const auto ids = backend.batches();
  const auto types = backend.type_batches();
  ASSERT_EQ(ids.size(), types.size());
  for (size_t b = 0; b < ids.size(); ++b) {
    ASSERT_EQ(ids[b].size(), types[b].size());
    for (size_t r = 0; r < ids[b].size(); ++r) {
      ASSERT_EQ(ids[b][r].size(), types[b][r].size());
      const int32_t tag = ids[b][r].front();
      const std::vector<int32_t> want =
          tag == 1 ? std::vector<int32_t>{0, 0, 0, 1, 1} : std::vector<int32_t>(ids[b][r].size(), 0);
      EXPECT_EQ(types[b][r], want) << "row tagged " << tag;
    }
  }
  EXPECT_THROW(batcher.submit({row(4, 2)}, {{0, 0}, {0}}), bert_emotion::InvalidArgument);
  batcher.stop();
}
