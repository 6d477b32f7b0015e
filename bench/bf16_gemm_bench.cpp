// bf16_gemm_bench — base-size linear layers in FP32 (dnnl_sgemm, the engine's linear_forward /
// linear_backward) against the bf16 kernels of every instruction-set path this CPU has
// (kernels/bf16_gemm.hpp): the inference linear (weights packed once, activations rounded per
// call) and training's three products under Bf16AutocastScope and Bf16WeightReuseScope (operands
// rounded per call, W once for forward and dx, as a --bf16 step does; on AVX-512 BF16 these
// products run on oneDNN's bf16 matmul, and the label says so), at the shapes of a batch-1 tweet
// (27 tokens) and a batch of 32 (1280 tokens);
// items/s = multiply-adds per second (x2 for FLOP/s).
//
//   build/bench/bf16_gemm_bench --benchmark_min_time=0.3      (OMP_NUM_THREADS sets the threads)
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "kernels/bf16_gemm.hpp"
#include "kernels/cpu_isa.hpp"
#include "kernels/layers.hpp"
#include "util/rng.hpp"

using namespace bert_emotion;

namespace {

std::vector<float> normal(size_t n, uint64_t seed, float sd) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = rng.normal(0.f, sd);
  return v;
}

bool missing(benchmark::State& state, int isa) {
  if (isa >= 0 && CpuIsa(isa) > detected_cpu_isa()) {
    state.SkipWithError("instruction set not on this CPU");
    return true;
  }
  return false;
}

// Inference: args N tokens, in, out, isa (-1 = FP32).
void BM_Linear(benchmark::State& state) {
  const int64_t N = state.range(0), in = state.range(1), out = state.range(2);
  const int isa = int(state.range(3));
  if (missing(state, isa)) return;
  const auto W = normal(size_t(out * in), 1, 0.02f), b = normal(size_t(out), 2, 0.02f);
  const auto x = normal(size_t(N * in), 3, 1.f);
  std::vector<float> y(size_t(N * out));
  const Bf16Weights h = pack_weights_bf16(W.data(), out, in);
  for (auto _ : state) {
    if (isa < 0) linear_forward(y.data(), x.data(), W.data(), b.data(), N, in, out);
    else linear_forward_bf16(y.data(), x.data(), h, b.data(), N, CpuIsa(isa));
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * N * in * out);
  state.SetLabel(isa < 0 ? "f32" : std::string("bf16 ") + cpu_isa_name(CpuIsa(isa)));
}

// Training: forward + dx + dW of one linear (3 products), FP32 or under --bf16 (the active ISA).
void BM_LinearTrain(benchmark::State& state) {
  const int64_t N = state.range(0), in = state.range(1), out = state.range(2);
  const bool bf16 = state.range(3) != 0;
  const auto W = normal(size_t(out * in), 1, 0.02f), b = normal(size_t(out), 2, 0.02f);
  const auto x = normal(size_t(N * in), 3, 1.f), dy = normal(size_t(N * out), 4, 1.f);
  std::vector<float> y(size_t(N * out)), dx(size_t(N * in)), dW(size_t(out * in)), db(static_cast<size_t>(out));
  const Bf16AutocastScope autocast(bf16);
  for (auto _ : state) {
    const Bf16WeightReuseScope reuse;  // one step
    linear_forward(y.data(), x.data(), W.data(), b.data(), N, in, out);
    linear_backward(dx.data(), dW.data(), db.data(), dy.data(), x.data(), W.data(), N, in, out, false);
    benchmark::DoNotOptimize(dW.data());
  }
  state.SetItemsProcessed(state.iterations() * 3 * N * in * out);
  const bool onednn = bf16 && gemm_bf16_runs_onednn(N, out, in, 1.f, 1.f);
  state.SetLabel(bf16 ? std::string("bf16 ") + cpu_isa_name(active_cpu_isa()) + (onednn ? " (oneDNN matmul)" : "")
                      : "f32");
}

void Shapes(benchmark::internal::Benchmark* b) {
  for (int64_t N : {27, 1280})
    for (auto [in, out] : {std::pair<int64_t, int64_t>{768, 768}, {768, 3072}, {3072, 768}})
      for (int isa : {-1, int(CpuIsa::avx2), int(CpuIsa::avx512_bf16)}) b->Args({N, in, out, isa});
}
BENCHMARK(BM_Linear)->Apply(Shapes)->Unit(benchmark::kMicrosecond);

void TrainShapes(benchmark::internal::Benchmark* b) {
  for (auto [in, out] : {std::pair<int64_t, int64_t>{768, 768}, {768, 3072}, {3072, 768}})
    for (int bf16 : {0, 1}) b->Args({140, in, out, bf16});  // a batch-4 x 35-token training step
}
BENCHMARK(BM_LinearTrain)->Apply(TrainShapes)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
