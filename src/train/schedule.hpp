// schedule.hpp — the Hugging Face learning-rate schedules (--lr-scheduler-type), with warmup.
//
// transformers.optimization's lr lambdas, for optimizer update k (0-based; the scheduler steps after
// each optimizer step, so update k uses lr * factor(k)), N total updates (ceil(n_train / batch) *
// epochs, or --max-steps) and W warmup steps (--warmup-steps, else ceil(warmup_ratio * N), as
// TrainingArguments.get_warmup_steps does). Every schedule but "constant" warms up as k / max(1, W)
// while k < W; after warmup, with progress p = (k - W) / max(1, N - W):
//   linear                 max(0, (N - k) / max(1, N - W))
//   cosine                 max(0, 0.5 (1 + cos(pi * 2 * 0.5 * p)))             (num_cycles 0.5)
//   cosine_with_restarts   0 if p >= 1, else max(0, 0.5 (1 + cos(pi * ((1 * p) mod 1))))  (1 cycle)
//   polynomial             lr_end / lr if k > N, else ((lr - lr_end)(1 - (k - W) / (N - W))^power
//                          + lr_end) / lr                                    (lr_end 1e-7, power 1)
//   constant               1 (no warmup)
//   constant_with_warmup   1
//   inverse_sqrt           1 / sqrt((k + s - W) / s), timescale s = W if W > 0 else 10000
// Computed in double like the Python original, so the logged rates are exact.
//
//   LrSchedule s{.type = "cosine", .base_lr = 5e-5, .warmup_steps = 10, .total_steps = 100};
//   double lr0 = s.lr(0);      // 0 (warmup)
//   double mid = s.lr(55);     // 2.5e-5
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bert_emotion {

// The accepted --lr-scheduler-type names.
const std::vector<std::string>& lr_scheduler_types();

// factor(k) of `type` (see the overview); InvalidArgument for an unknown type, or polynomial with
// base_lr <= lr_end (transformers raises there too).
double schedule_factor(const std::string& type, int64_t step, int64_t warmup_steps, int64_t total_steps,
                       double base_lr);

double linear_schedule_factor(int64_t step, int64_t warmup_steps, int64_t total_steps);

// TrainingArguments.get_warmup_steps: warmup_steps if > 0, else ceil(warmup_ratio * total_steps).
int64_t resolve_warmup_steps(int64_t warmup_steps, double warmup_ratio, int64_t total_steps);

struct LrSchedule {
  std::string type = "linear";
  double base_lr = 5e-5;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double lr(int64_t step) const { return base_lr * schedule_factor(type, step, warmup_steps, total_steps, base_lr); }
};

// The linear schedule (the model card's).
struct LinearSchedule {
  double base_lr = 5e-5;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double lr(int64_t step) const { return base_lr * linear_schedule_factor(step, warmup_steps, total_steps); }
};

}  // namespace bert_emotion
