// optimizer.hpp — torch.optim.AdamW and clip_grad_norm_ as flat loops over the parameter arena.
//
// The parameters, their gradients and the two Adam moments share one ParamLayout, so every update
// is a loop over `layout.size()` floats, tensor by tensor only to know which ones are frozen
// (ParamInfo::trainable) or exempt from weight decay (ParamInfo::no_decay: biases, LayerNorm
// weights — the Trainer's no-decay group). The arithmetic follows torch 1.13's single-tensor AdamW
// in float32, operation by operation (decoupled decay first, then the moments, then
// p += (-lr/(1-b1^t)) * m / (sqrt(v)/sqrt(1-b2^t) + eps)), so that a C++ run tracks PyTorch to
// float rounding. Every row moves every step (dense): an embedding row without gradient this step
// still moves while its first moment decays.
//
//   AdamW opt(layout.params(), layout.size(), {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8});
//   double norm = clip_grad_norm(layout.params(), grads.data(), /*max_norm=*/1.0);  // pre-clip norm
//   opt.step(params.data(), grads.data(), /*lr=*/5e-5 * schedule_factor);
//   // or, fused (what the trainer does; same numbers, two fewer passes over the arena):
//   float norm = global_grad_norm(layout.params(), grads.data());
//   opt.step_and_zero_grads(params.data(), grads.data(), lr, clip_coefficient(norm, 1.0));
//   opt.exp_avg();  opt.exp_avg_sq();  opt.step_count();   // saved in checkpoints
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/weights.hpp"

namespace bert_emotion {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // decoupled; never applied to ParamInfo::no_decay tensors
};

class AdamW {
 public:
  // `params` describes the arena (offsets, sizes, flags); `arena_size` is its length in floats.
  AdamW(std::vector<ParamInfo> params, size_t arena_size, AdamWOptions opts);

  // One update with learning rate `lr` (already scheduled). Increments step_count() first, like torch.
  void step(float* params, const float* grads, double lr);

  // The same update with the clip folded in, in one pass over the arena: each gradient is used as
  // g * grad_scale (bit-identical to clip_grad_norm's in-place multiply followed by step(); pass
  // clip_coefficient()'s value) and then set to 0, so the next backward can accumulate without a
  // separate zeroing pass. Frozen tensors' gradients are zeroed too.
  void step_and_zero_grads(float* params, float* grads, double lr, float grad_scale);

  int64_t step_count() const { return step_; }
  void set_step_count(int64_t t) { step_ = t; }
  std::vector<float>& exp_avg() { return m_; }
  std::vector<float>& exp_avg_sq() { return v_; }
  const std::vector<float>& exp_avg() const { return m_; }
  const std::vector<float>& exp_avg_sq() const { return v_; }
  const AdamWOptions& options() const { return opts_; }

 private:
  void step_impl(float* params, float* grads, double lr, float grad_scale, bool scale_and_zero);

  std::vector<ParamInfo> params_;
  AdamWOptions opts_;
  std::vector<float> m_, v_;
  int64_t step_ = 0;
};

// Global L2 norm of the gradients of trainable tensors, as torch computes it: one norm per tensor
// (rounded to float), then the norm of those norms (rounded to float).
float global_grad_norm(const std::vector<ParamInfo>& params, const float* grads);

// The multiplier clip_grad_norm applies for a given norm: max_norm / (norm + 1e-6) in float when
// that is < 1, else 1 (also 1 when max_norm <= 0: clipping off).
float clip_coefficient(float norm, double max_norm);

// torch.nn.utils.clip_grad_norm_: coef = max_norm / (norm + 1e-6) in float; when coef < 1 every
// trainable gradient is multiplied by it. Returns the pre-clip norm. max_norm <= 0 disables
// clipping (the norm is still computed and returned, for logging).
float clip_grad_norm(const std::vector<ParamInfo>& params, float* grads, double max_norm);

}  // namespace bert_emotion
