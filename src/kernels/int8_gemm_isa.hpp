// int8_gemm_isa.hpp — the per-instruction-set kernels behind int8_gemm.hpp (internal).
//
// Each is defined in a file of its own with a function-level target attribute, so the build's
// baseline flags stay as they are and only int8_gemm.cpp's dispatch (after active_cpu_isa())
// calls code the CPU may lack. Arguments as in int8_gemm.hpp; `rows` [n0, n1) of the batch.
#pragma once

#include <cstdint>

#include "kernels/int8_gemm.hpp"

namespace bert_emotion::int8_isa {

// Per-row symmetric quantization of rows [0, N); see quantize_rows_int8.
void quantize_rows_avx2(int8_t* xq, float* scales, const float* x, int64_t N, int64_t in, int64_t in_pad);
void quantize_rows_avx512(int8_t* xq, float* scales, const float* x, int64_t N, int64_t in, int64_t in_pad);

// acc[N, ldc] = xq q^T, threaded with OpenMP.
void gemm_avx2(int32_t* acc, int64_t ldc, const int8_t* xq, const Int8Weights& w, int64_t N);
void gemm_avx512_vnni(int32_t* acc, int64_t ldc, const int8_t* xq, const Int8Weights& w, int64_t N);

// y[N, out] = fma(float(acc), sx[n] * sw[o], b[o]).
void dequantize_avx2(float* y, const int32_t* acc, int64_t ldc, const float* sx, const Int8Weights& w, const float* b,
                     int64_t N);
void dequantize_avx512(float* y, const int32_t* acc, int64_t ldc, const float* sx, const Int8Weights& w, const float* b,
                       int64_t N);

// The row scale from max |x|: shared by every path so that all round the same way.
inline void row_scale(float maxabs, float* scale, float* inv) {
  *scale = maxabs / 127.f;
  *inv = maxabs > 0.f ? 127.f / maxabs : 0.f;
}

}  // namespace bert_emotion::int8_isa
