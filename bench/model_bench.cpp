// DistilBERT forward / training-step timings on a random base-size model (distilbert-base-cased
// shape, 65.8 M parameters): batch-1 latency at 27 tokens (a typical tweet) and a batch-4
// training step (forward + CE + backward; the optimizer is the trainer's) at 35 tokens per row, in
// FP32 and under --bf16 (BM_TrainStepBf16).
// Run with OMP_WAIT_POLICY=PASSIVE on a shared machine; compare with ../shared/reference/bench.py.
//   build/bench/model_bench --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include <vector>

#include "bench_common.hpp"
#include "kernels/bf16_gemm.hpp"
#include "model/config.hpp"
#include "model/encoder.hpp"
#include "model/init.hpp"

using namespace bert_emotion;

namespace {

struct BaseModel {
  ModelConfig cfg = bench::base_emotion_config();
  ParamLayout layout{cfg};
  std::vector<float> arena, grads;
  Weights w{}, g{};
  BaseModel() {
    arena.resize(layout.size());
    grads.assign(layout.size(), 0.f);
    init_weights(cfg, layout, arena.data(), 42);
    w = layout.bind(arena.data());
    g = layout.bind(grads.data());
  }
};

BaseModel& model() {
  static BaseModel m;
  return m;
}

TokenBatch batch_of(int B, int T) {
  std::vector<std::vector<int32_t>> rows;
  for (int b = 0; b < B; ++b) {
    std::vector<int32_t> r(size_t(T - b % 3));  // slightly ragged, like real batches
    for (size_t t = 0; t < r.size(); ++t) r[t] = int32_t(1000 + 37 * t + 11 * b);
    r.front() = 101;
    r.back() = 102;
    rows.push_back(r);
  }
  return make_batch(rows, 0);
}

void BM_Forward(benchmark::State& state) {
  BaseModel& m = model();
  const TokenBatch batch = batch_of(int(state.range(0)), int(state.range(1)));
  Activations acts;
  activations_reserve(acts, m.cfg, batch.B, batch.T, false);
  std::vector<float> logits(size_t(batch.B) * m.cfg.num_labels());
  for (auto _ : state) {
    encoder_forward(m.cfg, m.w, batch, acts, logits.data(), nullptr);
    benchmark::DoNotOptimize(logits.data());
  }
  state.counters["tokens/s"] =
      benchmark::Counter(double(batch.B) * batch.T, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Forward)->Args({1, 27})->Args({32, 48})->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TrainStep(benchmark::State& state) {
  BaseModel& m = model();
  const TokenBatch batch = batch_of(int(state.range(0)), int(state.range(1)));
  Activations acts;
  activations_reserve(acts, m.cfg, batch.B, batch.T, true);
  const int K = m.cfg.num_labels();
  std::vector<float> logits(size_t(batch.B) * K), dlogits(logits.size());
  std::vector<int32_t> labels(size_t(batch.B));
  for (int b = 0; b < batch.B; ++b) labels[size_t(b)] = b % K;
  uint64_t step = 0;
  for (auto _ : state) {
    DropoutSpec spec{42, step++};
    encoder_forward(m.cfg, m.w, batch, acts, logits.data(), &spec);
    cross_entropy_forward_backward(logits.data(), labels.data(), batch.B, K, dlogits.data());
    encoder_backward(m.cfg, m.w, m.g, batch, acts, dlogits.data());
    benchmark::DoNotOptimize(m.grads.data());
  }
}
BENCHMARK(BM_TrainStep)->Args({4, 35})->Args({32, 40})->Unit(benchmark::kMillisecond)->UseRealTime();

// The same step under --bf16 (kernels/bf16_gemm.hpp: every linear's products on bf16 operands).
void BM_TrainStepBf16(benchmark::State& state) {
  const Bf16AutocastScope autocast(true);
  BM_TrainStep(state);
}
BENCHMARK(BM_TrainStepBf16)->Args({4, 35})->Args({32, 40})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
