// bf16_gemm_avx2.cpp — the AVX2 + FMA kernel of bf16_gemm.hpp, for CPUs without AVX-512 BF16
// (function-level target attribute; bf16_gemm.cpp dispatches).
//
// A 32-bit lane of the packed operand holds one column's (k, k+1) pair: k+1's bits are the upper
// half (masked, they are that value as FP32) and k's the lower (shifted up 16). Each pair is added
// k+1 first, one FMA each, as vdpbf16ps does, so this path rounds as the AVX-512 BF16 one does.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/bf16_gemm_isa.hpp"

#define BE_AVX2 __attribute__((target("avx2,fma")))

namespace bert_emotion::bf16_isa {

namespace {

// C[MR rows][16 columns of one packed block].
template <int MR>
BE_AVX2 void tile(float* C, int64_t ldc, const uint16_t* a, int64_t lda, const uint16_t* wb, int64_t k2, float alpha,
                  float beta, const float* bias, int64_t cols) {
  __m256 c[MR][2];
  for (int i = 0; i < MR; ++i) c[i][0] = c[i][1] = _mm256_setzero_ps();
  const __m256i hi = _mm256_set1_epi32(int32_t(0xffff0000u));
  for (int64_t k = 0; k < k2; ++k) {
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + k * 32));
    const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + k * 32 + 16));
    const __m256 w0o = _mm256_castsi256_ps(_mm256_and_si256(w0, hi));
    const __m256 w0e = _mm256_castsi256_ps(_mm256_slli_epi32(w0, 16));
    const __m256 w1o = _mm256_castsi256_ps(_mm256_and_si256(w1, hi));
    const __m256 w1e = _mm256_castsi256_ps(_mm256_slli_epi32(w1, 16));
    for (int i = 0; i < MR; ++i) {
      int32_t a2;
      std::memcpy(&a2, a + i * lda + k * 2, 4);
      const __m256i av = _mm256_set1_epi32(a2);
      const __m256 ao = _mm256_castsi256_ps(_mm256_and_si256(av, hi));
      const __m256 ae = _mm256_castsi256_ps(_mm256_slli_epi32(av, 16));
      c[i][0] = _mm256_fmadd_ps(ae, w0e, _mm256_fmadd_ps(ao, w0o, c[i][0]));
      c[i][1] = _mm256_fmadd_ps(ae, w1e, _mm256_fmadd_ps(ao, w1o, c[i][1]));
    }
  }
  // The epilogue per element (finish()), at most 16 columns.
  alignas(32) float acc[16];
  for (int i = 0; i < MR; ++i) {
    _mm256_store_ps(acc, c[i][0]);
    _mm256_store_ps(acc + 8, c[i][1]);
    float* out = C + i * ldc;
    for (int64_t j = 0; j < cols; ++j) out[j] = finish(acc[j], alpha, beta, out + j, bias ? bias + j : nullptr);
  }
}

}  // namespace

BE_AVX2 void gemm_avx2(float* C, int64_t ldc, const uint16_t* a, const Bf16Weights& w, int64_t M, float alpha,
                       float beta, const float* bias) {
  constexpr int MR = 4;
  const int64_t blocks = w.n_pad / 16, k2 = w.k_pad / 2, stride = k2 * 32;
  const int64_t row_tiles = (M + MR - 1) / MR;
#pragma omp parallel for collapse(2) schedule(static) if (M * w.n_pad * w.k_pad > 32768)
  for (int64_t j = 0; j < blocks; ++j)
    for (int64_t rt = 0; rt < row_tiles; ++rt) {
      const int64_t m0 = rt * MR;
      const int64_t cols = std::min<int64_t>(16, w.n - j * 16);
      const uint16_t* wb = w.packed.data() + j * stride;
      const uint16_t* x = a + m0 * w.k_pad;
      float* c = C + m0 * ldc + j * 16;
      const float* bj = bias ? bias + j * 16 : nullptr;
      switch (std::min<int64_t>(MR, M - m0)) {
        case 4: tile<4>(c, ldc, x, w.k_pad, wb, k2, alpha, beta, bj, cols); break;
        case 3: tile<3>(c, ldc, x, w.k_pad, wb, k2, alpha, beta, bj, cols); break;
        case 2: tile<2>(c, ldc, x, w.k_pad, wb, k2, alpha, beta, bj, cols); break;
        default: tile<1>(c, ldc, x, w.k_pad, wb, k2, alpha, beta, bj, cols); break;
      }
    }
}

}  // namespace bert_emotion::bf16_isa
