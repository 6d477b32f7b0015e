// int8_gemm.hpp — dynamic int8 quantization of a linear layer: y = dequant(q(x) q(W)^T) + b.
//
// What torch.ao.quantization.quantize_dynamic and ONNX Runtime's quantize_dynamic do for
// nn.Linear / MatMul, with per-row activation scales:
//   - W [out, in] float -> int8 per output channel, symmetric: scale_w[o] = max|W[o,:]| / 127,
//     q = round(W / scale_w) in [-127, 127] (done once, at load or by `bert-emotion quantize`);
//   - x [N, in] float -> int8 per row at run time, symmetric: scale_x[n] = max|x[n,:]| / 127;
//   - int32 accumulation of the int8 products, exact;
//   - y[n, o] = fma(float(acc[n, o]), scale_x[n] * scale_w[o], b[o]) in FP32.
// Rounding is to nearest, ties to even, in every path; an all-zero row gets scale 0 (y = b).
//
// Kernels, chosen by active_cpu_isa() (kernels/cpu_isa.hpp) or an explicit CpuIsa:
//   avx512_vnni  vpdpbusd on u8 = x + 128 (the +128 is taken back with 128 * sum_k W[o, k])
//   avx2         sign-extended to int16 and vpmaddwd (no vpmaddubsw: its int16 sums saturate)
//   scalar       plain loops (the reference)
// Every path gives the same int32 accumulators and hence bit-identical outputs (one FMA per output
// in each), so a model quantized here predicts the same on any CPU.
// The weights are packed for the kernels: [out_pad / 16][in_pad / 4][16 channels][4 k] bytes
// (out_pad = out rounded up to 16, in_pad = in rounded up to 4, padding zero).
//
//   Int8Weights qw = quantize_weights_int8(W, out, in);          // once
//   linear_forward_int8(y, x, qw, b, N);                         // y[N, out] = x[N, in] W^T + b
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/cpu_isa.hpp"

namespace bert_emotion {

struct OnednnWeights;  // kernels/onednn_matmul.hpp

struct Int8Weights {
  int64_t out = 0, in = 0;
  int64_t out_pad = 0, in_pad = 0;
  std::vector<int8_t> packed;  // [out_pad / 16][in_pad / 4][16][4]
  std::vector<float> scales;   // [out] scale_w
  std::vector<int32_t> comp;   // [out_pad] 128 * sum_k q[o, k] (the VNNI path's u8 shift)
  // The same q reordered for oneDNN's int8 matmul (kernels/onednn_matmul.hpp), which the avx512_vnni
  // path runs where present: null on CPUs (or under caps) without it.
  std::shared_ptr<const OnednnWeights> onednn;
  size_t bytes() const { return packed.size() + scales.size() * sizeof(float) + comp.size() * sizeof(int32_t); }
};

// q[out, in] and scales[out] from W[out, in]: symmetric per output channel.
void quantize_per_channel_int8(const float* W, int64_t out, int64_t in, int8_t* q, float* scales);
// Packs an already quantized q[out, in] (values in [-127, 127]) with its per-channel scales.
Int8Weights pack_weights_int8(const int8_t* q, const float* scales, int64_t out, int64_t in);
// quantize_per_channel_int8 then pack_weights_int8.
Int8Weights quantize_weights_int8(const float* W, int64_t out, int64_t in);
// q[o, k] back from the packed layout (what `quantize` writes to safetensors).
std::vector<int8_t> unpack_weights_int8(const Int8Weights& w);

// xq[N, in_pad] (columns in..in_pad-1 zero) and scales[N] from x[N, in]: symmetric per row.
void quantize_rows_int8(int8_t* xq, float* scales, const float* x, int64_t N, int64_t in, int64_t in_pad,
                        CpuIsa isa = active_cpu_isa());

// acc[N, ldc] (columns 0..out_pad-1 written) = xq[N, in_pad] q^T, exact int32.
void gemm_int8(int32_t* acc, int64_t ldc, const int8_t* xq, const Int8Weights& w, int64_t N,
               CpuIsa isa = active_cpu_isa());

// y[N, out] = x[N, in] W^T + b (b may be null), dynamically quantized as above.
void linear_forward_int8(float* y, const float* x, const Int8Weights& w, const float* b, int64_t N,
                         CpuIsa isa = active_cpu_isa());

}  // namespace bert_emotion
