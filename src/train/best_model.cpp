// best_model.cpp — best-metric tracking and early stopping (see best_model.hpp).
#include "train/best_model.hpp"

#include <cmath>

#include "util/error.hpp"

namespace bert_emotion {

std::string eval_metric_key(const std::string& metric) {
  return metric.rfind("eval_", 0) == 0 ? metric : "eval_" + metric;
}

BestModelTracker::BestModelTracker(const std::string& metric, std::optional<bool> greater_is_better)
    : key_(eval_metric_key(metric.empty() ? "loss" : metric)) {
  const bool ends_in_loss = key_.size() >= 4 && key_.compare(key_.size() - 4, 4, "loss") == 0;
  greater_ = greater_is_better.value_or(!ends_in_loss);
}

double BestModelTracker::value_of(const nlohmann::json& metrics) const {
  const auto it = metrics.find(key_);
  if (it == metrics.end() || !it->is_number()) {
    std::string keys;
    for (const auto& [k, v] : metrics.items())
      if (v.is_number() && k.rfind("eval_", 0) == 0) keys += (keys.empty() ? "" : ", ") + k;
    throw InvalidArgument("--metric-for-best-model: the evaluation has no metric '" + key_ + "'; it has: " + keys);
  }
  return it->get<double>();
}

bool BestModelTracker::update(TrainerState& state, double value, int64_t step) const {
  const bool better = state.best_metric.is_null() ||
                      (greater_ ? value > state.best_metric.get<double>() : value < state.best_metric.get<double>());
  if (!better) return false;
  state.best_metric = value;
  state.best_global_step = step;
  return true;
}

bool EarlyStopping::on_evaluate(double value, const nlohmann::json& best_before) {
  bool improved = best_before.is_null();
  if (!improved) {
    const double best = best_before.get<double>();
    improved = (greater_ ? value > best : value < best) && std::fabs(value - best) > threshold_;
  }
  counter_ = improved ? 0 : counter_ + 1;
  return patience_ > 0 && counter_ >= patience_;
}

}  // namespace bert_emotion
