// int8_gemm_avx512.cpp — the AVX-512 kernels of int8_gemm.hpp: VNNI's vpdpbusd product and the
// AVX-512 F/BW quantize and dequantize (function-level target attributes; int8_gemm.cpp
// dispatches, so this code never runs on a CPU without them).
//
// vpdpbusd multiplies unsigned by signed bytes, 4 per int32 lane, without intermediate saturation.
// The activations are symmetric int8, so the kernel feeds x + 128 (a sign-bit flip) and subtracts
// 128 * sum_k q[o, k] (Int8Weights::comp) at the end: the int32 result is exactly x . q.
// GCC 12 warns inside its own AVX-512 intrinsics (the _mm512_undefined_* passthrough of the
// unmasked forms: GCC PR 105593, fixed in 13); the warning is located in the header, so it is
// silenced for the header only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cstring>

#include "kernels/int8_gemm_isa.hpp"

#define BE_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))
#define BE_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")))

namespace bert_emotion::int8_isa {

namespace {

// acc[MR rows][NR blocks of 16 channels]; the blocks lie `block_stride` bytes apart.
template <int MR, int NR>
BE_VNNI void tile(int32_t* acc, int64_t ldc, const int8_t* xq, int64_t ldx, const int8_t* wb, int64_t block_stride,
                  int64_t k4, const int32_t* comp) {
  __m512i c[MR][NR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) c[i][j] = _mm512_setzero_si512();
  const __m512i flip = _mm512_set1_epi32(int32_t(0x80808080u));
  for (int64_t k = 0; k < k4; ++k) {
    __m512i w[NR];
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) w[j] = _mm512_loadu_si512(wb + j * block_stride + k * 64);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      int32_t a4;
      std::memcpy(&a4, xq + i * ldx + k * 4, 4);
      const __m512i a = _mm512_xor_si512(_mm512_set1_epi32(a4), flip);
#pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) c[i][j] = _mm512_dpbusd_epi32(c[i][j], a, w[j]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j)
      _mm512_storeu_si512(acc + i * ldc + j * 16, _mm512_sub_epi32(c[i][j], _mm512_loadu_si512(comp + j * 16)));
}

template <int MR>
BE_VNNI void tile_rows(int nr, int32_t* acc, int64_t ldc, const int8_t* xq, int64_t ldx, const int8_t* wb,
                       int64_t block_stride, int64_t k4, const int32_t* comp) {
  switch (nr) {
    case 4: tile<MR, 4>(acc, ldc, xq, ldx, wb, block_stride, k4, comp); break;
    case 3: tile<MR, 3>(acc, ldc, xq, ldx, wb, block_stride, k4, comp); break;
    case 2: tile<MR, 2>(acc, ldc, xq, ldx, wb, block_stride, k4, comp); break;
    default: tile<MR, 1>(acc, ldc, xq, ldx, wb, block_stride, k4, comp); break;
  }
}

}  // namespace

BE_AVX512 void quantize_rows_avx512(int8_t* xq, float* scales, const float* x, int64_t N, int64_t in, int64_t in_pad) {
#pragma omp parallel for schedule(static) if (N * in > 65536)
  for (int64_t n = 0; n < N; ++n) {
    const float* row = x + n * in;
    __m512 m = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 16 <= in; k += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(row + k)));
    if (k < in) {
      const __mmask16 tail = __mmask16((1u << (in - k)) - 1);
      m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_maskz_loadu_ps(tail, row + k)));
    }
    float inv = 0.f;
    row_scale(_mm512_reduce_max_ps(m), &scales[n], &inv);
    int8_t* q = xq + n * in_pad;
    const __m512 vinv = _mm512_set1_ps(inv);
    const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
    for (k = 0; k < in; k += 16) {
      const __mmask16 mask = in - k >= 16 ? __mmask16(0xffff) : __mmask16((1u << (in - k)) - 1);
      const __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(mask, row + k), vinv));
      _mm512_mask_cvtepi32_storeu_epi8(q + k, mask, _mm512_min_epi32(hi, _mm512_max_epi32(lo, v)));
    }
    std::fill(q + in, q + in_pad, int8_t{0});
  }
}

BE_VNNI void gemm_avx512_vnni(int32_t* acc, int64_t ldc, const int8_t* xq, const Int8Weights& w, int64_t N) {
  constexpr int MR = 4, NR = 4;
  const int64_t blocks = w.out_pad / 16, k4 = w.in_pad / 4, stride = k4 * 64;
  const int64_t panels = (blocks + NR - 1) / NR, row_tiles = (N + MR - 1) / MR;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t rt = 0; rt < row_tiles; ++rt) {
      const int64_t n0 = rt * MR, j0 = p * NR;
      const int nr = int(std::min<int64_t>(NR, blocks - j0));
      const int8_t* wb = w.packed.data() + j0 * stride;
      const int8_t* x = xq + n0 * w.in_pad;
      int32_t* c = acc + n0 * ldc + j0 * 16;
      const int32_t* comp = w.comp.data() + j0 * 16;
      switch (std::min<int64_t>(MR, N - n0)) {
        case 4: tile_rows<4>(nr, c, ldc, x, w.in_pad, wb, stride, k4, comp); break;
        case 3: tile_rows<3>(nr, c, ldc, x, w.in_pad, wb, stride, k4, comp); break;
        case 2: tile_rows<2>(nr, c, ldc, x, w.in_pad, wb, stride, k4, comp); break;
        default: tile_rows<1>(nr, c, ldc, x, w.in_pad, wb, stride, k4, comp); break;
      }
    }
}

BE_AVX512 void dequantize_avx512(float* y, const int32_t* acc, int64_t ldc, const float* sx, const Int8Weights& w,
                                 const float* b, int64_t N) {
#pragma omp parallel for schedule(static) if (N * w.out > 65536)
  for (int64_t n = 0; n < N; ++n) {
    const __m512 s = _mm512_set1_ps(sx[n]);
    for (int64_t o = 0; o < w.out; o += 16) {
      const __mmask16 mask = w.out - o >= 16 ? __mmask16(0xffff) : __mmask16((1u << (w.out - o)) - 1);
      const __m512 a = _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(mask, acc + n * ldc + o));
      const __m512 bias = b ? _mm512_maskz_loadu_ps(mask, b + o) : _mm512_setzero_ps();
      const __m512 scale = _mm512_mul_ps(s, _mm512_maskz_loadu_ps(mask, w.scales.data() + o));
      _mm512_mask_storeu_ps(y + n * w.out + o, mask, _mm512_fmadd_ps(a, scale, bias));
    }
  }
}

}  // namespace bert_emotion::int8_isa
