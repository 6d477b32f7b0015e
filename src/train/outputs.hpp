// outputs.hpp — the files a Hugging Face Trainer run leaves behind, written the Trainer's way.
//
//   trainer_state.json      TrainerState (trainer_callback.py): indent 2, sorted keys, log_history
//                           with one entry per logging step ({loss, grad_norm, learning_rate, epoch,
//                           step}) and one per evaluation ({eval_*, epoch, step}), and a final
//                           {train_loss, train_runtime, ...} entry.
//   {split}_results.json    save_metrics(split): indent 4, sorted keys; merged into all_results.json.
//   README.md               the auto-generated model card (front matter, results on the evaluation
//                           set, hyper-parameters, the "Training results" table, framework versions).
// Every file goes through write_file_atomic.
//
//   TrainerState st;  st.global_step = 2445;  st.log_history.push_back({{"loss", 0.81}, {"step", 500}});
//   write_json_file(out / "trainer_state.json", trainer_state_json(st), 2);
//   save_metrics(out, "train", {{"train_loss", 0.6}, {"epoch", 3.0}});   // train_results.json + all_results.json
//   write_file_atomic(out / "README.md", render_model_card(card));
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace bert_emotion {

struct TrainerState {
  double epoch = 0;
  int64_t global_step = 0;
  int64_t max_steps = 0;
  int64_t logging_steps = 500;
  int64_t eval_steps = 500;
  int64_t save_steps = 500;
  int64_t train_batch_size = 4;
  int64_t num_train_epochs = 3;
  int64_t num_input_tokens_seen = 0;
  double total_flos = 0;
  nlohmann::json log_history = nlohmann::json::array();
  nlohmann::json best_metric = nullptr;
  nlohmann::json best_global_step = nullptr;
  nlohmann::json best_model_checkpoint = nullptr;
  bool is_local_process_zero = true;
  bool is_world_process_zero = true;
  bool is_hyper_param_search = false;
  nlohmann::json trial_name = nullptr;
  nlohmann::json trial_params = nullptr;
};

nlohmann::json trainer_state_json(const TrainerState& s);
// Inverse of trainer_state_json; FormatError naming `source` and the field when one is missing.
TrainerState trainer_state_from_json(const nlohmann::json& j, const std::string& source);

// JSON text as Python's json.dump(obj, indent=indent, sort_keys=True) + "\n", written atomically.
void write_json_file(const std::filesystem::path& path, const nlohmann::json& j, int indent);

// Trainer.save_metrics(split, metrics, combined=True): {split}_results.json, and all_results.json
// updated with these keys (keeping the keys already there).
void save_metrics(const std::filesystem::path& output_dir, const std::string& split, const nlohmann::json& metrics);

// One row of the model card's "Training results" table (one evaluation).
struct ResultsRow {
  std::optional<double> training_loss;  // last logged training loss; none = "No log"
  double epoch = 0;
  int64_t step = 0;
  double validation_loss = 0;
  double precision = 0, recall = 0, f1 = 0;  // macro
};

struct ModelCard {
  std::string model_name;                   // the output directory's name
  std::string base_model;                   // what fine-tuning started from (hub id or directory name)
  std::string base_model_url;               // link for it; empty = plain text (a local directory)
  std::string dataset_name = "tweet_eval";  // shown as "the {dataset_name} {dataset_config} dataset"
  std::string dataset_config = "emotion";
  // Final evaluation-set results; absent when there was no evaluation split.
  std::optional<ResultsRow> eval_results;
  // "learning_rate" -> "5e-05", ... in the order they are printed.
  std::vector<std::pair<std::string, std::string>> hyperparameters;
  std::vector<ResultsRow> results;
  std::vector<std::pair<std::string, std::string>> framework_versions;  // {"bert-emotion", "0.1.0"}, ...
  std::string license = "apache-2.0";
};

std::string render_model_card(const ModelCard& card);

// Python's repr of a float for the card's hyper-parameter list (5e-05, 0.9, 1e-08, 42).
std::string python_float_repr(double v);

// The versions of what this build links, for the model card.
std::vector<std::pair<std::string, std::string>> framework_versions();

}  // namespace bert_emotion
