#include "kernels/layers.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/bf16_gemm.hpp"
#include "kernels/gemm.hpp"
#include "kernels/int8_gemm.hpp"
#include "kernels/onednn_matmul.hpp"
#include "util/error.hpp"
#include "util/scratch_buffer.hpp"

namespace bert_emotion {

namespace {

// A linear's products as a gemm()-shaped function: gemm(), or under --bf16 gemm_bf16 with the
// layer's weight W marked as such, so that inside a Bf16WeightReuseScope its bf16 copy is shared by
// the forward and dx products (activations are never marked: their buffers' contents change).
auto linear_product(const float* W) {
  return [W](bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
             const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
    if (bf16_autocast_enabled())
      gemm_bf16(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, active_cpu_isa(), W);
    else gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  };
}

// Rows for which y^T = W x^T beats y = x W^T. dnnl_sgemm splits a short-and-wide x W^T badly over two
// threads (measured on the base model's six products per layer: 27 rows 44 -> 16.5 ms, 64 rows
// 55 -> 28 ms); at 150 rows (a training batch) it still saves ~4% of a step's CPU time, from ~400
// rows on the two forms tie, and below 8 the plain form streams W better.
constexpr int64_t kTransposedMinRows = 8, kTransposedMaxRows = 256;

// dst[N, M] = src[M, N]^T, in tiles that stay in L1.
void transpose(float* dst, const float* src, int64_t M, int64_t N) {
  constexpr int64_t kTile = 32;
#pragma omp parallel for schedule(static) if (M * N > 262144)
  for (int64_t i0 = 0; i0 < M; i0 += kTile)
    for (int64_t j0 = 0; j0 < N; j0 += kTile) {
      const int64_t i1 = std::min(M, i0 + kTile), j1 = std::min(N, j0 + kTile);
      for (int64_t j = j0; j < j1; ++j)
        for (int64_t i = i0; i < i1; ++i) dst[j * M + i] = src[i * N + j];
    }
}

}  // namespace

void linear_forward(float* y, const float* x, const float* W, const float* b, int64_t N, int64_t in, int64_t out) {
  // Under --bf16 training the same products run on bf16-rounded operands with FP32 sums and output.
  const auto product = linear_product(W);
  // oneDNN's bf16 matmul (large products under --bf16) splits x W^T well as it is.
  const bool onednn_bf16 = bf16_autocast_enabled() && gemm_bf16_runs_onednn(N, out, in, 1.f, b != nullptr ? 1.f : 0.f);
  // y[N,out] = b + x[N,in] W[out,in]^T, as torch's addmm: the bias is written first and the product
  // accumulated onto it (beta = 1), which saves a pass and, for small batches, a thread hand-off.
  if (!onednn_bf16 && N >= kTransposedMinRows && N <= kTransposedMaxRows) {
    // y^T[out,N] = b + W x^T into per-thread scratch (callers may run concurrently), then transposed.
    // For bf16 this form also converts W as plain rows instead of packing it (the packed operand
    // is x, N rows), which costs a third of packing W's 16-row blocks.
    thread_local ScratchBuffer<float> scratch;
    float* yt = scratch.ensure(size_t(out * N));
    if (b != nullptr)
      for (int64_t o = 0; o < out; ++o) std::fill_n(yt + o * N, N, b[o]);
    product(false, true, out, N, in, 1.f, W, in, x, in, b != nullptr ? 1.f : 0.f, yt, N);
    transpose(y, yt, out, N);
    return;
  }
  if (b == nullptr) {
    product(false, true, N, out, in, 1.f, x, in, W, in, 0.f, y, out);
    return;
  }
#pragma omp parallel for schedule(static) if (N * out > 262144)
  for (int64_t n = 0; n < N; ++n) std::copy_n(b, out, y + n * out);
  product(false, true, N, out, in, 1.f, x, in, W, in, 1.f, y, out);
}

void linear_forward_any(float* y, const float* x, const float* W, const Int8Weights* q, const Bf16Weights* h,
                        const OnednnWeights* packed, const float* b, int64_t N, int64_t in, int64_t out) {
  const auto shape_error = [&](const char* what, int64_t w_out, int64_t w_in) {
    return InvalidArgument(std::string(what) + " linear: weights are [" + std::to_string(w_out) + ", " +
                           std::to_string(w_in) + "], the layer needs [" + std::to_string(out) + ", " +
                           std::to_string(in) + "]");
  };
  if (q != nullptr) {
    if (q->in != in || q->out != out) throw shape_error("int8", q->out, q->in);
    return linear_forward_int8(y, x, *q, b, N);
  }
  if (h != nullptr) {
    if (h->k != in || h->n != out) throw shape_error("bf16", h->n, h->k);
    return linear_forward_bf16(y, x, *h, b, N);
  }
  if (packed != nullptr && !bf16_autocast_enabled() && onednn_f32_linear(y, x, *packed, b, N, in, out)) return;
  linear_forward(y, x, W, b, N, in, out);
}

void linear_backward(float* dx, float* dW, float* db, const float* dy, const float* x, const float* W, int64_t N,
                     int64_t in, int64_t out, bool accumulate_dx) {
  // dx[N,in] = dy[N,out] W[out,in]; dW[out,in] += dy^T x — on bf16-rounded operands under --bf16
  const auto product = linear_product(W);
  if (dx != nullptr) product(false, false, N, in, out, 1.f, dy, out, W, in, accumulate_dx ? 1.f : 0.f, dx, in);
  if (dW != nullptr) product(true, false, out, in, N, 1.f, dy, out, x, in, 1.f, dW, in);
  if (db != nullptr) {
    // Column blocks per thread, rows streamed contiguously within a block (vectorises).
    constexpr int64_t kBlock = 256;
    const int64_t n_blocks = (out + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (N * out > 16384)
    for (int64_t blk = 0; blk < n_blocks; ++blk) {
      const int64_t o0 = blk * kBlock, o1 = std::min(out, o0 + kBlock);
      float acc[kBlock] = {};
      for (int64_t n = 0; n < N; ++n) {
        const float* row = dy + n * out;
        for (int64_t o = o0; o < o1; ++o) acc[o - o0] += row[o];
      }
      for (int64_t o = o0; o < o1; ++o) db[o] += acc[o - o0];
    }
  }
}

namespace {
// out[i] = word[ids[i]] + pos[position_of(i)] for i < N.
template <class PositionOf>
void gather_embeddings(float* out, const int32_t* ids, PositionOf position_of, const float* word, const float* pos,
                       int64_t N, int C) {
#pragma omp parallel for schedule(static) if (N * C > 65536)
  for (int64_t i = 0; i < N; ++i) {
    const float* wr = word + int64_t(ids[i]) * C;
    const float* pr = pos + int64_t(position_of(i)) * C;
    float* o = out + i * C;
    for (int c = 0; c < C; ++c) o[c] = wr[c] + pr[c];
  }
}
}  // namespace

void embedding_forward(float* out, const int32_t* ids, const float* word, const float* pos, int B, int T, int C,
                       int V) {
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t) {
      const int32_t id = ids[b * T + t];
      if (id < 0 || id >= V)
        throw InvalidArgument("embedding: token id " + std::to_string(id) + " at row " + std::to_string(b) +
                              ", position " + std::to_string(t) + " is outside the vocabulary [0, " +
                              std::to_string(V) + ")");
    }
  gather_embeddings(
      out, ids, [T](int64_t i) { return i % T; }, word, pos, int64_t(B) * T, C);
}

void embedding_forward_packed(float* out, const int32_t* ids, const int32_t* positions, const float* word,
                              const float* pos, int64_t N, int C, int V) {
  for (int64_t i = 0; i < N; ++i)
    if (ids[i] < 0 || ids[i] >= V)
      throw InvalidArgument("embedding: token id " + std::to_string(ids[i]) + " at packed index " + std::to_string(i) +
                            " is outside the vocabulary [0, " + std::to_string(V) + ")");
  gather_embeddings(
      out, ids, [positions](int64_t i) { return positions[i]; }, word, pos, N, C);
}

void embedding_backward(float* dword, float* dpos, const float* dout, const int32_t* ids, int B, int T, int C,
                        int pad_id) {
  // Rows may repeat a token id, so the word scatter is split over channels, not tokens: each
  // thread owns a slice of columns and walks every token in order (deterministic sums).
#pragma omp parallel for schedule(static) if (int64_t(B) * T * C > 16384)
  for (int c = 0; c < C; ++c) {
    for (int b = 0; b < B; ++b)
      for (int t = 0; t < T; ++t) {
        const int64_t bt = int64_t(b) * T + t;
        const float g = dout[bt * C + c];
        if (dword != nullptr && ids[bt] != pad_id) dword[int64_t(ids[bt]) * C + c] += g;
        if (dpos != nullptr) dpos[int64_t(t) * C + c] += g;
      }
  }
}

void embedding_forward_typed(float* out, const int32_t* ids, const int32_t* positions, const int32_t* type_ids,
                             const float* word, const float* pos, const float* types, int64_t N, int C, int V, int P,
                             int TV) {
  auto check = [](const char* what, int32_t v, int limit, int64_t i) {
    if (v < 0 || v >= limit)
      throw InvalidArgument(std::string("embedding: ") + what + " " + std::to_string(v) + " at token index " +
                            std::to_string(i) + " is outside [0, " + std::to_string(limit) + ")");
  };
  for (int64_t i = 0; i < N; ++i) {
    check("token id", ids[i], V, i);
    check("position id", positions[i], P, i);
    if (type_ids != nullptr) check("token type id", type_ids[i], TV, i);
  }
#pragma omp parallel for schedule(static) if (N * C > 65536)
  for (int64_t i = 0; i < N; ++i) {
    const float* wr = word + int64_t(ids[i]) * C;
    const float* tr = types + int64_t(type_ids != nullptr ? type_ids[i] : 0) * C;
    const float* pr = pos + int64_t(positions[i]) * C;
    float* o = out + i * C;
    for (int c = 0; c < C; ++c) o[c] = (wr[c] + tr[c]) + pr[c];
  }
}

void embedding_backward_typed(float* dword, float* dpos, float* dtypes, const float* dout, const int32_t* ids,
                              const int32_t* positions, const int32_t* type_ids, int64_t N, int C, int word_pad,
                              int pos_pad) {
  // Split over channels, as embedding_backward: deterministic sums whatever the thread count.
#pragma omp parallel for schedule(static) if (N * C > 16384)
  for (int c = 0; c < C; ++c)
    for (int64_t i = 0; i < N; ++i) {
      const float g = dout[i * C + c];
      if (dword != nullptr && ids[i] != word_pad) dword[int64_t(ids[i]) * C + c] += g;
      if (dpos != nullptr && positions[i] != pos_pad) dpos[int64_t(positions[i]) * C + c] += g;
      if (dtypes != nullptr) dtypes[int64_t(type_ids != nullptr ? type_ids[i] : 0) * C + c] += g;
    }
}

namespace {
// sum_c f(x[c]) in double over kLanes independent partial sums, so that the loop vectorises (one
// running sum is a chain of dependent adds: it cost LayerNorm more than its arithmetic).
template <class F>
double sum_double(const float* x, int64_t n, F f) {
  constexpr int kLanes = 8;
  double part[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) part[j] += f(double(x[i + j]));
  for (; i < n; ++i) part[0] += f(double(x[i]));
  double s = 0.0;
  for (double p : part) s += p;
  return s;
}
}  // namespace

void layernorm_forward(float* y, float* mean, float* rstd, const float* x, const float* w, const float* b, int64_t N,
                       int64_t C, float eps) {
#pragma omp parallel for schedule(static) if (N * C > 65536)
  for (int64_t n = 0; n < N; ++n) {
    const float* xn = x + n * C;
    // Two passes in double: the moments are then exact to float rounding, as torch's are.
    const double m = sum_double(xn, C, [](double v) { return v; }) / double(C);
    const double v = sum_double(xn, C, [m](double e) { return (e - m) * (e - m); }) / double(C);
    const float mf = static_cast<float>(m);
    const float rs = 1.f / std::sqrt(static_cast<float>(v) + eps);
    // torch's form: (x * rstd + (-rstd * mean)) * w + b
    const float shift = -rs * mf;
    float* yn = y + n * C;
    for (int64_t c = 0; c < C; ++c) yn[c] = (xn[c] * rs + shift) * w[c] + b[c];
    if (mean != nullptr) mean[n] = mf;
    if (rstd != nullptr) rstd[n] = rs;
  }
}

void layernorm_backward(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w,
                        const float* mean, const float* rstd, int64_t N, int64_t C, bool accumulate_dx) {
  if (dx != nullptr) {
#pragma omp parallel for schedule(static) if (N * C > 16384)
    for (int64_t n = 0; n < N; ++n) {
      const float* xn = x + n * C;
      const float* dyn = dy + n * C;
      const float m = mean[n], rs = rstd[n];
      // dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w
      float sum_g = 0.f, sum_gx = 0.f;
      for (int64_t c = 0; c < C; ++c) {
        const float g = dyn[c] * w[c];
        sum_g += g;
        sum_gx += g * ((xn[c] - m) * rs);
      }
      const float mean_g = sum_g / float(C), mean_gx = sum_gx / float(C);
      float* dxn = dx + n * C;
      for (int64_t c = 0; c < C; ++c) {
        const float xhat = (xn[c] - m) * rs;
        const float v = rs * (dyn[c] * w[c] - mean_g - xhat * mean_gx);
        dxn[c] = accumulate_dx ? dxn[c] + v : v;
      }
    }
  }
  if (dw != nullptr || db != nullptr) {
#pragma omp parallel for schedule(static) if (N * C > 16384)
    for (int64_t c = 0; c < C; ++c) {
      float sw = 0.f, sb = 0.f;
      for (int64_t n = 0; n < N; ++n) {
        const float g = dy[n * C + c];
        sw += g * ((x[n * C + c] - mean[n]) * rstd[n]);
        sb += g;
      }
      if (dw != nullptr) dw[c] += sw;
      if (db != nullptr) db[c] += sb;
    }
  }
}

}  // namespace bert_emotion
