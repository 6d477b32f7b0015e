// schedule.hpp — the Hugging Face linear learning-rate schedule with optional warmup.
//
// transformers.get_linear_schedule_with_warmup: for optimizer update k (0-based),
//   factor(k) = k / max(1, W)                        if k < W
//             = max(0, (N - k) / max(1, N - W))      otherwise
// and update k uses lr * factor(k) (the scheduler steps after each optimizer step). N is the total
// number of updates (ceil(n_train / batch) * epochs, or --max-steps) and W the warmup steps
// (--warmup-steps, else ceil(warmup_ratio * N), as TrainingArguments.get_warmup_steps does).
// Computed in double like the Python original, so the logged rates are exact.
//
//   LinearSchedule s{.base_lr = 5e-5, .warmup_steps = 0, .total_steps = 3 * 750};
//   double lr0 = s.lr(0);      // 5e-5
//   double last = s.lr(2249);  // 5e-5 / 2250
#pragma once

#include <cstdint>

namespace bert_emotion {

double linear_schedule_factor(int64_t step, int64_t warmup_steps, int64_t total_steps);

// TrainingArguments.get_warmup_steps: warmup_steps if > 0, else ceil(warmup_ratio * total_steps).
int64_t resolve_warmup_steps(int64_t warmup_steps, double warmup_ratio, int64_t total_steps);

struct LinearSchedule {
  double base_lr = 5e-5;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double lr(int64_t step) const { return base_lr * linear_schedule_factor(step, warmup_steps, total_steps); }
};

}  // namespace bert_emotion
