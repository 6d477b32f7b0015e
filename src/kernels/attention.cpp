#include "kernels/attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <omp.h>

#include "kernels/gemm.hpp"
#include "kernels/vec_math.hpp"
#include "util/rng.hpp"

namespace bert_emotion {

namespace {

void softmax_row(float* out, const float* in, int64_t n) {
  float mx = in[0];
  for (int64_t j = 1; j < n; ++j) mx = in[j] > mx ? in[j] : mx;
  // exp 8 lanes at a time (kernels/vec_math.hpp, ~1 ulp; masked scores at float-min underflow to 0
  // exactly as with libm's expf).
  float sum = 0.f;
  int64_t j = 0;
#ifdef BERT_EMOTION_VEC_MATH
  const __m256 vmx = _mm256_set1_ps(mx);
  __m256 vsum = _mm256_setzero_ps();
  for (; j + 8 <= n; j += 8) {
    const __m256 e = vecmath::exp256(_mm256_sub_ps(_mm256_loadu_ps(in + j), vmx));
    _mm256_storeu_ps(out + j, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, vsum);
  for (float v : lanes) sum += v;
#endif
  for (; j < n; ++j) {
    out[j] = vecmath::exp_scalar(in[j] - mx);
    sum += out[j];
  }
  const float inv = 1.f / sum;  // torch multiplies by the reciprocal too
  for (int64_t k = 0; k < n; ++k) out[k] *= inv;
}

void softmax_backward_row(float* din, const float* dout, const float* p, int64_t n) {
  float dot = 0.f;
  for (int64_t j = 0; j < n; ++j) dot += p[j] * dout[j];
  for (int64_t j = 0; j < n; ++j) din[j] = p[j] * (dout[j] - dot);
}

// Keys that take part in the products for a row with `len` real keys: all Tk when the row is fully
// masked (its probabilities are then uniform over every key, as in torch).
int real_keys(int len, int Tk) { return len <= 0 ? Tk : (len < Tk ? len : Tk); }

}  // namespace

void softmax_forward(float* out, const float* in, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols > 16384)
  for (int64_t r = 0; r < rows; ++r) softmax_row(out + r * cols, in + r * cols, cols);
}

void softmax_backward(float* din, const float* dout, const float* probs, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols > 16384)
  for (int64_t r = 0; r < rows; ++r) softmax_backward_row(din + r * cols, dout + r * cols, probs + r * cols, cols);
}

void attention_forward(float* ctx, float* probs, float* probs_dropped, uint8_t* keep, const float* q, const float* k,
                       const float* v, const int32_t* key_lengths, int B, int Tq, int Tk, int H, int D, float dropout_p,
                       uint64_t seed, uint64_t stream) {
  const int64_t C = int64_t(H) * D;
  const int64_t TT = int64_t(Tq) * Tk;
  const float lowest = std::numeric_limits<float>::lowest();
  const bool drop = dropout_p > 0.f;
  const float scale = dropout_p >= 1.f ? 0.f : 1.f / (1.f - dropout_p);
#pragma omp parallel for collapse(2) schedule(static) if (int64_t(B) * H * TT * D > 32768)
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h) {
      const int64_t bh = int64_t(b) * H + h;
      const float* qb = q + int64_t(b) * Tq * C + int64_t(h) * D;
      const float* kb = k + int64_t(b) * Tk * C + int64_t(h) * D;
      const float* vb = v + int64_t(b) * Tk * C + int64_t(h) * D;
      float* P = probs + bh * TT;
      // Only the first n real keys take part in the products: masked keys get probability exactly 0,
      // and leaving them out makes a row's result independent of how far the batch is padded.
      // A fully masked row (n = 0) is uniform over all Tk keys, as in torch.
      const int n = real_keys(key_lengths[b], Tk);
      // scores[Tq,n] = q_bh[Tq,D] k_bh[n,D]^T
      gemm(false, true, Tq, n, D, 1.f, qb, C, kb, C, 0.f, P, Tk);
      for (int i = 0; i < Tq; ++i) {
        float* row = P + int64_t(i) * Tk;
        if (n == Tk && key_lengths[b] < Tk)  // fully masked: every score is the same constant
          for (int j = 0; j < Tk; ++j) row[j] = lowest;
        for (int j = n; j < Tk; ++j) row[j] = lowest;
        softmax_row(row, row, Tk);
      }
      float* Pd = P;
      if (drop) {
        Pd = probs_dropped + bh * TT;
        uint8_t* kp = keep + bh * TT;
        for (int64_t e = 0; e < TT; ++e) {
          // Index over the whole [B,H,Tq,Tk] tensor, so masks do not depend on the thread split.
          const bool kept = dropout_p < 1.f && counter_uniform(seed, stream, uint64_t(bh * TT + e)) >= dropout_p;
          kp[e] = kept ? 1 : 0;
          Pd[e] = kept ? P[e] * scale : 0.f;
        }
      }
      // ctx_bh[Tq,D] = Pd[Tq,n] v_bh[n,D]
      gemm(false, false, Tq, D, n, 1.f, Pd, Tk, vb, C, 0.f, ctx + int64_t(b) * Tq * C + int64_t(h) * D, C);
    }
}

void attention_backward(float* dq, float* dk, float* dv, float* scratch, const float* dctx, const float* q,
                        const float* k, const float* v, const float* probs, const float* probs_dropped,
                        const uint8_t* keep, const int32_t* key_lengths, int B, int Tq, int Tk, int H, int D,
                        float dropout_p) {
  const int64_t C = int64_t(H) * D;
  const int64_t TT = int64_t(Tq) * Tk;
  const bool drop = dropout_p > 0.f;
  const float scale = dropout_p >= 1.f ? 0.f : 1.f / (1.f - dropout_p);
#pragma omp parallel for collapse(2) schedule(static) if (int64_t(B) * H * TT * D > 32768)
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h) {
      const int64_t bh = int64_t(b) * H + h;
      const int64_t qoff = int64_t(b) * Tq * C + int64_t(h) * D;
      const int64_t koff = int64_t(b) * Tk * C + int64_t(h) * D;
      const float* P = probs + bh * TT;
      const float* Pd = drop ? probs_dropped + bh * TT : P;
      float* dP = scratch + bh * TT;
      const int n = real_keys(key_lengths[b], Tk);  // keys that took part (see attention_forward)
      // dv_bh[n,D] = Pd^T[n,Tq] dctx_bh[Tq,D]; masked keys' values got weight 0
      gemm(true, false, n, D, Tq, 1.f, Pd, Tk, dctx + qoff, C, 0.f, dv + koff, C);
      for (int j = n; j < Tk; ++j) std::fill_n(dv + koff + int64_t(j) * C, D, 0.f);
      // dPd[Tq,n] = dctx_bh[Tq,D] v_bh[n,D]^T
      gemm(false, true, Tq, n, D, 1.f, dctx + qoff, C, v + koff, C, 0.f, dP, Tk);
      for (int i = 0; i < Tq; ++i) {
        float* row = dP + int64_t(i) * Tk;
        for (int j = n; j < Tk; ++j) row[j] = 0.f;
        if (drop) {
          const uint8_t* kp = keep + bh * TT + int64_t(i) * Tk;
          for (int j = 0; j < n; ++j) row[j] = kp[j] ? row[j] * scale : 0.f;
        }
        softmax_backward_row(row, row, P + int64_t(i) * Tk, Tk);
        // Masked scores were overwritten by a constant: no gradient flows through them.
        for (int j = n; j < Tk; ++j) row[j] = 0.f;
        if (n == Tk && key_lengths[b] < Tk)
          for (int j = 0; j < Tk; ++j) row[j] = 0.f;
      }
      // dq_bh[Tq,D] = dS[Tq,n] k_bh[n,D];  dk_bh[n,D] = dS^T[n,Tq] q_bh[Tq,D]
      gemm(false, false, Tq, D, n, 1.f, dP, Tk, k + koff, C, 0.f, dq + qoff, C);
      gemm(true, false, n, D, Tq, 1.f, dP, Tk, q + qoff, C, 0.f, dk + koff, C);
      for (int j = n; j < Tk; ++j) std::fill_n(dk + koff + int64_t(j) * C, D, 0.f);
    }
}

namespace {
int64_t max_scores_per_pair(const int32_t* q_offsets, const int32_t* kv_offsets, int B) {
  int64_t most = 0;
  for (int b = 0; b < B; ++b)
    most = std::max(most, int64_t(q_offsets[b + 1] - q_offsets[b]) * (kv_offsets[b + 1] - kv_offsets[b]));
  return most;
}
}  // namespace

size_t attention_varlen_scratch_floats(const int32_t* q_offsets, const int32_t* kv_offsets, int B) {
  return size_t(omp_get_max_threads()) * size_t(max_scores_per_pair(q_offsets, kv_offsets, B));
}

void attention_forward_varlen(float* ctx, float* scratch, const float* q, const float* k, const float* v,
                              const int32_t* q_offsets, const int32_t* kv_offsets, int B, int H, int D) {
  const int64_t C = int64_t(H) * D;
  const int64_t per_thread = max_scores_per_pair(q_offsets, kv_offsets, B);
  const int64_t work = int64_t(kv_offsets[B] - kv_offsets[0]) * C;
#pragma omp parallel for collapse(2) schedule(dynamic, 1) if (work > 32768)
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h) {
      const int64_t q0 = q_offsets[b], kv0 = kv_offsets[b];
      const int64_t Tq = q_offsets[b + 1] - q0, n = kv_offsets[b + 1] - kv0;
      if (Tq == 0) continue;
      float* P = scratch + omp_get_thread_num() * per_thread;
      float* out = ctx + q0 * C + int64_t(h) * D;
      if (n == 0) {  // no keys: nothing to attend to
        for (int64_t i = 0; i < Tq; ++i) std::fill_n(out + i * C, D, 0.f);
        continue;
      }
      // scores[Tq, n] = q_bh[Tq, D] k_bh[n, D]^T; softmax per row; ctx_bh[Tq, D] = P v_bh[n, D]
      gemm(false, true, Tq, n, D, 1.f, q + q0 * C + int64_t(h) * D, C, k + kv0 * C + int64_t(h) * D, C, 0.f, P, n);
      for (int64_t i = 0; i < Tq; ++i) softmax_row(P + i * n, P + i * n, n);
      gemm(false, false, Tq, D, n, 1.f, P, n, v + kv0 * C + int64_t(h) * D, C, 0.f, out, C);
    }
}

}  // namespace bert_emotion
