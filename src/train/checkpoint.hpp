// checkpoint.hpp — Trainer-style `checkpoint-{global_step}/` directories and resuming from them.
//
// A checkpoint holds everything needed to continue a run to the same final weights, bit for bit:
//
//   checkpoint-N/config.json, model.safetensors, tokenizer files   (save_model_dir: loadable as a model)
//   checkpoint-N/optimizer.safetensors   AdamW moments, F32, same tensor names as the model with an
//                                        `exp_avg.` / `exp_avg_sq.` prefix; __metadata__
//                                        {"format": "bert-emotion-adamw", "step": "<t>"}
//   checkpoint-N/trainer_state.json      TrainerState as the HF Trainer writes it
//   checkpoint-N/training_state.json     our scheduler / loop / RNG state (a torch pickle's stand-in):
//       {"format": "bert-emotion-training-state", "version": 1,
//        "global_step": N, "optimizer_step": t, "epoch": e, "step_in_epoch": s,
//        "shuffle_rng_state": ["<16 hex digits>" x 4],   // xoshiro state at the start of epoch e
//        "seed", "num_train_examples", "train_batch_size" (per rank), "world_size" (ranks; global
//        batch = train_batch_size x world_size), "num_train_epochs", "max_steps",
//        "warmup_steps", "learning_rate", "loss_sum", "logged_loss_sum", "steps_since_log",
//        "num_input_tokens_seen", "total_flos", "run_id", "saved_at"}
//       (epoch e is the epoch the next step belongs to; s of its batches are done. run_id names the
//       run — a fresh run draws one, a resumed run keeps its checkpoint's; saved_at is Unix time.)
//   checkpoint-N/train_log.jsonl         per-step records so far (loss, lr, grad_norm, ...)
//   checkpoint-N/training_args.json      the run's options under TrainingArguments names (informative)
//
// The directory is first written as `checkpoint-N.tmp-<pid>` and renamed into place, so a crash
// never leaves a half checkpoint under the final name. Checkpoint directories are those named exactly
// `checkpoint-<digits>` (the Trainer's get_last_checkpoint rule). An output directory may hold
// several runs' checkpoints (train --overwrite-output-dir), so:
//   latest_checkpoint()  the largest N of the run that saved most recently (checkpoints without a
//                        run_id, e.g. the Trainer's, count as one old run: then simply the largest N);
//   rotate_checkpoints() deletes only the given run's oldest checkpoints, never the one just saved.
//
//   save_checkpoint(out_dir, ckpt);                       // -> out_dir/checkpoint-<ckpt.state.global_step>
//   auto dir = latest_checkpoint(out_dir);                // std::nullopt if none
//   Checkpoint c = load_checkpoint(*dir, layout);         // weights, moments, state
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "model/config.hpp"
#include "model/weights.hpp"
#include "train/outputs.hpp"

namespace bert_emotion {

struct TrainingState {
  int64_t global_step = 0;
  int64_t optimizer_step = 0;
  int64_t epoch = 0;                            // the epoch the next step belongs to (0-based)
  int64_t step_in_epoch = 0;                    // batches of that epoch already done
  std::array<uint64_t, 4> shuffle_rng_state{};  // at the start of `epoch`, before its order was drawn
  uint64_t seed = 42;
  int64_t num_train_examples = 0;
  int64_t train_batch_size = 0;  // per rank (per device)
  int64_t world_size = 1;        // ranks that trained it (mpirun -np)
  int64_t num_train_epochs = 0;
  int64_t max_steps = 0;
  int64_t warmup_steps = 0;
  double learning_rate = 0;
  double loss_sum = 0;         // sum of every step's loss (for train_loss)
  double logged_loss_sum = 0;  // sum since the last logging step
  int64_t steps_since_log = 0;
  int64_t num_input_tokens_seen = 0;
  double total_flos = 0;
  std::string run_id;   // "" in checkpoints written before run ids existed
  double saved_at = 0;  // Unix seconds when saved (0: unknown)
};

// A new random run id (16 hex digits).
std::string new_run_id();

nlohmann::json training_state_json(const TrainingState& s);
TrainingState training_state_from_json(const nlohmann::json& j, const std::string& source);

// What goes in and comes out of a checkpoint. The arena pointers follow `layout`.
struct CheckpointData {
  const ModelConfig* config = nullptr;
  const ParamLayout* layout = nullptr;
  const float* params = nullptr;
  const float* exp_avg = nullptr;
  const float* exp_avg_sq = nullptr;
  std::filesystem::path tokenizer_dir;  // tokenizer files copied from here (may be empty)
  TrainingState state;
  TrainerState trainer_state;
  std::string train_log_jsonl;   // per-step records, one JSON object per line
  nlohmann::json training_args;  // written as training_args.json when not null
};

// Writes `output_dir/checkpoint-<state.global_step>/` atomically (temp dir + rename; an existing
// directory of that name is replaced). Returns its path.
std::filesystem::path save_checkpoint(const std::filesystem::path& output_dir, const CheckpointData& c);

struct LoadedCheckpoint {
  std::filesystem::path dir;
  std::vector<float> params, exp_avg, exp_avg_sq;  // in `layout` order
  TrainingState state;
  TrainerState trainer_state;
  std::string train_log_jsonl;
  nlohmann::json training_args;  // training_args.json, null when the checkpoint has none
};

// Reads a checkpoint written by save_checkpoint for a model laid out as `layout`. FormatError
// naming the file and tensor when something is missing or has the wrong shape.
LoadedCheckpoint load_checkpoint(const std::filesystem::path& dir, const ParamLayout& layout);

// A `checkpoint-<N>` directory and the run that wrote it (read from its training_state.json).
struct CheckpointEntry {
  int64_t step = 0;
  std::filesystem::path dir;
  std::string run_id;  // "" when unknown (older or foreign checkpoint, unreadable state)
  double saved_at = 0;
};

// Every `checkpoint-<N>` directory under `output_dir`, by step.
std::vector<CheckpointEntry> list_checkpoints(const std::filesystem::path& output_dir);

// The largest `checkpoint-<N>` of the run that saved last (see the overview), or nullopt.
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& output_dir);

// Throws InvalidArgument when `output_dir` holds checkpoint-N directories or a model.safetensors
// (an earlier run's outputs), naming them and the ways out (resume, --overwrite-output-dir).
void refuse_earlier_run_outputs(const std::filesystem::path& output_dir);

// Deletes run `run_id`'s oldest checkpoints beyond `limit` (limit <= 0: keep all), never `keep`
// (the one just saved), never `best` (the best model's checkpoint, if any: a limit of 1 then keeps
// two, as the Trainer) and never another run's. Returns the deleted directories.
std::vector<std::filesystem::path> rotate_checkpoints(const std::filesystem::path& output_dir, int limit,
                                                      const std::string& run_id, const std::filesystem::path& keep,
                                                      const std::filesystem::path& best = {});

}  // namespace bert_emotion
