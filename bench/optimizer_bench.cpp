// optimizer_bench — the per-step cost the trainer adds around forward/backward, on a
// distilbert-base-cased-sized arena (65.8 M floats): zeroing the gradients, the global-norm clip
// and the AdamW update, separately and fused. Compare with the train step of model_bench (~1 s at batch 4 on 2 cores).
//
//   build/bench/optimizer_bench --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <algorithm>
#include <vector>

#include "bench_common.hpp"
#include "model/config.hpp"
#include "model/weights.hpp"
#include "train/optimizer.hpp"
#include "util/rng.hpp"

using namespace bert_emotion;

namespace {

struct BaseArena {
  ModelConfig cfg = bench::base_emotion_config();
  ParamLayout layout{cfg};
  std::vector<float> params, grads;
  BaseArena() {
    params.assign(layout.size(), 0.0f);
    grads.assign(layout.size(), 0.0f);
    Rng rng(1);
    for (size_t i = 0; i < params.size(); ++i) {
      params[i] = rng.normal(0.f, 0.02f);
      grads[i] = rng.normal(0.f, 1e-3f);
    }
  }
};

BaseArena& arena() {
  static BaseArena a;
  return a;
}

void BM_AdamWStep(benchmark::State& state) {
  auto& a = arena();
  AdamW opt(a.layout.params(), a.layout.size(), {});
  for (auto _ : state) {
    opt.step(a.params.data(), a.grads.data(), 5e-5);
    benchmark::DoNotOptimize(a.params.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(a.layout.size()) * 4 *
                          5);  // p, g, m, v read; p, m, v written
}

// What the trainer runs after backward: the norm, then one fused clip + AdamW + zero-grad pass
// (the three benchmarks below, done separately, are what torch does).
void BM_NormThenFusedStep(benchmark::State& state) {
  auto& a = arena();
  AdamW opt(a.layout.params(), a.layout.size(), {});
  std::vector<float> g = a.grads;
  for (auto _ : state) {
    const float norm = global_grad_norm(a.layout.params(), g.data());
    opt.step_and_zero_grads(a.params.data(), g.data(), 5e-5, clip_coefficient(norm, 1.0));
    benchmark::DoNotOptimize(a.params.data());
  }
}

void BM_ClipGradNorm(benchmark::State& state) {
  auto& a = arena();
  for (auto _ : state) benchmark::DoNotOptimize(clip_grad_norm(a.layout.params(), a.grads.data(), 1e9));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(a.layout.size()) * 4);
}

void BM_ZeroGrads(benchmark::State& state) {
  auto& a = arena();
  std::vector<float> g(a.layout.size());
  for (auto _ : state) {
    std::fill(g.begin(), g.end(), 0.0f);
    benchmark::DoNotOptimize(g.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(a.layout.size()) * 4);
}

}  // namespace

BENCHMARK(BM_AdamWStep)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NormThenFusedStep)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ClipGradNorm)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ZeroGrads)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
