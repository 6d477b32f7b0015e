// bf16_gemm.cpp — rounding, packing, the scalar reference kernel and the dispatch of bf16_gemm.hpp.
#include "kernels/bf16_gemm.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <unordered_map>

#include "kernels/bf16_gemm_isa.hpp"
#include "kernels/layers.hpp"
#include "kernels/onednn_matmul.hpp"
#include "util/error.hpp"
#include "util/scratch_buffer.hpp"

namespace bert_emotion {

namespace {

constexpr int64_t kBlock = 16;  // columns per packed block (one zmm of FP32)
constexpr int64_t kPair = 2;    // k values per FP32 lane

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// Sizes w for an n x k operand, reusing its memory (training packs every call: no page faults).
void shape_packed(Bf16Weights& w, int64_t n, int64_t k) {
  if (n <= 0 || k <= 0)
    throw InvalidArgument("bf16 weights: shape [" + std::to_string(n) + ", " + std::to_string(k) +
                          "] must be positive");
  w.n = n;
  w.k = k;
  w.n_pad = round_up(n, kBlock);
  w.k_pad = round_up(k, kPair);
  if (w.packed.size() < size_t(w.n_pad * w.k_pad)) w.packed.resize(size_t(w.n_pad * w.k_pad));
}

// shape_packed, then per_block(b, dst, rows, pairs) for every block b of 16 rows of the packed
// operand (dst: its first pair; rows: how many are real, the rest padding), in parallel.
template <class PerBlock>
void pack_blocks(Bf16Weights& w, int64_t n, int64_t k, PerBlock per_block) {
  shape_packed(w, n, k);
  const int64_t blocks = w.n_pad / kBlock, pairs = w.k_pad / kPair;
#pragma omp parallel for schedule(static) if (n * k > 65536)
  for (int64_t b = 0; b < blocks; ++b)
    per_block(b, w.packed.data() + b * pairs * kBlock * kPair, std::min(kBlock, n - b * kBlock), pairs);
}

// Packs the n x k operand whose (row, col) element `at` gives as bf16 bits (a BF16 checkpoint's
// weights, packed once at load; the FP32 products use pack_rows_f32 / pack_cols_f32 below).
template <class At>
Bf16Weights pack(int64_t n, int64_t k, At at) {
  Bf16Weights w;
  pack_blocks(w, n, k, [&](int64_t b, uint16_t* dst, int64_t rows, int64_t pairs) {
    for (int64_t p = 0; p < pairs; ++p, dst += kBlock * kPair)
      for (int64_t c = 0; c < kBlock; ++c)
        for (int64_t j = 0; j < kPair; ++j) {
          const int64_t col = p * kPair + j;
          dst[c * kPair + j] = c < rows && col < k ? at(b * kBlock + c, col) : uint16_t{0};
        }
  });
  return w;
}

// Two bf16 values as the 32-bit word the packed layout keeps per (column, pair): k even in the low half.
inline uint32_t bf16_pair(float lo, float hi) {
  return uint32_t(float_to_bf16(lo)) | uint32_t(float_to_bf16(hi)) << 16;
}

// Packs the n x k operand with element (r, c) = src[r * ld + c] (a linear's W [out, in]; pairs run along a row).
// A block's 16 rows are converted 16 pairs at a time into a tile (contiguous reads, vectorised) and
// the tile written transposed, 64 bytes per pair (not 2 elements gathered from 16 rows at a time).
void pack_rows_f32(Bf16Weights& w, int64_t n, int64_t k, const float* src, int64_t ld) {
  pack_blocks(w, n, k, [&](int64_t b, uint16_t* dst, int64_t rows, int64_t pairs) {
    for (int64_t p0 = 0; p0 < pairs; p0 += kBlock) {
      const int64_t pn = std::min(kBlock, pairs - p0);
      const bool whole = 2 * (p0 + pn) <= k;  // no odd last column in this tile
      uint32_t tile[kBlock][kBlock] = {};     // [row][pair]
      for (int64_t r = 0; r < rows; ++r) {
        const float* s = src + (b * kBlock + r) * ld + 2 * p0;
        if (whole) {
          for (int64_t q = 0; q < pn; ++q) tile[r][q] = bf16_pair(s[2 * q], s[2 * q + 1]);
        } else {
          for (int64_t q = 0; q < pn; ++q) tile[r][q] = bf16_pair(s[2 * q], 2 * (p0 + q) + 1 < k ? s[2 * q + 1] : 0.f);
        }
      }
      uint32_t out[kBlock][kBlock];  // [pair][row]
      for (int64_t q = 0; q < pn; ++q)
        for (int64_t r = 0; r < kBlock; ++r) out[q][r] = tile[r][q];
      std::memcpy(dst + p0 * kBlock * kPair, out, size_t(pn) * sizeof(out[0]));
    }
  });
}

// Packs the n x k operand with element (r, c) = src[c * ld + r] (op(B) = B not transposed: dx's W, dW's x): a
// block's 16 columns are contiguous in each of the pair's two source rows.
void pack_cols_f32(Bf16Weights& w, int64_t n, int64_t k, const float* src, int64_t ld) {
  pack_blocks(w, n, k, [&](int64_t b, uint16_t* dst, int64_t cols, int64_t pairs) {
    for (int64_t p = 0; p < pairs; ++p) {
      const float* s0 = src + 2 * p * ld + b * kBlock;
      const float* s1 = 2 * p + 1 < k ? s0 + ld : nullptr;
      uint32_t out[kBlock];
      if (cols == kBlock && s1 != nullptr) {
        for (int64_t c = 0; c < kBlock; ++c) out[c] = bf16_pair(s0[c], s1[c]);
      } else {
        for (int64_t c = 0; c < kBlock; ++c) out[c] = c < cols ? bf16_pair(s0[c], s1 != nullptr ? s1[c] : 0.f) : 0u;
      }
      std::memcpy(dst + p * kBlock * kPair, out, sizeof(out));
    }
  });
}

void gemm_scalar(float* C, int64_t ldc, const uint16_t* a, const Bf16Weights& w, int64_t M, float alpha, float beta,
                 const float* bias) {
  const int64_t pairs = w.k_pad / kPair;
#pragma omp parallel for schedule(static) if (M * w.n_pad * w.k_pad > 65536)
  for (int64_t m = 0; m < M; ++m)
    for (int64_t o = 0; o < w.n; ++o) {
      const uint16_t* wb = w.packed.data() + (o / kBlock) * pairs * kBlock * kPair + (o % kBlock) * kPair;
      const uint16_t* x = a + m * w.k_pad;
      float acc = 0.f;
      for (int64_t p = 0; p < pairs; ++p) {  // k+1 then k, as vdpbf16ps
        const uint16_t* wp = wb + p * kBlock * kPair;
        acc = std::fma(bf16_to_float(x[2 * p + 1]), bf16_to_float(wp[1]), acc);
        acc = std::fma(bf16_to_float(x[2 * p]), bf16_to_float(wp[0]), acc);
      }
      C[m * ldc + o] = bf16_isa::finish(acc, alpha, beta, C + m * ldc + o, bias ? bias + o : nullptr);
    }
}

// The calling thread's buffers, grown on demand (the Classifier runs batches on many threads).
struct Scratch {
  ScratchBuffer<uint16_t> a;        // linear_forward_bf16's rows
  ScratchBuffer<uint16_t> product;  // gemm_bf16's left operand
  Bf16Weights w;                    // gemm_bf16's right operand
  ScratchBuffer<uint16_t> right;    // gemm_bf16's right operand for oneDNN (plain, as stored)
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

thread_local bool autocast_bf16 = false;

// Products of at least this many multiply-adds run on oneDNN's bf16 matmul where the CPU has
// AVX-512 BF16 (gemm_bf16_runs_onednn). oneDNN's brgemm ran a base-size linear's three training
// products (140 rows) 1.2-1.35x faster than the engine's kernel, conversions included (bench/
// bf16_gemm_bench.cpp BM_LinearTrain before and after; docs/PERFORMANCE.md); below ~1M the
// primitive's fixed cost is a larger share and the engine's kernel is kept.
constexpr int64_t kOnednnMinProducts = int64_t(1) << 20;

// dst[rows, ld_dst] = bf16(src[rows, cols] with leading dimension ld_src); columns cols..ld_dst-1 zero.
void convert_bf16(uint16_t* dst, int64_t ld_dst, const float* src, int64_t ld_src, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = src + r * ld_src;
    uint16_t* out = dst + r * ld_dst;
    for (int64_t c = 0; c < cols; ++c) out[c] = float_to_bf16(row[c]);
    for (int64_t c = cols; c < ld_dst; ++c) out[c] = 0;
  }
}

// The calling thread's Bf16WeightReuseScope: a weight's bf16 copy (compact, as stored) by address.
struct WeightCopy {
  int64_t rows = 0, cols = 0, ld = 0;
  bool valid = false;
  std::vector<uint16_t> bits;
};
struct WeightCopies {
  bool active = false;
  std::unordered_map<const float*, WeightCopy> by_weight;
};
WeightCopies& weight_copies() {
  thread_local WeightCopies copies;
  return copies;
}

// The scope's bf16 copy of the stored matrix w [rows, cols] (leading dimension ld), made on first
// use; null outside a scope.
const uint16_t* reused_weight(const float* w, int64_t rows, int64_t cols, int64_t ld) {
  WeightCopies& c = weight_copies();
  if (!c.active) return nullptr;
  WeightCopy& copy = c.by_weight[w];
  if (!copy.valid || copy.rows != rows || copy.cols != cols || copy.ld != ld) {
    copy.bits.resize(size_t(rows * cols));
    convert_bf16(copy.bits.data(), cols, w, ld, rows, cols);
    copy.rows = rows;
    copy.cols = cols;
    copy.ld = ld;
    copy.valid = true;
  }
  return copy.bits.data();
}

}  // namespace

Bf16Weights pack_weights_bf16(const float* W, int64_t out, int64_t in) {
  Bf16Weights w;
  pack_rows_f32(w, out, in, W, in);
  return w;
}

Bf16Weights pack_weights_bf16(const uint16_t* h, int64_t out, int64_t in) {
  return pack(out, in, [&](int64_t o, int64_t k) { return h[o * in + k]; });
}

std::vector<uint16_t> unpack_weights_bf16(const Bf16Weights& w) {
  std::vector<uint16_t> h(size_t(w.n * w.k));
  const int64_t pairs = w.k_pad / kPair;
  for (int64_t o = 0; o < w.n; ++o)
    for (int64_t k = 0; k < w.k; ++k)
      h[size_t(o * w.k + k)] =
          w.packed[size_t(((o / kBlock) * pairs + k / kPair) * kBlock * kPair + (o % kBlock) * kPair + k % kPair)];
  return h;
}

void convert_rows_bf16(uint16_t* xb, const float* x, int64_t N, int64_t k, int64_t k_pad) {
  convert_bf16(xb, k_pad, x, k, N, k);
}

void gemm_bf16_packed(float* C, int64_t ldc, const uint16_t* a, const Bf16Weights& w, int64_t M, float alpha,
                      float beta, const float* bias, CpuIsa isa) {
  if (ldc < w.n) throw InvalidArgument("gemm_bf16: ldc " + std::to_string(ldc) + " < columns " + std::to_string(w.n));
  if (M <= 0) return;
  if (isa >= CpuIsa::avx512_bf16) bf16_isa::gemm_avx512_bf16(C, ldc, a, w, M, alpha, beta, bias);
  else if (isa >= CpuIsa::avx2) bf16_isa::gemm_avx2(C, ldc, a, w, M, alpha, beta, bias);
  else gemm_scalar(C, ldc, a, w, M, alpha, beta, bias);
}

void linear_forward_bf16(float* y, const float* x, const Bf16Weights& w, const float* b, int64_t N, CpuIsa isa) {
  if (N <= 0) return;
  Scratch& s = scratch();
  uint16_t* a = s.a.ensure(size_t(N * w.k_pad));
  convert_rows_bf16(a, x, N, w.k, w.k_pad);
  gemm_bf16_packed(y, w.n, a, w, N, 1.f, 0.f, b, isa);
}

bool gemm_bf16_runs_onednn(int64_t M, int64_t N, int64_t K, float alpha, float beta, CpuIsa isa) {
  return isa >= CpuIsa::avx512_bf16 && alpha == 1.f && (beta == 0.f || beta == 1.f) && M > 0 && N > 0 && K > 0 &&
         double(M) * double(N) * double(K) >= double(kOnednnMinProducts);
}

void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc, CpuIsa isa, const float* weight) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {  // an empty sum: C = beta C
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) C[m * ldc + n] = beta == 0.f ? 0.f : beta * C[m * ldc + n];
    return;
  }
  Scratch& s = scratch();
  if (gemm_bf16_runs_onednn(M, N, K, alpha, beta, isa)) {
    // Both operands rounded to bf16 as stored (a transpose is a stride for oneDNN), then its matmul.
    const int64_t a_rows = trans_a ? K : M, a_cols = trans_a ? M : K;
    const int64_t b_rows = trans_b ? N : K, b_cols = trans_b ? K : N;
    const uint16_t* a = A == weight ? reused_weight(A, a_rows, a_cols, lda) : nullptr;
    const uint16_t* b = B == weight ? reused_weight(B, b_rows, b_cols, ldb) : nullptr;
    if (a == nullptr) {
      uint16_t* converted = s.product.ensure(size_t(a_rows * a_cols));
      convert_bf16(converted, a_cols, A, lda, a_rows, a_cols);
      a = converted;
    }
    if (b == nullptr) {
      uint16_t* converted = s.right.ensure(size_t(b_rows * b_cols));
      convert_bf16(converted, b_cols, B, ldb, b_rows, b_cols);
      b = converted;
    }
    if (onednn_bf16_gemm(trans_a, trans_b, M, N, K, a, a_cols, b, b_cols, beta == 1.f, C, ldc)) return;
  }
  // op(B)^T [N, K] is the packed operand; op(A) [M, K] the rows.
  Bf16Weights& w = s.w;
  if (trans_b) pack_rows_f32(w, N, K, B, ldb);
  else pack_cols_f32(w, N, K, B, ldb);
  uint16_t* a = s.product.ensure(size_t(M * w.k_pad));
  constexpr int64_t kRows = 16;  // op(A) rows per task: a transposed A is read a cache line per k
  const int64_t tiles = (M + kRows - 1) / kRows;
#pragma omp parallel for schedule(static) if (M * K > 65536)
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t m0 = t * kRows, m1 = std::min(M, m0 + kRows);
    if (trans_a) {
      // 16 (k, k+1) pairs of A's rows at a time: their words for the tile's rows computed from
      // contiguous reads (vectorised), then written transposed into the rows of op(A).
      const int64_t rows = m1 - m0, pairs = w.k_pad / kPair;
      for (int64_t p0 = 0; p0 < pairs; p0 += kRows) {
        const int64_t pn = std::min(kRows, pairs - p0);
        uint32_t words[kRows][kRows];  // [pair][row of op(A)]
        for (int64_t q = 0; q < pn; ++q) {
          const int64_t k = 2 * (p0 + q);
          const float* r0 = A + k * lda + m0;
          if (k + 1 < K) {
            const float* r1 = r0 + lda;
            for (int64_t m = 0; m < rows; ++m) words[q][m] = bf16_pair(r0[m], r1[m]);
          } else {
            for (int64_t m = 0; m < rows; ++m) words[q][m] = bf16_pair(r0[m], 0.f);
          }
        }
        for (int64_t m = 0; m < rows; ++m) {
          uint32_t row[kRows];
          for (int64_t q = 0; q < pn; ++q) row[q] = words[q][m];
          std::memcpy(&a[size_t((m0 + m) * w.k_pad + 2 * p0)], row, size_t(pn) * sizeof(uint32_t));
        }
      }
    } else {
      for (int64_t m = m0; m < m1; ++m)
        for (int64_t k = 0; k < K; ++k) a[size_t(m * w.k_pad + k)] = float_to_bf16(A[m * lda + k]);
    }
    if (!trans_a)
      for (int64_t m = m0; m < m1; ++m)
        for (int64_t k = K; k < w.k_pad; ++k) a[size_t(m * w.k_pad + k)] = 0;
  }
  gemm_bf16_packed(C, ldc, a, w, M, alpha, beta, nullptr, isa);
}

Bf16WeightReuseScope::Bf16WeightReuseScope() {
  WeightCopies& c = weight_copies();
  if (c.active) throw InvalidArgument("Bf16WeightReuseScope: scopes do not nest");
  c.active = true;
}
Bf16WeightReuseScope::~Bf16WeightReuseScope() {
  WeightCopies& c = weight_copies();
  c.active = false;
  // Copies used in this scope keep their memory for the next step's; the others (a model trained
  // earlier on this thread) are freed.
  for (auto it = c.by_weight.begin(); it != c.by_weight.end();) {
    if (it->second.valid) {
      it->second.valid = false;
      ++it;
    } else {
      it = c.by_weight.erase(it);
    }
  }
}

size_t Bf16WeightReuseScope::bytes_held() {
  size_t bytes = 0;
  for (const auto& [key, copy] : weight_copies().by_weight) bytes += copy.bits.size() * sizeof(uint16_t);
  return bytes;
}

Bf16AutocastScope::Bf16AutocastScope(bool enabled) : previous_(autocast_bf16) { autocast_bf16 = enabled; }
Bf16AutocastScope::~Bf16AutocastScope() { autocast_bf16 = previous_; }
bool bf16_autocast_enabled() { return autocast_bf16; }

}  // namespace bert_emotion
