// cmd_train.cpp — `bert-emotion train --model DIR|HUB_ID --data SPEC --output-dir DIR [...]`.
//
// Fine-tunes a DistilBERT, BERT or RoBERTa classifier with the Hugging Face Trainer's recipe (see
// src/train/trainer.hpp). Defaults are the BERT-Emotion model card's: learning rate 5e-5, batch 4
// (train and eval), 3 epochs, seed 42, AdamW betas (0.9, 0.999) eps 1e-8, weight decay 0, linear
// schedule without warmup, gradient clipping at 1.0, logging every 500 steps and at epoch ends.
// Every flag also answers to the Trainer's snake_case name (--learning_rate, --num_train_epochs,
// --per_device_train_batch_size, --output_dir, --model_name_or_path, ...).
//
//   bert-emotion train --model distilbert-base-cased --data tweet_eval/emotion --output-dir runs/emotion
//   bert-emotion train --model runs/emotion --data reviews.csv --output-dir runs/r --num_train_epochs 1
//   bert-emotion train ... --resume-from-checkpoint latest
//   bert-emotion train --model bert-base-uncased --data nli.csv --text-pair-column hypothesis --output-dir runs/n
// Under mpirun: data-parallel over the ranks (docs/SCALING.md); the batch size is per rank.
// Ctrl-C (SIGINT) or SIGTERM (kill, timeout, schedulers, container stops) stops after the current
// step with a checkpoint of it and exits 128 + the signal number (130 / 143, as a shell reports a
// command the signal ended); resuming from it ends with the same weights as an uninterrupted run.
// A new run refuses an --output-dir holding an earlier run's checkpoints or model unless
// --overwrite-output-dir (the Trainer's rule); --save-total-limit and "latest" see only this run's.
#include <csignal>
#include <iostream>
#include <memory>

#include "cli/command.hpp"
#include "hub/hub.hpp"
#include "train/schedule.hpp"
#include "train/trainer.hpp"
#include "util/error.hpp"

namespace bert_emotion::cli {
namespace {

struct TrainCli {
  TrainOptions o;
  double epochs = 3;
  std::string dropout = "on";
  std::string greater_is_better;
  bool no_shuffle = false;
  bool no_plots = false;
  std::string order;
  std::string output_dir;
};

// SIGINT / SIGTERM: the first one asks the loop to stop after the current step and save a checkpoint
// of it; a second one kills the process as usual.
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void request_stop(int sig) {
  g_stop_signal = sig;
  std::signal(sig, SIG_DFL);
}

int run_train_cli(TrainCli& c) {
  c.o.num_train_epochs = c.epochs;
  c.o.output_dir = c.output_dir;
  c.o.dropout = c.dropout == "on";
  if (!c.greater_is_better.empty()) c.o.greater_is_better = c.greater_is_better == "true";
  c.o.shuffle = !c.no_shuffle;
  c.o.plots = !c.no_plots;
  c.o.order_file = c.order;
  c.o.should_stop = [](int64_t) { return g_stop_signal != 0; };
  // Fetch a hub model / dataset here, with the CLI's progress bar; run_training then finds them in
  // the cache (and keeps the hub id for the model card).
  resolve_model_path(c.o.model, cli_hub_options());
  resolve_dataset_path(c.o.data, cli_hub_options());
  auto previous_int = std::signal(SIGINT, request_stop);
  auto previous_term = std::signal(SIGTERM, request_stop);
  const TrainOutcome r = run_training(c.o);
  std::signal(SIGINT, previous_int == SIG_ERR ? SIG_DFL : previous_int);
  std::signal(SIGTERM, previous_term == SIG_ERR ? SIG_DFL : previous_term);
  if (r.interrupted) {
    const int sig = g_stop_signal != 0 ? g_stop_signal : SIGINT;  // 0: another rank was stopped (mpirun)
    std::cerr << (g_stop_signal == 0 ? "another rank"
                  : sig == SIGTERM   ? "SIGTERM"
                                     : "SIGINT")
              << ": stopped after step " << r.global_step << ", saved " << r.last_checkpoint.string() << "; exit "
              << 128 + sig << "\n";
    return 128 + sig;  // as a shell reports a command the signal ended
  }
  return r.global_step > 0 ? kExitOk : kExitFailure;
}

Registrar reg("train", [](CLI::App& app) {
  auto* sub = app.add_subcommand(
      "train", "Fine-tune a DistilBERT, BERT or RoBERTa text classifier (Hugging Face Trainer recipe)");
  auto c = std::make_shared<TrainCli>();
  TrainOptions& o = c->o;
  sub->add_option("--model,-m,--model_name_or_path", o.model,
                  "Model directory or hub id: a sequence-classification model or a masked-LM checkpoint "
                  "(e.g. distilbert-base-cased; its head is created fresh)")
      ->required();
  sub->add_option("--data,--dataset", o.data,
                  "Dataset: a TweetEval task folder or name (tweet_eval/emotion), a folder of "
                  "{train,val,test}.{csv,tsv,jsonl}, or one such file")
      ->required();
  sub->add_option("--output-dir,--output_dir", c->output_dir, "Where the model, checkpoints and reports go")
      ->required();
  sub->add_option("--train-split,--train_split_name", o.train_split, "Training split")->capture_default_str();
  sub->add_option("--eval-split,--validation_split_name", o.eval_split, "Evaluation split, or 'none'")
      ->capture_default_str();
  sub->add_option("--test-split,--test_split_name", o.test_split, "Test split evaluated at the end, or 'none'")
      ->capture_default_str();
  sub->add_option("--validation-file,--validation_file", o.eval_file,
                  "Evaluation data in a separate file or folder (overrides --eval-split)");
  sub->add_option("--test-file,--test_file", o.test_file, "Test data in a separate file or folder");
  sub->add_option("--text-column,--text_column_name", o.text_column, "CSV/TSV/JSONL text column")
      ->capture_default_str();
  sub->add_option("--label-column,--label_column_name", o.label_column, "CSV/TSV/JSONL label column")
      ->capture_default_str();
  sub->add_option("--text-pair-column,--text_pair_column,--text_pair_column_name", o.text_pair_column,
                  "CSV/TSV/JSONL column of the second text: train on sentence pairs (BERT: token types 0 then "
                  "1; truncation longest-first)");
  sub->add_option("--learning-rate,--learning_rate,--lr", o.learning_rate, "Peak learning rate")->capture_default_str();
  sub->add_option("--per-device-train-batch-size,--per_device_train_batch_size,--train-batch-size,--batch-size",
                  o.train_batch_size, "Training batch size")
      ->capture_default_str();
  sub->add_option("--per-device-eval-batch-size,--per_device_eval_batch_size,--eval-batch-size", o.eval_batch_size,
                  "Evaluation batch size")
      ->capture_default_str();
  sub->add_option("--num-train-epochs,--num_train_epochs,--epochs", c->epochs,
                  "Number of epochs; a fraction trains ceil(epochs x steps per epoch) steps, as the Trainer")
      ->capture_default_str();
  sub->add_option("--max-steps,--max_steps", o.max_steps, "Total optimizer steps (overrides the epoch count; -1 = off)")
      ->capture_default_str();
  sub->add_option("--seed", o.seed, "Seed for shuffling, dropout and head initialisation")
      ->capture_default_str()
      ->check(AtLeast(0));
  sub->add_option("--adam-beta1,--adam_beta1", o.adam_beta1, "AdamW beta1")->capture_default_str();
  sub->add_option("--adam-beta2,--adam_beta2", o.adam_beta2, "AdamW beta2")->capture_default_str();
  sub->add_option("--adam-epsilon,--adam_epsilon", o.adam_epsilon, "AdamW epsilon")->capture_default_str();
  sub->add_option("--weight-decay,--weight_decay", o.weight_decay,
                  "Decoupled weight decay (never on biases and LayerNorm weights)")
      ->capture_default_str();
  sub->add_option("--max-grad-norm,--max_grad_norm", o.max_grad_norm, "Global gradient-norm clip (0 = off)")
      ->capture_default_str();
  sub->add_option("--warmup-steps,--warmup_steps", o.warmup_steps, "Linear warmup steps")->capture_default_str();
  sub->add_option("--warmup-ratio,--warmup_ratio", o.warmup_ratio, "Warmup as a fraction of all steps")
      ->capture_default_str();
  sub->add_option("--gradient-accumulation-steps,--gradient_accumulation_steps", o.gradient_accumulation_steps,
                  "Batches per optimizer step (each loss scaled by 1/N, gradients summed)")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  sub->add_option("--lr-scheduler-type,--lr_scheduler_type", o.lr_scheduler_type,
                  "Learning-rate schedule: linear, cosine, cosine_with_restarts, polynomial, constant, "
                  "constant_with_warmup, inverse_sqrt (transformers' formulas)")
      ->check(CLI::IsMember(lr_scheduler_types()))
      ->capture_default_str();
  sub->add_option("--max-seq-length,--max_seq_length", o.max_seq_length,
                  "Truncate inputs to this many tokens (0 = the model maximum)")
      ->capture_default_str();
  sub->add_option("--logging-steps,--logging_steps", o.logging_steps, "Log the mean training loss every N steps")
      ->capture_default_str();
  sub->add_flag("--no-shuffle", c->no_shuffle, "Keep the dataset order every epoch");
  sub->add_flag("--bf16", o.bf16,
                "Mixed precision as torch.autocast(\"cpu\", torch.bfloat16): linears' products on bf16 operands "
                "(FP32 sums, master weights, AdamW, loss, LayerNorm)");
  sub->add_option("--order", c->order, "Replay an example order: one line per epoch of 0-based indices");
  sub->add_option("--dropout", c->dropout, "Dropout as configured in config.json (on) or disabled (off)")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  sub->add_option(
         "--eval-strategy,--eval_strategy,--evaluation-strategy,--evaluation_strategy", o.eval_strategy,
         "Evaluate on the eval split at every epoch end (epoch), every --eval-steps steps (steps), or never (no)")
      ->check(CLI::IsMember({"no", "steps", "epoch"}))
      ->capture_default_str();
  sub->add_option("--eval-steps,--eval_steps", o.eval_steps,
                  "With --eval-strategy steps: evaluate every N steps (0 = --logging-steps)")
      ->check(AtLeast(0))
      ->capture_default_str();
  sub->add_option("--save-strategy,--save_strategy", o.save_strategy,
                  "epoch: checkpoint-N/ at every epoch end (and every --save-steps if > 0); steps: every "
                  "--save-steps (0 = 500); no")
      ->check(CLI::IsMember({"no", "steps", "epoch"}))
      ->capture_default_str();
  sub->add_option(
         "--save-steps,--save_steps", o.save_steps,
         "Checkpoint every N steps (--save-strategy steps; with epoch: also every N steps, 0 = only at epoch ends)")
      ->check(AtLeast(0))
      ->capture_default_str();
  sub->add_flag(
      "--load-best-model-at-end,--load_best_model_at_end", o.load_best_model_at_end,
      "End with the best evaluation's checkpoint (--metric-for-best-model); save and eval strategies must match");
  sub->add_option("--metric-for-best-model,--metric_for_best_model", o.metric_for_best_model,
                  "Evaluation metric that picks the best model: loss (default), f1, accuracy, f1_micro, ... "
                  "(\"eval_\" prefix optional)");
  sub->add_option("--greater-is-better,--greater_is_better", c->greater_is_better,
                  "Whether a larger --metric-for-best-model is better (default: true unless it ends in \"loss\")")
      ->transform(CLI::IsMember({"true", "false"}, CLI::ignore_case));  // also True / False, as argparse
  sub->add_option(
         "--early-stopping-patience,--early_stopping_patience", o.early_stopping_patience,
         "Stop after N evaluations without improvement (EarlyStoppingCallback; needs --load-best-model-at-end)")
      ->check(AtLeast(1));
  sub->add_option("--early-stopping-threshold,--early_stopping_threshold", o.early_stopping_threshold,
                  "An improvement must exceed this to reset the patience")
      ->capture_default_str();
  sub->add_option("--label-smoothing-factor,--label_smoothing_factor", o.label_smoothing_factor,
                  "Label smoothing of the single-label cross-entropy, in [0, 1) (0 = off)")
      ->capture_default_str();
  sub->add_option("--class-weights,--class_weights", o.class_weights,
                  "balanced (sklearn's n / (K x count); multi-label: BCE pos_weight = negatives / positives) or a "
                  "JSON file: [w0, w1, ...] in label-id order or {\"label\": w}");
  sub->add_flag("--do-predict,--do_predict", o.do_predict,
                "After training, predict the test split into predict_results.txt (run_classification.py's format)");
  sub->add_option("--save-total-limit,--save_total_limit", o.save_total_limit, "Keep only the newest N checkpoints")
      ->capture_default_str();
  sub->add_option("--resume-from-checkpoint,--resume_from_checkpoint", o.resume_from_checkpoint,
                  "Continue from a checkpoint directory, or 'latest' (this output dir's last run's newest)");
  sub->add_flag("--overwrite-output-dir,--overwrite_output_dir", o.overwrite_output_dir,
                "Start a new run in an --output-dir that holds an earlier run's checkpoints or model (they are "
                "kept, and never rotated nor resumed by 'latest'; a checkpoint of the same step is replaced)");
  sub->add_option("--problem-type,--problem_type", o.problem_type,
                  "single_label_classification or multi_label_classification (default: the model's config, "
                  "else inferred from the data: label sets such as \"2,7\" make it multi-label)")
      ->check(CLI::IsMember({"single_label_classification", "multi_label_classification"}));
  sub->add_option("--threshold", o.threshold, "Multi-label: predict a label when its sigmoid score > this")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  sub->add_flag("--tune-thresholds,--tune_thresholds", o.tune_thresholds,
                "Multi-label: tune one threshold per label on the evaluation split (best F1) and save "
                "thresholds.json in --output-dir (used by predict, eval and serve)");
  sub->add_flag("--ignore-mismatched-sizes,--ignore_mismatched_sizes", o.ignore_mismatched_sizes,
                "Replace a classification head whose label count differs from the data's");
  sub->add_option("--threads", o.threads, "CPU threads (0 = OpenMP default)")->capture_default_str()->check(AtLeast(0));
  sub->add_option("--weight-check-steps", o.weight_check_steps,
                  "Under mpirun: compare the ranks' weights (a checksum) every N steps (docs/SCALING.md)")
      ->check(AtLeast(1))
      ->capture_default_str();
  sub->add_flag("--no-plots", c->no_plots, "Do not write the SVG plots");
  sub->add_flag("--quiet,-q", o.quiet, "No progress output");
  return std::function<int()>([c] { return run_train_cli(*c); });
});

}  // namespace
}  // namespace bert_emotion::cli
