// int8_gemm_bench — one base-size linear layer in FP32 (dnnl_sgemm, the engine's linear_forward)
// against the dynamically quantized int8 linear of every instruction-set path this CPU has
// (quantize rows + int8 GEMM + dequantize, kernels/int8_gemm.hpp), at the shapes of a batch-1
// tweet (27 tokens) and a batch of 32 (1280 tokens); items/s = multiply-adds per second.
//
//   build/bench/int8_gemm_bench --benchmark_min_time=0.3      (OMP_NUM_THREADS sets the threads)
#include <benchmark/benchmark.h>

#include <vector>

#include "kernels/cpu_isa.hpp"
#include "kernels/int8_gemm.hpp"
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

// args: N tokens, in, out, isa (-1 = FP32)
void BM_Linear(benchmark::State& state) {
  const int64_t N = state.range(0), in = state.range(1), out = state.range(2);
  const int isa = int(state.range(3));
  if (isa >= 0 && CpuIsa(isa) > detected_cpu_isa()) {
    state.SkipWithError("instruction set not on this CPU");
    return;
  }
  const auto W = normal(size_t(out * in), 1, 0.02f), b = normal(size_t(out), 2, 0.02f);
  const auto x = normal(size_t(N * in), 3, 1.f);
  std::vector<float> y(size_t(N * out));
  const Int8Weights q = quantize_weights_int8(W.data(), out, in);
  for (auto _ : state) {
    if (isa < 0) linear_forward(y.data(), x.data(), W.data(), b.data(), N, in, out);
    else linear_forward_int8(y.data(), x.data(), q, b.data(), N, CpuIsa(isa));
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * N * in * out);
  state.SetLabel(isa < 0 ? "f32" : std::string("int8 ") + cpu_isa_name(CpuIsa(isa)));
}

void Shapes(benchmark::internal::Benchmark* b) {
  for (int64_t N : {27, 1280})
    for (auto [in, out] : {std::pair<int64_t, int64_t>{768, 768}, {768, 3072}, {3072, 768}})
      for (int isa : {-1, int(CpuIsa::avx2), int(CpuIsa::avx512_vnni)}) b->Args({N, in, out, isa});
}
BENCHMARK(BM_Linear)->Apply(Shapes)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
