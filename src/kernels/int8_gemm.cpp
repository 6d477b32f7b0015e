// int8_gemm.cpp — packing, the scalar reference kernels and the dispatch of int8_gemm.hpp.
#include "kernels/int8_gemm.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/int8_gemm_isa.hpp"
#include "kernels/onednn_matmul.hpp"
#include "util/error.hpp"
#include "util/scratch_buffer.hpp"

namespace bert_emotion {

namespace {

constexpr int64_t kBlock = 16;  // output channels per packed block (one zmm of int32)
constexpr int64_t kGroup = 4;   // k values per int32 lane

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

size_t packed_index(int64_t o, int64_t k, int64_t in_pad) {
  return size_t(((o / kBlock) * (in_pad / kGroup) + k / kGroup) * kBlock * kGroup + (o % kBlock) * kGroup + k % kGroup);
}

int8_t round_to_int8(float v) {
  const float r = std::nearbyint(v);  // ties to even, as cvtps2dq under the default rounding mode
  return static_cast<int8_t>(std::clamp(r, -127.f, 127.f));
}

// One row (or output channel) of n floats, symmetric: q = round(v / scale), scale = max |v| / 127.
void quantize_row(int8_t* q, float* scale, const float* v, int64_t n) {
  float maxabs = 0.f;
  for (int64_t k = 0; k < n; ++k) maxabs = std::max(maxabs, std::fabs(v[k]));
  float inv = 0.f;
  int8_isa::row_scale(maxabs, scale, &inv);
  for (int64_t k = 0; k < n; ++k) q[k] = round_to_int8(v[k] * inv);
}

void quantize_rows_scalar(int8_t* xq, float* scales, const float* x, int64_t N, int64_t in, int64_t in_pad) {
#pragma omp parallel for schedule(static) if (N * in > 65536)
  for (int64_t n = 0; n < N; ++n) {
    quantize_row(xq + n * in_pad, &scales[n], x + n * in, in);
    std::fill(xq + n * in_pad + in, xq + (n + 1) * in_pad, int8_t{0});
  }
}

void gemm_scalar(int32_t* acc, int64_t ldc, const int8_t* xq, const Int8Weights& w, int64_t N) {
#pragma omp parallel for schedule(static) if (N * w.out_pad * w.in_pad > 65536)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < w.out_pad; ++o) {
      int32_t s = 0;
      for (int64_t k = 0; k < w.in_pad; ++k)
        s += int32_t(xq[n * w.in_pad + k]) * int32_t(w.packed[packed_index(o, k, w.in_pad)]);
      acc[n * ldc + o] = s;
    }
}

void dequantize_scalar(float* y, const int32_t* acc, int64_t ldc, const float* sx, const Int8Weights& w, const float* b,
                       int64_t N) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < w.out; ++o)
      y[n * w.out + o] = std::fma(float(acc[n * ldc + o]), sx[n] * w.scales[size_t(o)], b ? b[o] : 0.f);
}

// Activation buffers of the calling thread, grown on demand (the Classifier runs batches on many
// threads at once; OpenMP's workers only fill them).
struct Scratch {
  ScratchBuffer<int8_t> xq;
  ScratchBuffer<float> sx;
  ScratchBuffer<int32_t> acc;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

void quantize_per_channel_int8(const float* W, int64_t out, int64_t in, int8_t* q, float* scales) {
  for (int64_t o = 0; o < out; ++o) quantize_row(q + o * in, &scales[o], W + o * in, in);
}

Int8Weights pack_weights_int8(const int8_t* q, const float* scales, int64_t out, int64_t in) {
  if (out <= 0 || in <= 0)
    throw InvalidArgument("int8 weights: shape [" + std::to_string(out) + ", " + std::to_string(in) +
                          "] must be positive");
  Int8Weights w;
  w.out = out;
  w.in = in;
  w.out_pad = round_up(out, kBlock);
  w.in_pad = round_up(in, kGroup);
  w.packed.assign(size_t(w.out_pad * w.in_pad), 0);
  w.scales.assign(scales, scales + out);
  w.comp.assign(size_t(w.out_pad), 0);
  for (int64_t o = 0; o < out; ++o) {
    int32_t sum = 0;
    for (int64_t k = 0; k < in; ++k) {
      const int8_t v = q[o * in + k];
      if (v == -128)
        throw InvalidArgument("int8 weights: value -128 at [" + std::to_string(o) + ", " + std::to_string(k) +
                              "]; symmetric quantization keeps [-127, 127]");
      w.packed[packed_index(o, k, w.in_pad)] = v;
      sum += v;
    }
    w.comp[size_t(o)] = 128 * sum;
  }
  w.onednn = onednn_prepack_int8(q, out, in);
  return w;
}

Int8Weights quantize_weights_int8(const float* W, int64_t out, int64_t in) {
  std::vector<int8_t> q(size_t(out * in));
  std::vector<float> scales(static_cast<size_t>(out));
  quantize_per_channel_int8(W, out, in, q.data(), scales.data());
  return pack_weights_int8(q.data(), scales.data(), out, in);
}

std::vector<int8_t> unpack_weights_int8(const Int8Weights& w) {
  std::vector<int8_t> q(size_t(w.out * w.in));
  for (int64_t o = 0; o < w.out; ++o)
    for (int64_t k = 0; k < w.in; ++k) q[size_t(o * w.in + k)] = w.packed[packed_index(o, k, w.in_pad)];
  return q;
}

void quantize_rows_int8(int8_t* xq, float* scales, const float* x, int64_t N, int64_t in, int64_t in_pad, CpuIsa isa) {
  if (isa >= CpuIsa::avx512) int8_isa::quantize_rows_avx512(xq, scales, x, N, in, in_pad);
  else if (isa >= CpuIsa::avx2) int8_isa::quantize_rows_avx2(xq, scales, x, N, in, in_pad);
  else quantize_rows_scalar(xq, scales, x, N, in, in_pad);
}

void gemm_int8(int32_t* acc, int64_t ldc, const int8_t* xq, const Int8Weights& w, int64_t N, CpuIsa isa) {
  if (ldc < w.out_pad)
    throw InvalidArgument("gemm_int8: ldc " + std::to_string(ldc) + " < padded outputs " + std::to_string(w.out_pad));
  if (N <= 0) return;
  // oneDNN's int8 matmul runs the base model's shapes 1.7-2.7x faster than our VNNI kernel at every
  // row count measured, 27 to 1280 (bench/onednn_matmul_bench.cpp, docs/PERFORMANCE.md).
  if (isa >= CpuIsa::avx512_vnni && w.onednn && onednn_int8_gemm(acc, ldc, xq, w.in_pad, *w.onednn, N)) {
    // oneDNN wrote columns 0..out-1; the padding ones are zero in every path.
    if (w.out_pad > w.out)
      for (int64_t n = 0; n < N; ++n) std::fill(acc + n * ldc + w.out, acc + n * ldc + w.out_pad, 0);
    return;
  }
  if (isa >= CpuIsa::avx512_vnni) int8_isa::gemm_avx512_vnni(acc, ldc, xq, w, N);
  else if (isa >= CpuIsa::avx2) int8_isa::gemm_avx2(acc, ldc, xq, w, N);
  else gemm_scalar(acc, ldc, xq, w, N);
}

void linear_forward_int8(float* y, const float* x, const Int8Weights& w, const float* b, int64_t N, CpuIsa isa) {
  if (N <= 0) return;
  Scratch& s = scratch();
  int8_t* xq = s.xq.ensure(size_t(N * w.in_pad));
  float* sx = s.sx.ensure(size_t(N));
  // Without padding columns the int32 sums go into y itself and the vector dequantizations turn them
  // into floats where they lie (their vector loads and stores may alias): one stream through memory
  // instead of a separate sum buffer read and y written.
  const bool in_place = w.out_pad == w.out && isa >= CpuIsa::avx2;
  int32_t* acc = in_place ? reinterpret_cast<int32_t*>(y) : s.acc.ensure(size_t(N * w.out_pad));
  quantize_rows_int8(xq, sx, x, N, w.in, w.in_pad, isa);
  gemm_int8(acc, w.out_pad, xq, w, N, isa);
  if (isa >= CpuIsa::avx512) int8_isa::dequantize_avx512(y, acc, w.out_pad, sx, w, b, N);
  else if (isa >= CpuIsa::avx2) int8_isa::dequantize_avx2(y, acc, w.out_pad, sx, w, b, N);
  else dequantize_scalar(y, acc, w.out_pad, sx, w, b, N);
}

}  // namespace bert_emotion
