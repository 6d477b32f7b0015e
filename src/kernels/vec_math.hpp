// vec_math.hpp — 8-lane AVX2 exp and erf for the pointwise kernels (GELU, softmax).
//
// glibc's expf/erff are scalar calls: at batch 1 the FFN's 3072-wide GELU spent more time in erff
// than the GEMMs around it spent on arithmetic. These replacements are the standard ones:
//   exp256: Cephes expf — x = n ln2 + r (ln2 split in two for an exact product), degree-6
//           polynomial in r, scaled by 2^n through the exponent bits; ~1 ulp, inputs clamped to
//           [-88.38, 88.38] (results below that underflow to ~1e-38, as the GELU/softmax uses
//           expect).
//   erf256: Abramowitz & Stegun 7.1.26 — erf(x) = 1 - (a1 t + ... + a5 t^5) e^{-x^2},
//           t = 1 / (1 + p |x|), odd extension; absolute error <= 1.5e-7 (oneDNN's gelu_erf uses
//           the same); in float ~5e-7. GELU is x * (1 + erf) / 2: relative error ~3e-7.
// Each has a scalar twin with the same operations for tails and non-AVX2 builds, and a 16-lane
// AVX-512 twin (exp512, erf_from_exp512: function-level target, so callers dispatch on
// active_cpu_isa()) with the same IEEE operations lane by lane, hence bit-identical results at
// about half the instructions. Tested against libm and each other in tests/vec_math_test.cpp.
//
//   __m256 e = exp256(_mm256_loadu_ps(x));           // 8 x expf
//   float  s = erf_scalar(0.5f);                     // same formula, one lane
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__AVX2__) && defined(__FMA__)
// GCC 12 warns inside its own AVX-512 intrinsics (GCC PR 105593; see int8_gemm_avx512.cpp).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#define BERT_EMOTION_VEC_MATH 1
#define BERT_EMOTION_AVX512 __attribute__((target("avx512f,avx2,fma")))
#endif

namespace bert_emotion::vecmath {

inline constexpr float kExpHi = 88.3762626647949f, kExpLo = -88.3762626647949f;
inline constexpr float kLog2e = 1.44269504088896341f, kExpC1 = 0.693359375f, kExpC2 = -2.12194440e-4f;
inline constexpr float kExpP0 = 1.9875691500E-4f, kExpP1 = 1.3981999507E-3f, kExpP2 = 8.3334519073E-3f,
                       kExpP3 = 4.1665795894E-2f, kExpP4 = 1.6666665459E-1f, kExpP5 = 5.0000001201E-1f;
inline constexpr float kErfP = 0.3275911f, kErfA1 = 0.254829592f, kErfA2 = -0.284496736f, kErfA3 = 1.421413741f,
                       kErfA4 = -1.453152027f, kErfA5 = 1.061405429f;

inline float exp_scalar(float x) {
  x = std::fmin(std::fmax(x, kExpLo), kExpHi);
  const float fx = std::floor(std::fma(x, kLog2e, 0.5f));
  float r = std::fma(fx, -kExpC1, x);
  r = std::fma(fx, -kExpC2, r);
  const float r2 = r * r;
  float y = kExpP0;
  y = std::fma(y, r, kExpP1);
  y = std::fma(y, r, kExpP2);
  y = std::fma(y, r, kExpP3);
  y = std::fma(y, r, kExpP4);
  y = std::fma(y, r, kExpP5);
  y = std::fma(y, r2, r + 1.f);
  const int32_t bits = (static_cast<int32_t>(fx) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return y * scale;
}

// erf(x) given e = exp(-x^2) (callers that also need the normal pdf compute e once).
inline float erf_from_exp(float x, float e) {
  const float ax = std::fabs(x);
  const float t = 1.f / std::fma(kErfP, ax, 1.f);
  float poly = kErfA5;
  poly = std::fma(poly, t, kErfA4);
  poly = std::fma(poly, t, kErfA3);
  poly = std::fma(poly, t, kErfA2);
  poly = std::fma(poly, t, kErfA1);
  const float r = 1.f - poly * t * e;
  return std::copysign(r, x);
}

inline float erf_scalar(float x) { return erf_from_exp(x, exp_scalar(-x * x)); }

#ifdef BERT_EMOTION_VEC_MATH
inline __m256 exp256(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(kExpLo)), _mm256_set1_ps(kExpHi));
  const __m256 fx = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(kLog2e), _mm256_set1_ps(0.5f)));
  __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(kExpC1), x);
  r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(kExpC2), r);
  const __m256 r2 = _mm256_mul_ps(r, r);
  __m256 y = _mm256_set1_ps(kExpP0);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kExpP1));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kExpP2));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kExpP3));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kExpP4));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kExpP5));
  y = _mm256_fmadd_ps(y, r2, _mm256_add_ps(r, _mm256_set1_ps(1.f)));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(bits));
}

inline __m256 erf_from_exp256(__m256 x, __m256 e) {
  const __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.f));
  const __m256 ax = _mm256_xor_ps(x, sign);
  const __m256 t = _mm256_div_ps(_mm256_set1_ps(1.f), _mm256_fmadd_ps(_mm256_set1_ps(kErfP), ax, _mm256_set1_ps(1.f)));
  __m256 poly = _mm256_set1_ps(kErfA5);
  poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(kErfA4));
  poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(kErfA3));
  poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(kErfA2));
  poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(kErfA1));
  const __m256 r = _mm256_sub_ps(_mm256_set1_ps(1.f), _mm256_mul_ps(_mm256_mul_ps(poly, t), e));
  return _mm256_or_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.f), r), sign);  // copysign(r, x)
}

inline __m256 erf256(__m256 x) {
  return erf_from_exp256(x, exp256(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(x, x))));
}

// exp256 and erf_from_exp256 on 16 lanes, operation for operation (floor = roundscale to -inf).
BERT_EMOTION_AVX512 inline __m512 exp512(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(kExpLo)), _mm512_set1_ps(kExpHi));
  const __m512 fx = _mm512_roundscale_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(kLog2e), _mm512_set1_ps(0.5f)),
                                         _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(kExpC1), x);
  r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(kExpC2), r);
  const __m512 r2 = _mm512_mul_ps(r, r);
  __m512 y = _mm512_set1_ps(kExpP0);
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kExpP1));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kExpP2));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kExpP3));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kExpP4));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kExpP5));
  y = _mm512_fmadd_ps(y, r2, _mm512_add_ps(r, _mm512_set1_ps(1.f)));
  const __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(fx), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(y, _mm512_castsi512_ps(bits));
}

BERT_EMOTION_AVX512 inline __m512 erf_from_exp512(__m512 x, __m512 e) {
  const __m512 sign = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN)));
  const __m512 ax = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x), _mm512_castps_si512(sign)));
  const __m512 t = _mm512_div_ps(_mm512_set1_ps(1.f), _mm512_fmadd_ps(_mm512_set1_ps(kErfP), ax, _mm512_set1_ps(1.f)));
  __m512 poly = _mm512_set1_ps(kErfA5);
  poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(kErfA4));
  poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(kErfA3));
  poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(kErfA2));
  poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(kErfA1));
  const __m512 r = _mm512_sub_ps(_mm512_set1_ps(1.f), _mm512_mul_ps(_mm512_mul_ps(poly, t), e));
  const __m512i abs_r = _mm512_and_si512(_mm512_castps_si512(r), _mm512_set1_epi32(INT32_MAX));
  return _mm512_castsi512_ps(_mm512_or_si512(abs_r, _mm512_castps_si512(sign)));  // copysign(r, x)
}

BERT_EMOTION_AVX512 inline __m512 erf512(__m512 x) {
  return erf_from_exp512(x, exp512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(x, x))));
}
#endif

}  // namespace bert_emotion::vecmath
