// best_model.hpp — the Trainer's best-model tracking and its EarlyStoppingCallback, as decisions
// over evaluation results (the loop in trainer.cpp acts on them).
//
// metric_for_best_model names a key of the evaluation results, with or without "eval_" ("f1" and
// "eval_f1" are the same); greater_is_better defaults to true unless the name ends in "loss", as
// TrainingArguments does. After every evaluation:
//   * EarlyStopping::on_evaluate compares the value with the best so far (before this evaluation):
//     it improves when best is unset, or when it is better (strictly) AND differs by more than
//     early_stopping_threshold; else a patience counter grows, and training stops once the counter
//     reaches early_stopping_patience (transformers' EarlyStoppingCallback).
//   * BestModelTracker::update then records a strictly better value as best_metric / its step
//     (Trainer._determine_best_metric); the checkpoint saved at that step becomes
//     best_model_checkpoint in trainer_state.json, and --load-best-model-at-end loads it at the end.
//
//   BestModelTracker best("f1", std::nullopt);            // -> eval_f1, greater is better
//   EarlyStopping stopper(3, 0.0, best.greater_is_better());
//   bool stop = stopper.on_evaluate(best.value_of(metrics), state.best_metric);
//   best.update(state, best.value_of(metrics), step);
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "train/outputs.hpp"

namespace bert_emotion {

// "f1" -> "eval_f1"; "eval_f1" stays.
std::string eval_metric_key(const std::string& metric);

class BestModelTracker {
 public:
  // `metric` empty = "loss" (the Trainer's default with load_best_model_at_end).
  BestModelTracker(const std::string& metric, std::optional<bool> greater_is_better);

  const std::string& key() const { return key_; }
  bool greater_is_better() const { return greater_; }

  // The metric in one evaluation's results; InvalidArgument naming the metric and the keys there are.
  double value_of(const nlohmann::json& metrics) const;

  // Records `value` at `step` as state.best_metric / best_global_step when it beats the best so far
  // (or there is none). Returns whether it did.
  bool update(TrainerState& state, double value, int64_t step) const;

 private:
  std::string key_;
  bool greater_;
};

class EarlyStopping {
 public:
  EarlyStopping(int patience, double threshold, bool greater_is_better)
      : patience_(patience), threshold_(threshold), greater_(greater_is_better) {}

  // One evaluation's value against the best before it (null = none yet); true = stop training.
  bool on_evaluate(double value, const nlohmann::json& best_before);

  int counter() const { return counter_; }

 private:
  int patience_;
  double threshold_;
  bool greater_;
  int counter_ = 0;
};

}  // namespace bert_emotion
