// optimizer.cpp — AdamW and gradient clipping; see optimizer.hpp.
#include "train/optimizer.hpp"

#include <cmath>

#include "util/error.hpp"

namespace bert_emotion {

AdamW::AdamW(std::vector<ParamInfo> params, size_t arena_size, AdamWOptions opts)
    : params_(std::move(params)), opts_(opts), m_(arena_size, 0.0f), v_(arena_size, 0.0f) {
  if (!(opts.beta1 >= 0.0 && opts.beta1 < 1.0)) throw InvalidArgument("AdamW: beta1 must be in [0, 1)");
  if (!(opts.beta2 >= 0.0 && opts.beta2 < 1.0)) throw InvalidArgument("AdamW: beta2 must be in [0, 1)");
  if (!(opts.eps >= 0.0)) throw InvalidArgument("AdamW: eps must be >= 0");
  if (!(opts.weight_decay >= 0.0)) throw InvalidArgument("AdamW: weight_decay must be >= 0");
  for (const auto& p : params_)
    if (p.offset + p.numel > arena_size)
      throw InvalidArgument("AdamW: tensor " + p.name + " lies outside the arena");
}

void AdamW::step(float* params, const float* grads, double lr) {
  ++step_;
  const double t = static_cast<double>(step_);
  // Scalars are computed in double (Python floats in torch) and rounded to float where the float32
  // kernels use them.
  const double bias_correction1 = 1.0 - std::pow(opts_.beta1, t);
  const double bias_correction2 = 1.0 - std::pow(opts_.beta2, t);
  const float neg_step_size = static_cast<float>(-(lr / bias_correction1));
  const float bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
  const float beta1 = static_cast<float>(opts_.beta1);
  const float one_minus_beta1 = static_cast<float>(1.0 - opts_.beta1);
  const float beta2 = static_cast<float>(opts_.beta2);
  const float one_minus_beta2 = static_cast<float>(1.0 - opts_.beta2);
  const float eps = static_cast<float>(opts_.eps);
  const float decay_factor = static_cast<float>(1.0 - lr * opts_.weight_decay);
  float* m = m_.data();
  float* v = v_.data();

  for (const auto& info : params_) {
    if (!info.trainable) continue;
    const bool decay = opts_.weight_decay > 0.0 && !info.no_decay;
    const ptrdiff_t begin = static_cast<ptrdiff_t>(info.offset);
    const ptrdiff_t end = begin + static_cast<ptrdiff_t>(info.numel);
#pragma omp parallel for schedule(static) if (info.numel > 65536)
    for (ptrdiff_t i = begin; i < end; ++i) {
      const float g = grads[i];
      float p = params[i];
      if (decay) p = p * decay_factor;                          // param.mul_(1 - lr*wd)
      m[i] = std::fma(g, one_minus_beta1, m[i] * beta1);        // exp_avg.mul_(b1).add_(g, alpha=1-b1)
      v[i] = v[i] * beta2 + (one_minus_beta2 * g) * g;          // exp_avg_sq.mul_(b2).addcmul_(g, g, 1-b2)
      const float denom = std::sqrt(v[i]) / bias_correction2_sqrt + eps;
      params[i] = p + (neg_step_size * m[i]) / denom;           // param.addcdiv_(m, denom, -step_size)
    }
  }
}

float global_grad_norm(const std::vector<ParamInfo>& params, const float* grads) {
  double sum_of_norms_sq = 0.0;
  for (const auto& info : params) {
    if (!info.trainable) continue;
    const ptrdiff_t begin = static_cast<ptrdiff_t>(info.offset);
    const ptrdiff_t end = begin + static_cast<ptrdiff_t>(info.numel);
    double sq = 0.0;
#pragma omp parallel for reduction(+ : sq) schedule(static) if (info.numel > 65536)
    for (ptrdiff_t i = begin; i < end; ++i) sq += static_cast<double>(grads[i]) * grads[i];
    const float norm = static_cast<float>(std::sqrt(sq));
    sum_of_norms_sq += static_cast<double>(norm) * norm;
  }
  return static_cast<float>(std::sqrt(sum_of_norms_sq));
}

float clip_grad_norm(const std::vector<ParamInfo>& params, float* grads, double max_norm) {
  const float norm = global_grad_norm(params, grads);
  if (max_norm <= 0.0) return norm;
  const float coef = static_cast<float>(max_norm) / (norm + 1e-6f);
  if (!(coef < 1.0f)) return norm;  // torch clamps the coefficient at 1 (a no-op multiply)
  for (const auto& info : params) {
    if (!info.trainable) continue;
    const ptrdiff_t begin = static_cast<ptrdiff_t>(info.offset);
    const ptrdiff_t end = begin + static_cast<ptrdiff_t>(info.numel);
#pragma omp parallel for schedule(static) if (info.numel > 65536)
    for (ptrdiff_t i = begin; i < end; ++i) grads[i] *= coef;
  }
  return norm;
}

}  // namespace bert_emotion
