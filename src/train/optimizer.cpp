// optimizer.cpp — AdamW and gradient clipping; see optimizer.hpp.
#include "train/optimizer.hpp"

#include <algorithm>
#include <cmath>

#include <immintrin.h>

#include "util/error.hpp"

namespace bert_emotion {

AdamW::AdamW(std::vector<ParamInfo> params, size_t arena_size, AdamWOptions opts)
    : params_(std::move(params)), opts_(opts), m_(arena_size, 0.0f), v_(arena_size, 0.0f) {
  if (!(opts.beta1 >= 0.0 && opts.beta1 < 1.0)) throw InvalidArgument("AdamW: beta1 must be in [0, 1)");
  if (!(opts.beta2 >= 0.0 && opts.beta2 < 1.0)) throw InvalidArgument("AdamW: beta2 must be in [0, 1)");
  if (!(opts.eps >= 0.0)) throw InvalidArgument("AdamW: eps must be >= 0");
  if (!(opts.weight_decay >= 0.0)) throw InvalidArgument("AdamW: weight_decay must be >= 0");
  for (const auto& p : params_)
    if (p.offset + p.numel > arena_size) throw InvalidArgument("AdamW: tensor " + p.name + " lies outside the arena");
}

namespace {

// One AdamW update over [begin, end) — torch 1.13's _single_tensor_adamw, op by op in float32.
// kScaleAndZero: the gradient is first multiplied by grad_scale (the clip) and then cleared.
struct AdamWScalars {
  float neg_step_size, bias_correction2_sqrt, beta1, one_minus_beta1, beta2, one_minus_beta2, eps, decay_factor;
};

// The scalar form, op by op; used for the tail (and for everything without AVX2 + FMA). A tensor
// without decay multiplies by exactly 1.0f (exact); fp-contract=off keeps `a * b + c` two roundings.
template <bool kScaleAndZero>
// NOLINTNEXTLINE(clang-diagnostic-unknown-attributes): a GCC attribute; the engine is built with GCC.
__attribute__((optimize("fp-contract=off"))) inline void adamw_element(const AdamWScalars& k, float decay_factor,
                                                                       float grad_scale, float* params, float* grads,
                                                                       float* m, float* v, ptrdiff_t i) {
  float g = grads[i];
  if constexpr (kScaleAndZero) {
    g = g * grad_scale;  // clip_grad_norm_'s g.mul_(clip_coef_clamped)
    grads[i] = 0.0f;
  }
  const float p = params[i] * decay_factor;                     // param.mul_(1 - lr*wd)
  m[i] = __builtin_fmaf(g, k.one_minus_beta1, m[i] * k.beta1);  // exp_avg.mul_(b1).add_(g, alpha=1-b1)
  v[i] = v[i] * k.beta2 + (k.one_minus_beta2 * g) * g;          // exp_avg_sq.mul_(b2).addcmul_(g, g, 1-b2)
  const float denom = __builtin_sqrtf(v[i]) / k.bias_correction2_sqrt + k.eps;
  params[i] = p + (k.neg_step_size * m[i]) / denom;  // param.addcdiv_(m, denom, -step_size)
}

// The same operations 8 lanes at a time with explicit AVX intrinsics (each IEEE-rounded exactly as
// its scalar twin, so results are bit-identical). Written out because GCC left the plain loop scalar:
// sqrt's errno check and the out-of-line std::fma blocked vectorisation, making this pass ~4x slower
// than memory speed — it dominated the training step.
template <bool kScaleAndZero>
void adamw_range(const AdamWScalars& k, float decay_factor, float grad_scale, float* __restrict params,
                 float* __restrict grads, float* __restrict m, float* __restrict v, ptrdiff_t begin, ptrdiff_t end) {
  ptrdiff_t tail = begin;
#if defined(__AVX2__) && defined(__FMA__)
  const ptrdiff_t blocks = (end - begin) / 8;
  tail = begin + blocks * 8;
  const __m256 scale = _mm256_set1_ps(grad_scale), decay = _mm256_set1_ps(decay_factor);
  const __m256 b1 = _mm256_set1_ps(k.beta1), omb1 = _mm256_set1_ps(k.one_minus_beta1);
  const __m256 b2 = _mm256_set1_ps(k.beta2), omb2 = _mm256_set1_ps(k.one_minus_beta2);
  const __m256 bc2 = _mm256_set1_ps(k.bias_correction2_sqrt), eps = _mm256_set1_ps(k.eps);
  const __m256 nss = _mm256_set1_ps(k.neg_step_size), zero = _mm256_setzero_ps();
#pragma omp parallel for schedule(static) if (end - begin > 65536)
  for (ptrdiff_t blk = 0; blk < blocks; ++blk) {
    const ptrdiff_t i = begin + blk * 8;
    __m256 g = _mm256_loadu_ps(grads + i);
    if constexpr (kScaleAndZero) {
      g = _mm256_mul_ps(g, scale);
      _mm256_storeu_ps(grads + i, zero);
    }
    const __m256 p = _mm256_mul_ps(_mm256_loadu_ps(params + i), decay);
    const __m256 mi = _mm256_fmadd_ps(g, omb1, _mm256_mul_ps(_mm256_loadu_ps(m + i), b1));
    const __m256 vi =
        _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), b2), _mm256_mul_ps(_mm256_mul_ps(omb2, g), g));
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
    const __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), bc2), eps);
    _mm256_storeu_ps(params + i, _mm256_add_ps(p, _mm256_div_ps(_mm256_mul_ps(nss, mi), denom)));
  }
#endif
  for (ptrdiff_t i = tail; i < end; ++i)
    adamw_element<kScaleAndZero>(k, decay_factor, grad_scale, params, grads, m, v, i);
}

}  // namespace

void AdamW::step(float* params, const float* grads, double lr) {
  // The unfused path never writes the gradients; adamw_range<false> only reads them.
  step_impl(params, const_cast<float*>(grads), lr, 1.0f, false);
}

void AdamW::step_and_zero_grads(float* params, float* grads, double lr, float grad_scale) {
  step_impl(params, grads, lr, grad_scale, true);
}

void AdamW::step_impl(float* params, float* grads, double lr, float grad_scale, bool scale_and_zero) {
  ++step_;
  const double t = static_cast<double>(step_);
  // Scalars are computed in double (Python floats in torch) and rounded to float where the float32
  // kernels use them.
  const double bias_correction1 = 1.0 - std::pow(opts_.beta1, t);
  const double bias_correction2 = 1.0 - std::pow(opts_.beta2, t);
  AdamWScalars k;
  k.neg_step_size = static_cast<float>(-(lr / bias_correction1));
  k.bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
  k.beta1 = static_cast<float>(opts_.beta1);
  k.one_minus_beta1 = static_cast<float>(1.0 - opts_.beta1);
  k.beta2 = static_cast<float>(opts_.beta2);
  k.one_minus_beta2 = static_cast<float>(1.0 - opts_.beta2);
  k.eps = static_cast<float>(opts_.eps);
  k.decay_factor = static_cast<float>(1.0 - lr * opts_.weight_decay);

  for (const auto& info : params_) {
    const ptrdiff_t begin = static_cast<ptrdiff_t>(info.offset);
    const ptrdiff_t end = begin + static_cast<ptrdiff_t>(info.numel);
    if (!info.trainable) {
      if (scale_and_zero) std::fill(grads + begin, grads + end, 0.0f);
      continue;
    }
    const float decay_factor = (opts_.weight_decay > 0.0 && !info.no_decay) ? k.decay_factor : 1.0f;
    if (scale_and_zero) adamw_range<true>(k, decay_factor, grad_scale, params, grads, m_.data(), v_.data(), begin, end);
    else adamw_range<false>(k, decay_factor, 1.0f, params, grads, m_.data(), v_.data(), begin, end);
  }
}

float global_grad_norm(const std::vector<ParamInfo>& params, const float* grads) {
  double sum_of_norms_sq = 0.0;
  for (const auto& info : params) {
    if (!info.trainable) continue;
    const ptrdiff_t begin = static_cast<ptrdiff_t>(info.offset);
    const ptrdiff_t end = begin + static_cast<ptrdiff_t>(info.numel);
    double sq = 0.0;
#pragma omp parallel for simd reduction(+ : sq) schedule(static) if (info.numel > 65536)
    for (ptrdiff_t i = begin; i < end; ++i) sq += static_cast<double>(grads[i]) * grads[i];
    const float norm = static_cast<float>(std::sqrt(sq));
    sum_of_norms_sq += static_cast<double>(norm) * norm;
  }
  return static_cast<float>(std::sqrt(sum_of_norms_sq));
}

float clip_coefficient(float norm, double max_norm) {
  if (max_norm <= 0.0) return 1.0f;
  const float coef = static_cast<float>(max_norm) / (norm + 1e-6f);
  return coef < 1.0f ? coef : 1.0f;  // torch clamps the coefficient at 1 (a no-op multiply)
}

float clip_grad_norm(const std::vector<ParamInfo>& params, float* grads, double max_norm) {
  const float norm = global_grad_norm(params, grads);
  const float coef = clip_coefficient(norm, max_norm);
  if (coef == 1.0f) return norm;
  for (const auto& info : params) {
    if (!info.trainable) continue;
    const ptrdiff_t begin = static_cast<ptrdiff_t>(info.offset);
    const ptrdiff_t end = begin + static_cast<ptrdiff_t>(info.numel);
#pragma omp parallel for simd schedule(static) if (info.numel > 65536)
    for (ptrdiff_t i = begin; i < end; ++i) grads[i] *= coef;
  }
  return norm;
}

}  // namespace bert_emotion
