// onednn_matmul_bench — issue 16's "oneDNN's matmul primitive or own kernels — measure both": one
// base-size linear layer y[M, out] = x[M, in] W^T + b in each precision, the engine's path against
// oneDNN's matmul primitive with its weights reordered once into the primitive's own blocked layout
// (format_tag::any, what a deployment would cache at load):
//   f32   ours: linear_forward (dnnl_sgemm, which packs W on every call)   oneDNN: f32 matmul
//   bf16  ours: linear_forward_bf16 (kernels/bf16_gemm.hpp)                 oneDNN: bf16 x bf16 -> f32
//   int8  ours: linear_forward_int8 (kernels/int8_gemm.hpp)                 oneDNN: s8 x s8 -> s32
// Both sides start from FP32 x and end at FP32 y: oneDNN's bf16 and int8 runs include the same
// row conversion / per-row quantization and FP32 epilogue (dequantize + bias) as ours, done by the
// engine's own functions, so only the product differs. Shapes: a batch-1 tweet (27 tokens), 128 and
// 512 rows, and a batch of 32 (1280 tokens) through the base model's three linear shapes;
// items/s = multiply-adds/s. The int8 "ours" rows run our own VNNI kernel (the weights' oneDNN copy
// dropped): the engine itself calls oneDNN for int8 where this bench shows it faster
// (kernels/onednn_matmul.hpp).
//
//   build/bench/onednn_matmul_bench --benchmark_min_time=0.3      (OMP_NUM_THREADS sets the threads)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <dnnl.hpp>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/bf16_gemm.hpp"
#include "kernels/int8_gemm.hpp"
#include "kernels/layers.hpp"
#include "util/rng.hpp"

using namespace bert_emotion;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

namespace {

enum Precision { kF32 = 0, kBf16 = 1, kInt8 = 2 };
const char* const kNames[] = {"f32", "bf16", "int8"};

std::vector<float> normal(size_t n, uint64_t seed, float sd) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = rng.normal(0.f, sd);
  return v;
}

// A matmul primitive for [M, in] x [in, out] with W [out, in] reordered once into its layout.
struct OnednnLinear {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::matmul matmul;
  dnnl::memory src, weights, bias, dst;

  OnednnLinear(Precision p, int64_t M, int64_t in, int64_t out, const float* W, const float* b) {
    const dt src_dt = p == kF32 ? dt::f32 : p == kBf16 ? dt::bf16 : dt::s8;
    const dt dst_dt = p == kInt8 ? dt::s32 : dt::f32;
    const dnnl::memory::desc src_md({M, in}, src_dt, tag::ab), dst_md({M, out}, dst_dt, tag::ab);
    const dnnl::memory::desc any_weights({in, out}, src_dt, tag::any), bias_md({1, out}, dt::f32, tag::ab);
    const auto pd =
        p == kInt8 ? dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, any_weights, dst_md), engine)
                   : dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, any_weights, bias_md, dst_md), engine);
    matmul = dnnl::matmul(pd);
    src = dnnl::memory(pd.src_desc(), engine);
    dst = dnnl::memory(pd.dst_desc(), engine);
    weights = dnnl::memory(pd.weights_desc(), engine);
    if (p != kInt8) bias = dnnl::memory(bias_md, engine, const_cast<float*>(b));
    // W [out, in] row-major is W^T [in, out] in column-major order (tag ba); the int8 weights are
    // ours, quantized per output channel, so that both engines multiply the same integers.
    std::vector<float> w32(W, W + out * in);
    std::vector<int8_t> w8;
    dnnl::memory plain;
    if (p == kInt8) {
      w8.resize(size_t(out * in));
      std::vector<float> scales(static_cast<size_t>(out));
      quantize_per_channel_int8(W, out, in, w8.data(), scales.data());
      plain = dnnl::memory({{in, out}, dt::s8, tag::ba}, engine, w8.data());
    } else {
      plain = dnnl::memory({{in, out}, dt::f32, tag::ba}, engine, w32.data());
    }
    dnnl::reorder(plain, weights).execute(stream, plain, weights);  // f32 -> bf16 rounds to nearest even
    stream.wait();
  }
  void run() {
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
    if (bias) args.emplace(DNNL_ARG_BIAS, bias);
    matmul.execute(stream, args);
    stream.wait();
  }
};

// Args: M tokens, in, out, precision, engine (0 ours, 1 oneDNN matmul).
void BM_Linear(benchmark::State& state) {
  const int64_t M = state.range(0), in = state.range(1), out = state.range(2);
  const auto p = Precision(state.range(3));
  const bool onednn = state.range(4) != 0;
  const auto W = normal(size_t(out * in), 1, 0.02f), b = normal(size_t(out), 2, 0.02f);
  const auto x = normal(size_t(M * in), 3, 1.f);
  std::vector<float> y(size_t(M * out));
  state.SetLabel(std::string(kNames[p]) + (onednn ? " oneDNN matmul" : " ours"));
  if (!onednn) {
    const Bf16Weights h = p == kBf16 ? pack_weights_bf16(W.data(), out, in) : Bf16Weights{};
    Int8Weights q = p == kInt8 ? quantize_weights_int8(W.data(), out, in) : Int8Weights{};
    q.onednn.reset();  // our own kernel
    for (auto _ : state) {
      if (p == kF32) linear_forward(y.data(), x.data(), W.data(), b.data(), M, in, out);
      else if (p == kBf16) linear_forward_bf16(y.data(), x.data(), h, b.data(), M);
      else linear_forward_int8(y.data(), x.data(), q, b.data(), M);
      benchmark::DoNotOptimize(y.data());
    }
  } else {
    std::unique_ptr<OnednnLinear> lin;
    try {
      lin = std::make_unique<OnednnLinear>(p, M, in, out, W.data(), b.data());
    } catch (const dnnl::error& e) {
      state.SkipWithError((std::string("oneDNN refused the primitive: ") + e.what()).c_str());
      return;
    }
    // The int8 epilogue's inputs: ours quantizes x per row; W's scales as the engine's.
    const Int8Weights q = p == kInt8 ? quantize_weights_int8(W.data(), out, in) : Int8Weights{};
    std::vector<float> row_scales(static_cast<size_t>(M));
    for (auto _ : state) {
      if (p == kF32) {
        std::copy(x.begin(), x.end(), static_cast<float*>(lin->src.get_data_handle()));
      } else if (p == kBf16) {
        convert_rows_bf16(static_cast<uint16_t*>(lin->src.get_data_handle()), x.data(), M, in, in);
      } else {
        quantize_rows_int8(static_cast<int8_t*>(lin->src.get_data_handle()), row_scales.data(), x.data(), M, in, in);
      }
      lin->run();
      if (p == kInt8) {
        const auto* acc = static_cast<const int32_t*>(lin->dst.get_data_handle());
#pragma omp parallel for schedule(static) if (M * out > 65536)
        for (int64_t m = 0; m < M; ++m)
          for (int64_t o = 0; o < out; ++o)
            y[size_t(m * out + o)] =
                __builtin_fmaf(float(acc[m * out + o]), row_scales[size_t(m)] * q.scales[size_t(o)], b[size_t(o)]);
      }
      benchmark::DoNotOptimize(lin->dst.get_data_handle());
    }
    // Same answer as ours (to rounding): the largest difference, as a counter.
    if (p != kInt8) std::copy_n(static_cast<const float*>(lin->dst.get_data_handle()), y.size(), y.begin());
    std::vector<float> ours(y.size());
    const Bf16Weights h = p == kBf16 ? pack_weights_bf16(W.data(), out, in) : Bf16Weights{};
    if (p == kF32) linear_forward(ours.data(), x.data(), W.data(), b.data(), M, in, out);
    else if (p == kBf16) linear_forward_bf16(ours.data(), x.data(), h, b.data(), M);
    else linear_forward_int8(ours.data(), x.data(), q, b.data(), M);
    double diff = 0;
    for (size_t i = 0; i < y.size(); ++i) diff = std::max(diff, double(std::abs(y[i] - ours[i])));
    state.counters["max_diff_vs_ours"] = diff;
  }
  state.SetItemsProcessed(state.iterations() * M * in * out);
}

void Shapes(benchmark::internal::Benchmark* b) {
  for (int64_t M : {27, 128, 512, 1280})
    for (auto [in, out] : {std::pair<int64_t, int64_t>{768, 768}, {768, 3072}, {3072, 768}})
      for (int p : {kF32, kBf16, kInt8})
        for (int onednn : {0, 1}) b->Args({M, in, out, p, onednn});
}
BENCHMARK(BM_Linear)->Apply(Shapes)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
