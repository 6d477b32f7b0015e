// trainer.hpp — fine-tuning with the Hugging Face Trainer's semantics (`bert-emotion train`).
//
// run_training() is the whole command: resolve and load the model (a sequence-classification
// directory, or a masked-LM checkpoint whose head is created fresh), load and tokenize the
// dataset once, train, evaluate on the validation split (every epoch end, or every eval_steps),
// save checkpoints, track the best model and stop early if asked,
// write the final model + Trainer-compatible outputs (trainer_state.json, *_results.json,
// README.md model card, SVG plots, train_log.jsonl) and evaluate on the test split.
// train_loop() is the loop alone, on token ids already computed (used by run_training and by the
// equivalence tests that replay ../shared/reference/train.py).
//
// Per optimizer step k (0-based), exactly as train.py / the Trainer do:
//   batch = next train_batch_size examples of the epoch order, right-padded to its longest row
//   loss  = mean cross-entropy (train mode; dropout masks keyed by (seed, k)); grads = d loss
//           (multi-label models: mean BCE with logits over the batch's B x K entries, as torch's
//           BCEWithLogitsLoss in DistilBertForSequenceClassification)
//   norm  = clip_grad_norm(grads, max_grad_norm);  AdamW step with lr * schedule_factor(k)
//           (--lr-scheduler-type, linear by default; schedule.hpp)
// Sentence pairs (text_pair_column): rows tokenized as pairs, and for models with token types the
// batch carries their types (0 then 1, padding 0), so the token-type embedding rows get gradients.
// Epoch orders: a seeded Fisher-Yates shuffle per epoch (one Rng, saved in checkpoints), dataset
// order with shuffle = false, or replayed from an order file (one line per epoch, 0-based indices).
//
// Under `mpirun -np R` (dist::world(), docs/SCALING.md) a step consumes a global batch of
// train_batch_size x R examples of the same epoch order; each rank runs an even share of it and
// the gradients, weighted by each share's size, are summed over the ranks, so the update equals
// one process's with batch B x R (to float rounding; dropout masks differ: keyed by rank too).
// Weights are compared by checksum every weight_check_steps; rank 0 alone writes and reports.
//
//   TrainOptions o;  o.model = "distilbert-base-cased";  o.data = "tweet_eval/emotion";  o.output_dir = "runs/e";
//   TrainOutcome r = run_training(o);      // r.train_loss, r.global_step, r.evals.back().metrics
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "model/config.hpp"
#include "model/weights.hpp"
#include "train/outputs.hpp"

namespace bert_emotion {

class Tokenizer;
struct Dataset;
struct StepRecord;

struct TrainOptions {
  std::string model;                 // directory or hub id (--model, --model_name_or_path)
  std::string data;                  // dataset spec (--data): TweetEval folder/task, folder of splits, file
  std::filesystem::path output_dir;  // --output-dir
  std::string train_split = "train";
  std::string eval_split = "val";    // "" or "none": no evaluation
  std::string test_split = "test";   // "" or "none": no final test evaluation
  std::string eval_file, test_file;  // explicit evaluation / test data (--validation-file, --test-file)
  std::string text_column = "text", label_column = "label";
  // Sentence pairs: the second text's CSV/TSV column or JSONL key ("" = single texts). Each row is
  // tokenized as a pair ([CLS] A [SEP] B [SEP], <s> A </s></s> B </s>) truncated longest-first, and
  // models with token types (BERT) get types 0 then 1 from the post-processor, in training and eval.
  std::string text_pair_column;
  double learning_rate = 5e-5;
  int train_batch_size = 4;
  int eval_batch_size = 4;
  double num_train_epochs = 3;  // may be fractional: steps = ceil(epochs * steps per epoch), as the Trainer
  int64_t max_steps = -1;       // > 0 overrides the epoch count (HF semantics)
  uint64_t seed = 42;
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_epsilon = 1e-8;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;  // <= 0 disables clipping
  int64_t warmup_steps = 0;
  double warmup_ratio = 0.0;
  std::string lr_scheduler_type = "linear";  // see schedule.hpp
  // Optimizer steps of N consecutive batches (train_batch_size each): each batch's loss is scaled
  // by 1/N and the gradients summed, as the Trainer (4.35) does; an epoch's last step may hold fewer.
  int gradient_accumulation_steps = 1;
  size_t max_seq_length = 0;         // 0 = the tokenizer's model maximum
  int64_t logging_steps = 500;       // also logged at every epoch end
  bool shuffle = true;               // false: dataset order every epoch
  std::filesystem::path order_file;  // replay an exact example order (train.py's order.txt)
  bool dropout = true;               // false: dropout off (equivalence runs)
  // When to evaluate on the eval split: "epoch" (every epoch end; this CLI's default), "steps"
  // (every eval_steps optimizer steps; 0 = logging_steps, as TrainingArguments) or "no".
  std::string eval_strategy = "epoch";
  int64_t eval_steps = 0;
  // When to write checkpoint-N/: "epoch" (every epoch end, and also every save_steps when > 0),
  // "steps" (every save_steps; 0 = 500, the Trainer's default) or "no".
  std::string save_strategy = "epoch";
  int64_t save_steps = 0;
  int save_total_limit = 0;            // keep only the newest N checkpoints (0 = all)
  std::string resume_from_checkpoint;  // a checkpoint directory, or "latest"
  // A new (not resumed) run refuses an output_dir holding an earlier run's checkpoints or model
  // unless this is set, as the Trainer's scripts do; the earlier checkpoints are then kept (except
  // one of a step this run saves too) and never rotated nor picked by "latest".
  bool overwrite_output_dir = false;
  bool ignore_mismatched_sizes = false;  // re-create a head whose label count differs from the data's
  // single_label_classification | multi_label_classification; "" = the model's config.json, else
  // inferred from the data as transformers does (label sets -> multi-label).
  std::string problem_type;
  double threshold = 0.5;        // multi-label: predict a label when sigmoid > threshold
  bool tune_thresholds = false;  // multi-label: tune per-label thresholds on the eval split
                                 // and save thresholds.json (src/data/thresholds.hpp)
  // Best model (train/best_model.hpp): metric_for_best_model ("" = loss) with greater_is_better
  // (unset = not a "*loss" name) decides best_metric / best_model_checkpoint in trainer_state.json;
  // load_best_model_at_end ends with that checkpoint's weights (eval and save strategies must match).
  bool load_best_model_at_end = false;
  std::string metric_for_best_model;
  std::optional<bool> greater_is_better;
  // EarlyStoppingCallback: stop after `patience` evaluations without an improvement of more than
  // `threshold` (0 = off; needs load_best_model_at_end, as the callback does).
  int early_stopping_patience = 0;
  double early_stopping_threshold = 0.0;
  // Single-label loss with label smoothing (torch's cross_entropy label_smoothing; the Trainer's
  // LabelSmoother gives the same value).
  double label_smoothing_factor = 0.0;
  // "" | "balanced" | a JSON file: per-class weights of the cross-entropy, or BCE pos_weight per
  // label for multi-label models (train/loss.hpp). run_training resolves it into class_weight_values.
  std::string class_weights;
  std::vector<float> class_weight_values;
  // After training, predict the test split and write predict_results.txt (run_classification.py).
  bool do_predict = false;
  int threads = 0;  // OpenMP threads (0 = leave as is)
  // --bf16: torch.autocast("cpu", torch.bfloat16) over training and evaluation, as the Trainer's
  // bf16=True: every linear's products (forward, dx, dW) on bf16-rounded operands with FP32 sums and
  // outputs (kernels/bf16_gemm.hpp); FP32 master weights, AdamW, loss, softmax, LayerNorm.
  bool bf16 = false;
  int64_t weight_check_steps = 50;  // under mpirun: compare the ranks' weights every N steps
  bool quiet = false;               // no progress output
  bool plots = true;                // loss_curve.svg / eval_metrics.svg
  // Asked after every step (e.g. by a SIGINT handler): true stops the run after saving a
  // checkpoint of that exact step, so --resume-from-checkpoint continues it bit-identically.
  std::function<bool(int64_t global_step)> should_stop;
  // Called after every step, before should_stop, with the step's record and the run's total step
  // count: progress for embedders (the Python module's callback / tqdm bar).
  std::function<void(const StepRecord& step, int64_t total_steps)> on_step;
};

// The options under the Trainer's TrainingArguments names (learning_rate, per_device_train_batch_size,
// ...), written as training_args.json next to the model and in every checkpoint (the stand-in for
// the Trainer's pickled training_args.bin).
nlohmann::json training_args_json(const TrainOptions& o);

// Throws InvalidArgument naming the flag (e.g. "--per-device-train-batch-size must be >= 1").
void validate_train_options(const TrainOptions& o);

// eval_steps / save_steps with the Trainer's defaults filled in (logging_steps; 500).
int64_t effective_eval_steps(const TrainOptions& o);
int64_t effective_save_steps(const TrainOptions& o);

struct TokenizedSplit {
  std::vector<std::vector<int32_t>> ids;      // [CLS] ... [SEP] per example
  std::vector<int> labels;                    // in [0, K) (single-label models)
  std::vector<std::vector<float>> targets{};  // [N][K] multi-hot (multi-label models; labels unused)
  // Token types per example, each as long as its ids row (sentence pairs: 0 then 1), or empty:
  // every token type 0.
  std::vector<std::vector<int32_t>> type_ids{};
};

// A dataset tokenized once for training or evaluation: rows with a text_pair as pairs (truncated
// longest-first to max_length, as transformers' tokenizer(text, text_pair, truncation=True)),
// the others as single texts; labels, or multi-hot targets for multi-label data. Token types are
// kept only when some row is a pair and `token_types` (the model takes them: BERT).
TokenizedSplit tokenize_split(const Tokenizer& tok, const Dataset& d, size_t max_length, bool token_types);

// The model being trained: parameters owned in `layout` order.
struct TrainModel {
  ModelConfig config;
  ParamLayout layout{ModelConfig{}};
  std::vector<float> params;
  std::filesystem::path tokenizer_dir;  // copied into checkpoints (may be empty)
};

struct StepRecord {
  int64_t step = 0;  // 1-based, after the update
  double epoch = 0;  // fractional epoch, as the Trainer logs it
  double loss = 0;
  double lr = 0;         // the learning rate this update used
  double grad_norm = 0;  // pre-clip global norm
  int batch_size = 0;
  int seq_len = 0;
};

struct EpochEval {
  double epoch = 0;
  int64_t step = 0;
  nlohmann::json metrics;  // eval_loss, eval_precision, eval_recall, eval_f1, ... (Trainer keys)
  std::string report;      // sklearn classification_report text
};

struct TrainOutcome {
  std::vector<StepRecord> steps;  // every step of the run, including those before a resume
  std::vector<EpochEval> evals;
  std::vector<ResultsRow> results;  // the model card's "Training results" rows
  TrainerState state;
  int64_t global_step = 0;
  double epoch = 0;
  double train_loss = 0;     // mean of every step's loss
  double train_runtime = 0;  // seconds, this process
  int64_t steps_this_run = 0;
  bool resumed = false;
  std::filesystem::path resumed_from;
  bool interrupted = false;               // stopped early by should_stop
  bool early_stopped = false;             // stopped by early stopping (a normal end otherwise)
  bool loaded_best = false;               // load_best_model_at_end replaced the last weights
  std::filesystem::path last_checkpoint;  // the newest checkpoint written by this run (empty if none)
};

// The loop. `label_names` names the K classes (for metrics). Writes checkpoints into
// opts.output_dir per opts.save_strategy. `eval` may be null.
TrainOutcome train_loop(TrainModel& model, const TokenizedSplit& train, const TokenizedSplit* eval,
                        const std::vector<std::string>& label_names, const TrainOptions& opts);

// The whole `bert-emotion train` command (see the overview). Prints the results table and the
// test classification report to stdout unless opts.quiet. An interrupted run (should_stop) leaves
// its checkpoint and returns without writing the final outputs.
TrainOutcome run_training(const TrainOptions& opts);

// Reads an order file: one line per epoch, each a permutation of 0..n-1. FormatError naming the
// file and line; at least `epochs` lines are required.
std::vector<std::vector<int64_t>> read_order_file(const std::filesystem::path& path, size_t n, int64_t epochs);

}  // namespace bert_emotion
