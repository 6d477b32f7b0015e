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

using namespace bert_emotion::serve;

namespace {

// Records every batch; the first call waits until release().
class GatedBackend : public Backend {
 public:
  std::vector<std::vector<float>> predict(const std::vector<std::vector<int32_t>>& rows) override {
    {
      std::unique_lock lock(mutex_);
      batches_.push_back(rows);
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
  std::vector<std::vector<std::vector<int32_t>>> batches() {
    std::lock_guard lock(mutex_);
    return batches_;
  }
  bool fail_ = false;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool released_ = false;
  int calls_ = 0;
  std::vector<std::vector<std::vector<int32_t>>> batches_;
};

std::vector<int32_t> row(int32_t tag, size_t len) { return std::vector<int32_t>(len, tag); }

}  // namespace

TEST(Batcher, TokenBudgetCountsPaddedTokensAndKeepsFifo) {
  GatedBackend backend;
  MetricsRegistry metrics;
  // max_padding_ratio 0: every formed batch is one backend call, in FIFO order.
  Batcher batcher(backend, {.max_batch_tokens = 20, .max_batch_requests = 0, .max_queue_rows = 100, .max_padding_ratio = 0},
                  &metrics);
  auto first = batcher.submit({row(0, 4)});
  backend.wait_for_calls(1);  // the worker is now held inside batch 1
  // Queue while held: lengths 5, 5, 5, 8, 2, 2. Padded counts: 5,10,15 then adding 8 -> 8*4=32 > 20:
  // batch 2 = {1,2,3}; batch 3: 8, +2 -> 8*2=16, +2 -> 8*3=24 > 20: {4,5}; batch 4: {6}.
  auto rest = batcher.submit({row(1, 5), row(2, 5), row(3, 5), row(4, 8), row(5, 2), row(6, 2)});
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
  ASSERT_EQ(batches.size(), 4u);
  auto tags = [](const std::vector<std::vector<int32_t>>& b) {
    std::vector<int32_t> t;
    for (auto& r : b) t.push_back(r.front());
    return t;
  };
  EXPECT_EQ(tags(batches[0]), (std::vector<int32_t>{0}));
  EXPECT_EQ(tags(batches[1]), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(tags(batches[2]), (std::vector<int32_t>{4, 5}));
  EXPECT_EQ(tags(batches[3]), (std::vector<int32_t>{6}));
  EXPECT_EQ(metrics.histogram_count("te_batch_next_size"), 4u);
  const std::string text = metrics.render();
  // padded tokens per batch: 4x1 + 5x3 + 8x2 + 2x1 = 37
  EXPECT_NE(text.find("te_batch_next_tokens_sum 37\n"), std::string::npos) << text;
}

TEST(Batcher, RequestCapAndOversizedRowAlone) {
  GatedBackend backend;
  Batcher batcher(backend, {.max_batch_tokens = 10, .max_batch_requests = 2, .max_queue_rows = 100, .max_padding_ratio = 0});
  auto first = batcher.submit({row(0, 1)});
  backend.wait_for_calls(1);
  auto rest = batcher.submit({row(1, 1), row(2, 1), row(3, 1), row(4, 30), row(5, 1)});
  backend.release();
  for (auto& f : rest) ASSERT_TRUE(f.get().ok());
  auto batches = backend.batches();
  // cap 2 rows: {1,2}, {3} (+30 would be 60 > 10), {4} alone (a row longer than the budget still runs), {5}
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

TEST(Batcher, SplitByLengthHandDerived) {
  // sorted: 10(0) 11(4) 12(2) | 48(3) 50(1) 52(5). Adding 48 to {10,11,12}: padded 48x4 = 192 >
  // 1.3 x 81 real, and the group already holds 12x3 = 36 >= 20 padded tokens: cut. 50 and 52 join 48
  // (100 <= 1.3 x 98, 156 <= 1.3 x 150).
  const std::vector<size_t> lengths = {10, 50, 12, 48, 11, 52};
  using Groups = std::vector<std::vector<size_t>>;
  EXPECT_EQ(split_by_length(lengths, 1.3, 20), (Groups{{0, 4, 2}, {3, 1, 5}}));
  // min 100: {10,11,12} (36 padded) is too small to close, so 48 joins; adding 50 then gives 250 >
  // 1.3 x 131 with 48x4 = 192 >= 100 padded: cut; 52 joins 50 (104 <= 1.3 x 102).
  EXPECT_EQ(split_by_length(lengths, 1.3, 100), (Groups{{0, 4, 2, 3}, {1, 5}}));
  EXPECT_EQ(split_by_length(lengths, 0, 20), (Groups{{0, 1, 2, 3, 4, 5}}));  // disabled: FIFO, one call
  EXPECT_EQ(split_by_length({7, 7, 7}, 1.3, 1), (Groups{{0, 1, 2}}));         // equal lengths never split
  EXPECT_TRUE(split_by_length({}, 1.3, 1).empty());
}

TEST(Batcher, MixedLengthsRunAsLengthSortedCallsWithTheRightAnswers) {
  GatedBackend backend;
  Batcher batcher(backend, {.max_batch_tokens = 1000, .max_batch_requests = 0, .max_queue_rows = 100,
                            .max_padding_ratio = 1.3, .min_split_tokens = 20});
  auto first = batcher.submit({row(0, 1)});
  backend.wait_for_calls(1);
  auto rest = batcher.submit({row(1, 10), row(2, 50), row(3, 12), row(4, 48), row(5, 11), row(6, 52)});
  backend.release();
  for (size_t i = 0; i < rest.size(); ++i) {
    auto r = rest[i].get();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.logits[1], float(i + 1)) << "result delivered to the wrong request";
    EXPECT_EQ(r.batch_rows, 3u);
  }
  auto batches = backend.batches();
  ASSERT_EQ(batches.size(), 3u);  // the held call, then the two length groups
  EXPECT_EQ(batches[1].size(), 3u);
  EXPECT_EQ(batches[1].back().size(), 12u);
  EXPECT_EQ(batches[2].front().size(), 48u);
}
