// int8_gemm_avx2.cpp — the AVX2 + FMA kernels of int8_gemm.hpp (function-level target attribute:
// this file never runs on a CPU without AVX2; int8_gemm.cpp dispatches).
//
// The product sign-extends int8 to int16 and multiplies with vpmaddwd (int16 pairs -> int32),
// which is exact; vpmaddubsw would be twice as fast but saturates its int16 pair sums
// (2 * 255 * 127 > 32767), which is why PyTorch's fbgemm needs reduce_range there.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/int8_gemm_isa.hpp"

#define BE_AVX2 __attribute__((target("avx2,fma")))

namespace bert_emotion::int8_isa {

namespace {

BE_AVX2 inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

// 32 floats * inv -> 32 int8 (nearest even, clamped to [-127, 127]) in order.
BE_AVX2 inline void quantize32(int8_t* q, const float* x, __m256 inv) {
  const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
  __m256i v[4];
  for (int i = 0; i < 4; ++i)
    v[i] =
        _mm256_min_epi32(hi, _mm256_max_epi32(lo, _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * i), inv))));
  const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q),
                      _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}

// acc[MR rows][16 channels] of one packed block; k4 groups of 4.
template <int MR>
BE_AVX2 void tile(int32_t* acc, int64_t ldc, const int8_t* xq, int64_t ldx, const int8_t* wb, int64_t k4) {
  __m256i c[MR][4];
  for (int i = 0; i < MR; ++i)
    for (int g = 0; g < 4; ++g) c[i][g] = _mm256_setzero_si256();
  for (int64_t k = 0; k < k4; ++k) {
    const int8_t* wk = wb + k * 64;
    __m256i w[4];
    for (int g = 0; g < 4; ++g)
      w[g] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wk + 16 * g)));
    for (int i = 0; i < MR; ++i) {
      int32_t a4;
      std::memcpy(&a4, xq + i * ldx + k * 4, 4);
      const __m256i a = _mm256_broadcastq_epi64(_mm_cvtepi8_epi16(_mm_cvtsi32_si128(a4)));
      for (int g = 0; g < 4; ++g) c[i][g] = _mm256_add_epi32(c[i][g], _mm256_madd_epi16(a, w[g]));
    }
  }
  // Lanes hold (channel, k pair) partial sums: add the pairs and restore channel order.
  for (int i = 0; i < MR; ++i) {
    const __m256i lo = _mm256_permute4x64_epi64(_mm256_hadd_epi32(c[i][0], c[i][1]), 0xD8);
    const __m256i hi = _mm256_permute4x64_epi64(_mm256_hadd_epi32(c[i][2], c[i][3]), 0xD8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + i * ldc), lo);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + i * ldc + 8), hi);
  }
}

}  // namespace

BE_AVX2 void quantize_rows_avx2(int8_t* xq, float* scales, const float* x, int64_t N, int64_t in, int64_t in_pad) {
#pragma omp parallel for schedule(static) if (N * in > 65536)
  for (int64_t n = 0; n < N; ++n) {
    const float* row = x + n * in;
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 m = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= in; k += 8) m = _mm256_max_ps(m, _mm256_and_ps(abs_mask, _mm256_loadu_ps(row + k)));
    float maxabs = hmax(m);
    for (; k < in; ++k) maxabs = std::max(maxabs, std::fabs(row[k]));
    float inv = 0.f;
    row_scale(maxabs, &scales[n], &inv);
    int8_t* q = xq + n * in_pad;
    const __m256 vinv = _mm256_set1_ps(inv);
    k = 0;
    for (; k + 32 <= in; k += 32) quantize32(q + k, row + k, vinv);
    for (; k < in; ++k) {
      const int r = _mm_cvtss_si32(_mm_set_ss(row[k] * inv));
      q[k] = static_cast<int8_t>(std::clamp(r, -127, 127));
    }
    std::fill(q + in, q + in_pad, int8_t{0});
  }
}

BE_AVX2 void gemm_avx2(int32_t* acc, int64_t ldc, const int8_t* xq, const Int8Weights& w, int64_t N) {
  constexpr int MR = 2;
  const int64_t blocks = w.out_pad / 16, k4 = w.in_pad / 4, row_tiles = (N + MR - 1) / MR;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t jb = 0; jb < blocks; ++jb)
    for (int64_t rt = 0; rt < row_tiles; ++rt) {
      const int64_t n0 = rt * MR;
      const int8_t* wb = w.packed.data() + jb * k4 * 64;
      int32_t* c = acc + n0 * ldc + jb * 16;
      if (N - n0 >= MR) tile<MR>(c, ldc, xq + n0 * w.in_pad, w.in_pad, wb, k4);
      else tile<1>(c, ldc, xq + n0 * w.in_pad, w.in_pad, wb, k4);
    }
}

BE_AVX2 void dequantize_avx2(float* y, const int32_t* acc, int64_t ldc, const float* sx, const Int8Weights& w,
                             const float* b, int64_t N) {
#pragma omp parallel for schedule(static) if (N * w.out > 65536)
  for (int64_t n = 0; n < N; ++n) {
    const __m256 s = _mm256_set1_ps(sx[n]);
    int64_t o = 0;
    for (; o + 8 <= w.out; o += 8) {
      const __m256 a = _mm256_cvtepi32_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + n * ldc + o)));
      const __m256 bias = b ? _mm256_loadu_ps(b + o) : _mm256_setzero_ps();
      _mm256_storeu_ps(y + n * w.out + o,
                       _mm256_fmadd_ps(a, _mm256_mul_ps(s, _mm256_loadu_ps(w.scales.data() + o)), bias));
    }
    for (; o < w.out; ++o)
      y[n * w.out + o] = std::fma(float(acc[n * ldc + o]), sx[n] * w.scales[size_t(o)], b ? b[o] : 0.f);
  }
}

}  // namespace bert_emotion::int8_isa
