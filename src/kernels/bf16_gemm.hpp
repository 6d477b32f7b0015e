// bf16_gemm.hpp — matrix products on bfloat16 operands with FP32 accumulation (--dtype bf16, --bf16).
//
// What torch does for a bf16 nn.Linear / torch.matmul on CPU (and under torch.autocast("cpu",
// torch.bfloat16)): both operands rounded from FP32 to bf16 to nearest, ties to even (NaN stays NaN),
// the products summed in FP32. bf16 x bf16 products are exact in FP32, so the only rounding is in
// the sums; every path sums each pair of k values in the order vdpbf16ps does (k+1 then k, one FMA
// each), so the paths agree to the last bit on normal numbers (vdpbf16ps flushes denormals).
//
// Kernels, chosen by active_cpu_isa() (kernels/cpu_isa.hpp) or an explicit CpuIsa:
//   avx512_bf16  vdpbf16ps: 2 bf16 products per FP32 lane, 32 per instruction
//   avx2         bf16 widened to FP32 (a shift / mask) and FMA — also used on avx512 without BF16
//   scalar       plain loops (the reference)
// The right-hand operand is packed as the kernels read it: [n_pad / 16][k_pad / 2][16 columns][2 k]
// (n_pad = n rounded up to 16, k_pad = k rounded up to 2, padding zero). A linear's weight is
// packed once (Bf16Weights); the training products pack both operands per call (gemm_bf16).
//
//   Bf16Weights wb = pack_weights_bf16(W, out, in);              // once: W [out, in] FP32
//   linear_forward_bf16(y, x, wb, b, N);                         // y[N, out] = bf16(x) bf16(W)^T + b
//   gemm_bf16(false, true, N, out, in, x, in, W, in, 0.f, y, out);   // the same product, unpacked W
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/cpu_isa.hpp"

namespace bert_emotion {

// FP32 -> bf16 bits, round to nearest even (torch's c10::BFloat16 rounding); NaN -> quiet NaN.
inline uint16_t float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16, quiet_nan = (u >> 16) | 0x40u;
  return uint16_t((u & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);  // a select: vectorises
}
inline float bf16_to_float(uint16_t h) {
  const uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
// f rounded to the nearest bf16, as a float.
inline float round_to_bf16(float f) { return bf16_to_float(float_to_bf16(f)); }

// Packed right-hand operand: rows `n` (a linear's outputs) by `k` (its inputs).
struct Bf16Weights {
  int64_t n = 0, k = 0;
  int64_t n_pad = 0, k_pad = 0;
  std::vector<uint16_t> packed;  // [n_pad / 16][k_pad / 2][16][2]
  size_t bytes() const { return packed.size() * sizeof(uint16_t); }
};

// W [out, in] FP32 rounded to bf16 and packed.
Bf16Weights pack_weights_bf16(const float* W, int64_t out, int64_t in);
// Already bf16 bits h [out, in] (a BF16 safetensors tensor), packed.
Bf16Weights pack_weights_bf16(const uint16_t* h, int64_t out, int64_t in);
// h [out, in] back from the packed layout (what `quantize --dtype bf16` writes).
std::vector<uint16_t> unpack_weights_bf16(const Bf16Weights& w);

// xb[N, k_pad] (columns k..k_pad-1 zero) = bf16(x[N, k]).
void convert_rows_bf16(uint16_t* xb, const float* x, int64_t N, int64_t k, int64_t k_pad);

// C[M, ldc] (columns 0..w.n-1) = alpha * (a[M, w.k_pad] w^T) + beta * C + bias (bias may be null; C
// is not read when beta is 0). a holds bf16 bits, as convert_rows_bf16 writes them.
void gemm_bf16_packed(float* C, int64_t ldc, const uint16_t* a, const Bf16Weights& w, int64_t M, float alpha,
                      float beta, const float* bias, CpuIsa isa = active_cpu_isa());

// y[N, out] = bf16(x[N, in]) bf16(W)^T + b (b may be null), FP32 out.
void linear_forward_bf16(float* y, const float* x, const Bf16Weights& w, const float* b, int64_t N,
                         CpuIsa isa = active_cpu_isa());

// gemm() (kernels/gemm.hpp) on bf16-rounded operands: C[M,N] = alpha op(A) op(B) + beta C, FP32
// accumulation and output. Both operands are rounded and packed per call (training's products),
// except that inside a Bf16WeightReuseScope an operand that is `weight` (a linear's W, which the
// forward and dx products share) is rounded once per scope where oneDNN runs the product.
// Where gemm_bf16_runs_onednn says so (AVX-512 BF16, alpha 1, beta 0 or 1, >= 2^20 multiply-adds:
// a base-size linear's training products) oneDNN's bf16 matmul computes it instead
// (kernels/onednn_matmul.hpp): the same rounded operands and FP32 sums in oneDNN's order, so such
// products agree with the engine's kernels to FP32 accumulation rounding, not bit for bit.
void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc, CpuIsa isa = active_cpu_isa(),
               const float* weight = nullptr);
bool gemm_bf16_runs_onednn(int64_t M, int64_t N, int64_t K, float alpha, float beta, CpuIsa isa = active_cpu_isa());

// What torch.autocast("cpu", torch.bfloat16) does to nn.Linear, for the calling thread while a scope
// lives: linear_forward and linear_backward (kernels/layers.hpp; forward, dx and dW products) run
// gemm_bf16 on bf16-rounded operands with FP32 outputs. Training's --bf16 (train/trainer.hpp).
//   { Bf16AutocastScope autocast(opts.bf16); ... forward, backward ... }
class Bf16AutocastScope {
 public:
  explicit Bf16AutocastScope(bool enabled);
  ~Bf16AutocastScope();
  Bf16AutocastScope(const Bf16AutocastScope&) = delete;
  Bf16AutocastScope& operator=(const Bf16AutocastScope&) = delete;

 private:
  bool previous_;
};
bool bf16_autocast_enabled();

// One training step's weights, for the calling thread while a scope lives: the bf16 copy gemm_bf16
// makes of a weight (its `weight` argument) for the forward product is reused by the dx product
// instead of being rounded again. The weights must not change inside the scope (the optimizer runs
// after it). The copies' memory is kept for the next scope; a copy that a scope did not use is freed
// when it ends (another model trained earlier on the thread).
//   { Bf16WeightReuseScope reuse; ... forward, backward ... }   optimizer.step(...);
class Bf16WeightReuseScope {
 public:
  Bf16WeightReuseScope();
  ~Bf16WeightReuseScope();
  Bf16WeightReuseScope(const Bf16WeightReuseScope&) = delete;
  Bf16WeightReuseScope& operator=(const Bf16WeightReuseScope&) = delete;

  // Bytes of bf16 copies the calling thread holds (kept between scopes).
  static size_t bytes_held();
};

}  // namespace bert_emotion
