// schedule.cpp — transformers' learning-rate lambdas; see schedule.hpp.
#include "train/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "util/error.hpp"

namespace bert_emotion {

namespace {
constexpr double kPolyLrEnd = 1e-7;  // get_polynomial_decay_schedule_with_warmup defaults
constexpr double kPolyPower = 1.0;
}  // namespace

const std::vector<std::string>& lr_scheduler_types() {
  static const std::vector<std::string> types = {
      "linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup", "inverse_sqrt"};
  return types;
}

double linear_schedule_factor(int64_t step, int64_t warmup_steps, int64_t total_steps) {
  if (step < warmup_steps) return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup_steps));
  return std::max(0.0, static_cast<double>(total_steps - step) /
                           static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps)));
}

double schedule_factor(const std::string& type, int64_t step, int64_t warmup_steps, int64_t total_steps,
                       double base_lr) {
  const int64_t W = warmup_steps;  // the overview's names
  const int64_t N = total_steps;
  if (type == "linear") return linear_schedule_factor(step, W, N);
  if (type == "constant") return 1.0;
  const double k = static_cast<double>(step);
  if (type == "polynomial" && !(base_lr > kPolyLrEnd))
    throw InvalidArgument("--lr-scheduler-type polynomial: the learning rate must be above lr_end 1e-07");
  if (step < W) return k / static_cast<double>(std::max<int64_t>(1, W));
  const double progress = (k - static_cast<double>(W)) / static_cast<double>(std::max<int64_t>(1, N - W));
  const double pi = std::numbers::pi;
  if (type == "cosine") return std::max(0.0, 0.5 * (1.0 + std::cos(pi * 0.5 * 2.0 * progress)));
  if (type == "cosine_with_restarts") {
    if (progress >= 1.0) return 0.0;
    return std::max(0.0, 0.5 * (1.0 + std::cos(pi * std::fmod(1.0 * progress, 1.0))));
  }
  if (type == "polynomial") {
    if (step > N) return kPolyLrEnd / base_lr;
    const double pct_remaining = 1.0 - (k - static_cast<double>(W)) / static_cast<double>(N - W);
    return ((base_lr - kPolyLrEnd) * std::pow(pct_remaining, kPolyPower) + kPolyLrEnd) / base_lr;
  }
  if (type == "constant_with_warmup") return 1.0;
  if (type == "inverse_sqrt") {
    const double timescale = W > 0 ? static_cast<double>(W) : 10000.0;
    return 1.0 / std::sqrt((k + timescale - static_cast<double>(W)) / timescale);
  }
  throw InvalidArgument("unknown --lr-scheduler-type '" + type +
                        "': expected linear, cosine, cosine_with_restarts, polynomial, constant, "
                        "constant_with_warmup or inverse_sqrt");
}

int64_t resolve_warmup_steps(int64_t warmup_steps, double warmup_ratio, int64_t total_steps) {
  if (warmup_steps > 0) return warmup_steps;
  return static_cast<int64_t>(std::ceil(warmup_ratio * static_cast<double>(total_steps)));
}

}  // namespace bert_emotion
