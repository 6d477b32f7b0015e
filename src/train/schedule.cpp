// schedule.cpp — linear warmup/decay; see schedule.hpp.
#include "train/schedule.hpp"

#include <algorithm>
#include <cmath>

namespace bert_emotion {

double linear_schedule_factor(int64_t step, int64_t warmup_steps, int64_t total_steps) {
  if (step < warmup_steps)
    return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup_steps));
  return std::max(0.0, static_cast<double>(total_steps - step) /
                           static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps)));
}

int64_t resolve_warmup_steps(int64_t warmup_steps, double warmup_ratio, int64_t total_steps) {
  if (warmup_steps > 0) return warmup_steps;
  return static_cast<int64_t>(std::ceil(warmup_ratio * static_cast<double>(total_steps)));
}

}  // namespace bert_emotion
