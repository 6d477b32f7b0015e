// bf16_gemm_avx512.cpp — the AVX-512 BF16 kernel of bf16_gemm.hpp: vdpbf16ps (function-level target
// attribute; bf16_gemm.cpp dispatches, so this code never runs on a CPU without it).
//
// vdpbf16ps adds to each FP32 lane the two products of a (k, k+1) pair of bf16 values: the packed
// right-hand operand keeps 16 columns x 2 k per 64 bytes, and a row of the left one is broadcast
// 2 k (32 bits) at a time. A tile holds MR rows x NR blocks of 16 columns in zmm accumulators.
// GCC 12 warns inside its own AVX-512 intrinsics (GCC PR 105593, fixed in 13): silenced for the
// header only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cstring>

#include "kernels/bf16_gemm_isa.hpp"

#define BE_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")))

namespace bert_emotion::bf16_isa {

namespace {

struct Epilogue {
  float alpha, beta;
  const float* bias;  // at the tile's first column, or null
  int64_t cols;       // valid columns from the tile's first
};

template <int MR, int NR>
BE_BF16 void tile(float* C, int64_t ldc, const uint16_t* a, int64_t lda, const uint16_t* wb, int64_t block_stride,
                  int64_t k2, const Epilogue& e) {
  __m512 c[MR][NR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) c[i][j] = _mm512_setzero_ps();
  for (int64_t k = 0; k < k2; ++k) {
    __m512i w[NR];
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) w[j] = _mm512_loadu_si512(wb + j * block_stride + k * 32);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      int32_t a2;
      std::memcpy(&a2, a + i * lda + k * 2, 4);
      const __m512i av = _mm512_set1_epi32(a2);
#pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) c[i][j] = _mm512_dpbf16_ps(c[i][j], (__m512bh)av, (__m512bh)w[j]);
    }
  }
  const __m512 alpha = _mm512_set1_ps(e.alpha), beta = _mm512_set1_ps(e.beta);
#pragma GCC unroll 8
  for (int j = 0; j < NR; ++j) {
    const int64_t left = e.cols - j * 16;
    if (left <= 0) break;
    const __mmask16 mask = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
    const __m512 bias = e.bias ? _mm512_maskz_loadu_ps(mask, e.bias + j * 16) : _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      float* out = C + i * ldc + j * 16;
      __m512 v = _mm512_mul_ps(c[i][j], alpha);
      if (e.beta != 0.f) v = _mm512_fmadd_ps(beta, _mm512_maskz_loadu_ps(mask, out), v);
      if (e.bias) v = _mm512_add_ps(v, bias);
      _mm512_mask_storeu_ps(out, mask, v);
    }
  }
}

template <int MR>
BE_BF16 void tile_rows(int nr, float* C, int64_t ldc, const uint16_t* a, int64_t lda, const uint16_t* wb,
                       int64_t block_stride, int64_t k2, const Epilogue& e) {
  switch (nr) {
    case 4: tile<MR, 4>(C, ldc, a, lda, wb, block_stride, k2, e); break;
    case 3: tile<MR, 3>(C, ldc, a, lda, wb, block_stride, k2, e); break;
    case 2: tile<MR, 2>(C, ldc, a, lda, wb, block_stride, k2, e); break;
    default: tile<MR, 1>(C, ldc, a, lda, wb, block_stride, k2, e); break;
  }
}

}  // namespace

BE_BF16 void gemm_avx512_bf16(float* C, int64_t ldc, const uint16_t* a, const Bf16Weights& w, int64_t M, float alpha,
                              float beta, const float* bias) {
  constexpr int MR = 4, NR = 4;
  const int64_t blocks = w.n_pad / 16, k2 = w.k_pad / 2, stride = k2 * 32;
  // Panels of equal width (9 blocks: 3 + 3 + 3, not 4 + 4 + 1, whose 1-wide tile is broadcast-bound).
  const int64_t panels = (blocks + NR - 1) / NR, width = (blocks + panels - 1) / panels;
  const int64_t row_tiles = (M + MR - 1) / MR, tasks = panels * row_tiles;
  // The larger operand is streamed once and the smaller one kept in cache: with more rows than
  // columns (training's y^T = W x^T, thousands of weight rows by a batch's tokens) every row tile
  // runs all panels before the next; otherwise every panel runs all row tiles.
  const bool rows_outer = M > w.n_pad;
#pragma omp parallel for schedule(static) if (M * w.n_pad * w.k_pad > 32768)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t p = rows_outer ? t % panels : t / row_tiles, rt = rows_outer ? t / panels : t % row_tiles;
    const int64_t m0 = rt * MR, j0 = p * width;
    const int nr = int(std::min<int64_t>(width, blocks - j0));
    const Epilogue e{alpha, beta, bias ? bias + j0 * 16 : nullptr, w.n - j0 * 16};
    const uint16_t* wb = w.packed.data() + j0 * stride;
    const uint16_t* x = a + m0 * w.k_pad;
    float* c = C + m0 * ldc + j0 * 16;
    switch (std::min<int64_t>(MR, M - m0)) {
      case 4: tile_rows<4>(nr, c, ldc, x, w.k_pad, wb, stride, k2, e); break;
      case 3: tile_rows<3>(nr, c, ldc, x, w.k_pad, wb, stride, k2, e); break;
      case 2: tile_rows<2>(nr, c, ldc, x, w.k_pad, wb, stride, k2, e); break;
      default: tile_rows<1>(nr, c, ldc, x, w.k_pad, wb, stride, k2, e); break;
    }
  }
}

}  // namespace bert_emotion::bf16_isa
