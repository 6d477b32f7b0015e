// bf16_gemm_isa.hpp — the per-instruction-set kernels behind bf16_gemm.hpp (internal).
//
// Each is defined in a file of its own with a function-level target attribute, so the build's
// baseline flags stay as they are and only bf16_gemm.cpp's dispatch (after active_cpu_isa()) calls
// code the CPU may lack. Arguments as gemm_bf16_packed's, with lda the row stride of `a` (w.k_pad).
#pragma once

#include <cstdint>

#include "kernels/bf16_gemm.hpp"

namespace bert_emotion::bf16_isa {

void gemm_avx2(float* C, int64_t ldc, const uint16_t* a, const Bf16Weights& w, int64_t M, float alpha, float beta,
               const float* bias);
void gemm_avx512_bf16(float* C, int64_t ldc, const uint16_t* a, const Bf16Weights& w, int64_t M, float alpha,
                      float beta, const float* bias);

// The epilogue every path applies to an FP32 accumulator, in this order.
inline float finish(float acc, float alpha, float beta, const float* c_old, const float* bias) {
  float v = acc * alpha;
  if (beta != 0.f) v = __builtin_fmaf(beta, *c_old, v);
  if (bias != nullptr) v += *bias;
  return v;
}

}  // namespace bert_emotion::bf16_isa
