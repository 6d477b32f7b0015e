// trainer.cpp — the fine-tuning loop (train_loop) and option validation; see trainer.hpp.
// The command around it is run_training.cpp.
#include "train/trainer.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <sstream>
#include <tuple>

#include "data/dataset.hpp"
#include "data/evaluate.hpp"
#include "data/metrics.hpp"
#include "data/multilabel_metrics.hpp"
#include "dist/communicator.hpp"
#include "kernels/bf16_gemm.hpp"
#include "model/encoder.hpp"
#include "train/best_model.hpp"
#include "train/checkpoint.hpp"
#include "train/loss.hpp"
#include "train/optimizer.hpp"
#include "train/progress.hpp"
#include "train/schedule.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/rng.hpp"

namespace bert_emotion {

namespace fs = std::filesystem;

void validate_train_options(const TrainOptions& o) {
  auto bad = [](const std::string& msg) { throw InvalidArgument(msg); };
  if (o.train_batch_size < 1)
    bad("--per-device-train-batch-size must be >= 1 (got " + std::to_string(o.train_batch_size) + ")");
  if (o.eval_batch_size < 1)
    bad("--per-device-eval-batch-size must be >= 1 (got " + std::to_string(o.eval_batch_size) + ")");
  if (!(o.learning_rate > 0) || !std::isfinite(o.learning_rate)) bad("--learning-rate must be > 0");
  if (!(o.num_train_epochs > 0 && o.num_train_epochs <= 1e6) && o.max_steps <= 0)
    bad("--num-train-epochs must be > 0 (got " + python_float_repr(o.num_train_epochs) + "; or give --max-steps)");
  if (o.max_steps == 0) bad("--max-steps must be > 0 (or -1 for the epoch count)");
  if (!(o.adam_beta1 >= 0 && o.adam_beta1 < 1)) bad("--adam-beta1 must be in [0, 1)");
  if (!(o.adam_beta2 >= 0 && o.adam_beta2 < 1)) bad("--adam-beta2 must be in [0, 1)");
  if (!(o.adam_epsilon > 0)) bad("--adam-epsilon must be > 0 (0 divides by zero for untouched weights)");
  if (!(o.weight_decay >= 0)) bad("--weight-decay must be >= 0");
  if (!std::isfinite(o.max_grad_norm)) bad("--max-grad-norm must be finite");
  if (o.warmup_steps < 0) bad("--warmup-steps must be >= 0");
  if (!(o.warmup_ratio >= 0 && o.warmup_ratio <= 1)) bad("--warmup-ratio must be in [0, 1]");
  if (o.logging_steps < 0) bad("--logging-steps must be >= 0");
  if (o.save_total_limit < 0) bad("--save-total-limit must be >= 0");
  if (o.save_steps < 0) bad("--save-steps must be >= 0");
  if (o.threads < 0) bad("--threads must be >= 0");
  if (o.output_dir.empty()) bad("--output-dir is required");
  if (!o.order_file.empty() && !o.shuffle) bad("--order and --no-shuffle exclude each other");
  if (!o.problem_type.empty() && o.problem_type != "single_label_classification" &&
      o.problem_type != "multi_label_classification")
    bad("--problem-type must be single_label_classification or multi_label_classification (got '" + o.problem_type +
        "')");
  if (!(o.threshold >= 0 && o.threshold <= 1)) bad("--threshold must be in [0, 1]");
  if (o.gradient_accumulation_steps < 1) bad("--gradient-accumulation-steps must be >= 1");
  if (std::find(lr_scheduler_types().begin(), lr_scheduler_types().end(), o.lr_scheduler_type) ==
      lr_scheduler_types().end())
    bad("--lr-scheduler-type must be one of linear, cosine, cosine_with_restarts, polynomial, constant, "
        "constant_with_warmup, inverse_sqrt (got '" +
        o.lr_scheduler_type + "')");
  for (const auto& [flag, v] :
       {std::pair{"--eval-strategy", o.eval_strategy}, std::pair{"--save-strategy", o.save_strategy}})
    if (v != "no" && v != "steps" && v != "epoch")
      bad(std::string(flag) + " must be no, steps or epoch (got '" + v + "')");
  if (o.eval_steps < 0) bad("--eval-steps must be >= 0");
  // TrainingArguments' rules for the best model and EarlyStoppingCallback's.
  if (o.load_best_model_at_end) {
    if (o.eval_strategy == "no") bad("--load-best-model-at-end needs evaluations: --eval-strategy steps or epoch");
    if (o.save_strategy != o.eval_strategy)
      bad("--load-best-model-at-end requires the save and eval strategy to match (got --save-strategy " +
          o.save_strategy + " and --eval-strategy " + o.eval_strategy + ")");
    if (o.eval_strategy == "steps" && effective_save_steps(o) % effective_eval_steps(o) != 0)
      bad("--load-best-model-at-end requires --save-steps (" + std::to_string(effective_save_steps(o)) +
          ") to be a multiple of --eval-steps (" + std::to_string(effective_eval_steps(o)) + ")");
  }
  if (o.early_stopping_patience < 0) bad("--early-stopping-patience must be >= 1");
  if (o.early_stopping_patience > 0 && !o.load_best_model_at_end)
    bad("--early-stopping-patience requires --load-best-model-at-end (as transformers' EarlyStoppingCallback)");
  if (!(o.early_stopping_threshold >= 0) || !std::isfinite(o.early_stopping_threshold))
    bad("--early-stopping-threshold must be >= 0");
  if (!(o.label_smoothing_factor >= 0 && o.label_smoothing_factor < 1))
    bad("--label-smoothing-factor must be in [0, 1)");
}

int64_t effective_eval_steps(const TrainOptions& o) {
  return o.eval_steps > 0 ? o.eval_steps : std::max<int64_t>(1, o.logging_steps);
}

int64_t effective_save_steps(const TrainOptions& o) { return o.save_steps > 0 ? o.save_steps : 500; }

nlohmann::json training_args_json(const TrainOptions& o) {
  return {{"model_name_or_path", o.model},
          {"dataset", o.data},
          {"output_dir", o.output_dir.string()},
          {"overwrite_output_dir", o.overwrite_output_dir},
          {"train_split_name", o.train_split},
          {"validation_split_name", o.eval_split},
          {"test_split_name", o.test_split},
          {"validation_file", o.eval_file},
          {"test_file", o.test_file},
          {"text_column_name", o.text_column},
          {"label_column_name", o.label_column},
          {"text_pair_column_name", o.text_pair_column},
          {"learning_rate", o.learning_rate},
          {"per_device_train_batch_size", o.train_batch_size},
          {"per_device_eval_batch_size", o.eval_batch_size},
          {"num_train_epochs", o.num_train_epochs},
          {"max_steps", o.max_steps},
          {"seed", o.seed},
          {"adam_beta1", o.adam_beta1},
          {"adam_beta2", o.adam_beta2},
          {"adam_epsilon", o.adam_epsilon},
          {"optim", "adamw_torch"},
          {"weight_decay", o.weight_decay},
          {"max_grad_norm", o.max_grad_norm},
          {"lr_scheduler_type", o.lr_scheduler_type},
          {"gradient_accumulation_steps", o.gradient_accumulation_steps},
          {"warmup_steps", o.warmup_steps},
          {"warmup_ratio", o.warmup_ratio},
          {"max_seq_length", o.max_seq_length},
          {"logging_steps", o.logging_steps},
          {"logging_strategy", "steps"},
          {"eval_strategy", o.eval_strategy},
          {"eval_steps", effective_eval_steps(o)},
          {"save_strategy", o.save_strategy == "epoch" && o.save_steps > 0 ? "steps+epoch" : o.save_strategy},
          {"save_steps", o.save_strategy == "steps" ? effective_save_steps(o) : o.save_steps},
          {"load_best_model_at_end", o.load_best_model_at_end},
          {"metric_for_best_model",
           o.metric_for_best_model.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.metric_for_best_model)},
          {"greater_is_better", o.greater_is_better ? nlohmann::json(*o.greater_is_better) : nlohmann::json(nullptr)},
          {"early_stopping_patience", o.early_stopping_patience},
          {"early_stopping_threshold", o.early_stopping_threshold},
          {"label_smoothing_factor", o.label_smoothing_factor},
          {"class_weights", o.class_weights},
          {"do_predict", o.do_predict},
          {"save_total_limit", o.save_total_limit},
          {"shuffle", o.shuffle},
          {"order_file", o.order_file.string()},
          {"dropout", o.dropout},
          {"resume_from_checkpoint", o.resume_from_checkpoint},
          {"ignore_mismatched_sizes", o.ignore_mismatched_sizes},
          {"problem_type", o.problem_type},
          {"threshold", o.threshold},
          {"tune_thresholds", o.tune_thresholds},
          {"threads", o.threads},
          {"bf16", o.bf16}};
}

std::vector<std::vector<int64_t>> read_order_file(const fs::path& path, size_t n, int64_t epochs) {
  const std::vector<std::string> lines = split_lines(read_file(path), path.string());
  std::vector<std::vector<int64_t>> orders;
  for (size_t li = 0; li < lines.size(); ++li) {
    std::istringstream in(lines[li]);
    std::vector<int64_t> order;
    std::string tok;
    while (in >> tok) {
      char* end = nullptr;
      const long long v = std::strtoll(tok.c_str(), &end, 10);
      if (*end != '\0')
        throw FormatError(path.string() + ":" + std::to_string(li + 1) + ": not an index: '" + tok + "'");
      order.push_back(v);
    }
    if (order.empty()) continue;  // blank lines are skipped, as train.py does
    std::vector<int64_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    bool perm = sorted.size() == n;
    for (size_t i = 0; perm && i < n; ++i) perm = sorted[i] == static_cast<int64_t>(i);
    if (!perm)
      throw FormatError(path.string() + ":" + std::to_string(li + 1) + ": each line must be a permutation of 0.." +
                        std::to_string(n == 0 ? 0 : n - 1) + " (" + std::to_string(order.size()) + " indices)");
    orders.push_back(std::move(order));
  }
  if (static_cast<int64_t>(orders.size()) < epochs)
    throw FormatError(path.string() + ": has " + std::to_string(orders.size()) + " epoch lines, need " +
                      std::to_string(epochs));
  return orders;
}

namespace {

double round_to(double v, int digits) {
  const double s = std::pow(10.0, digits);
  return std::round(v * s) / s;
}

// One train_log.jsonl line, appended without allocating (the caller reserves `out`): the step loop
// stays allocation-free.
void append_step_record(std::string& out, const StepRecord& r) {
  char buf[320];
  const int len =
      std::snprintf(buf, sizeof buf,
                    "{\"batch_size\":%d,\"epoch\":%.17g,\"grad_norm\":%.17g,\"loss\":%.17g,\"lr\":%.17g,"
                    "\"seq_len\":%d,\"step\":%lld}\n",
                    r.batch_size, r.epoch, r.grad_norm, r.loss, r.lr, r.seq_len, static_cast<long long>(r.step));
  out.append(buf, static_cast<size_t>(std::min<int>(len, static_cast<int>(sizeof buf) - 1)));
}

std::vector<StepRecord> parse_step_log(const std::string& text, const std::string& source) {
  std::vector<StepRecord> out;
  std::istringstream in(text);
  std::string line;
  size_t ln = 0;
  while (std::getline(in, line)) {
    ++ln;
    if (line.empty()) continue;
    try {
      const auto j = nlohmann::json::parse(line);
      StepRecord r;
      r.step = j.at("step").get<int64_t>();
      r.epoch = j.at("epoch").get<double>();
      r.loss = j.at("loss").get<double>();
      r.lr = j.at("lr").get<double>();
      r.grad_norm = j.at("grad_norm").get<double>();
      r.batch_size = j.at("batch_size").get<int>();
      r.seq_len = j.at("seq_len").get<int>();
      out.push_back(r);
    } catch (const nlohmann::json::exception& e) {
      throw FormatError(source + ":" + std::to_string(ln) + ": " + e.what());
    }
  }
  return out;
}

// The training examples' token ids and labels, for checking that every rank reads the same data.
uint64_t training_data_checksum(const TokenizedSplit& train) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](uint64_t v) { h = (h ^ v) * 1099511628211ull; };
  for (size_t i = 0; i < train.ids.size(); ++i) {
    mix(train.ids[i].size());
    for (int32_t id : train.ids[i]) mix(static_cast<uint32_t>(id));
    if (!train.type_ids.empty())
      for (int32_t t : train.type_ids[i]) mix(static_cast<uint32_t>(t));
    if (!train.labels.empty()) mix(static_cast<uint32_t>(train.labels[i]));
    if (!train.targets.empty())  // multi-label: the label sets (no single labels)
      for (float t : train.targets[i]) mix(t > 0.5f ? 1u : 0u);
  }
  return h;
}

void scale_inplace(float* v, size_t n, float factor) {
  for (size_t i = 0; i < n; ++i) v[i] *= factor;
}

// HF Trainer.floating_point_ops: 6 x (padded) tokens x parameters without the embeddings.
double non_embedding_params(const ParamLayout& layout) {
  size_t n = 0;
  for (const auto& p : layout.params())
    if (p.name.find("embeddings.word_embeddings") == std::string::npos &&
        p.name.find("embeddings.position_embeddings") == std::string::npos)
      n += p.numel;
  return static_cast<double>(n);
}

void print_results_header(std::ostream& os) {
  os << "| Training Loss | Epoch | Step | Validation Loss | Precision | Recall | F1     |\n"
     << "|:-------------:|:-----:|:----:|:---------------:|:---------:|:------:|:------:|\n";
}

void print_results_row(std::ostream& os, const ResultsRow& r) {
  char line[256];
  char loss[32];
  if (r.training_loss) std::snprintf(loss, sizeof loss, "%.4f", *r.training_loss);
  else std::snprintf(loss, sizeof loss, "No log");
  std::snprintf(line, sizeof line, "| %-13s | %-5.1f | %-4lld | %-15.4f | %-9.4f | %-6.4f | %-6.4f |\n", loss, r.epoch,
                static_cast<long long>(r.step), r.validation_loss, r.precision, r.recall, r.f1);
  os << line << std::flush;
}

}  // namespace

TrainOutcome train_loop(TrainModel& model, const TokenizedSplit& train, const TokenizedSplit* eval,
                        const std::vector<std::string>& label_names, const TrainOptions& opts) {
  validate_train_options(opts);
  const ModelConfig& cfg = model.config;
  const ParamLayout& layout = model.layout;
  const int K = cfg.num_labels();
  const size_t n = train.ids.size();
  if (n == 0) throw InvalidArgument("the training split is empty");
  const bool multi = cfg.multi_label();
  if (!multi && train.labels.size() != n) throw InvalidArgument("train ids and labels differ in length");
  if (multi && train.targets.size() != n) throw InvalidArgument("train ids and label sets differ in length");
  if (model.params.size() != layout.size()) throw InvalidArgument("train_loop: params do not match the layout");
  if (static_cast<int>(label_names.size()) != K)
    throw InvalidArgument("the model has " + std::to_string(K) + " labels but " + std::to_string(label_names.size()) +
                          " label names were given");
  int T_max = 1;
  for (size_t i = 0; i < n; ++i) {
    const int len = static_cast<int>(train.ids[i].size());
    if (len == 0) throw InvalidArgument("training example " + std::to_string(i) + " has no tokens");
    if (len > cfg.max_tokens())
      throw InvalidArgument("training example " + std::to_string(i) + " has " + std::to_string(len) +
                            " tokens > the model's " + std::to_string(cfg.max_tokens()) + " positions" +
                            " (use --max-seq-length)");
    if (multi && train.targets[i].size() != static_cast<size_t>(K))
      throw InvalidArgument("training example " + std::to_string(i) + " has a label set of " +
                            std::to_string(train.targets[i].size()) + " entries, expected " + std::to_string(K));
    if (!multi && (train.labels[i] < 0 || train.labels[i] >= K))
      throw InvalidArgument("training example " + std::to_string(i) + " has label " + std::to_string(train.labels[i]) +
                            ", outside [0, " + std::to_string(K) + ")");
    T_max = std::max(T_max, len);
  }
  const bool typed = !train.type_ids.empty();
  for (const TokenizedSplit* split : {&train, eval}) {
    if (!split || split->type_ids.empty()) continue;
    const char* what = split == &train ? "training" : "evaluation";
    if (split->type_ids.size() != split->ids.size())
      throw InvalidArgument(std::string("the ") + what + " split has " + std::to_string(split->type_ids.size()) +
                            " token-type rows for " + std::to_string(split->ids.size()) + " examples");
    for (size_t i = 0; i < split->ids.size(); ++i) {
      if (split->type_ids[i].size() != split->ids[i].size())
        throw InvalidArgument(std::string(what) + " example " + std::to_string(i) + " has " +
                              std::to_string(split->type_ids[i].size()) + " token types for " +
                              std::to_string(split->ids[i].size()) + " tokens");
      for (int32_t t : split->type_ids[i])
        if (t < 0 || t >= std::max(1, cfg.type_vocab_size))
          throw InvalidArgument(std::string(what) + " example " + std::to_string(i) + " has token type " +
                                std::to_string(t) + ", outside the model's type_vocab_size " +
                                std::to_string(cfg.type_vocab_size));
    }
  }
  if (opts.threads > 0) omp_set_num_threads(opts.threads);
  const Bf16AutocastScope autocast(opts.bf16);

  // ---- run geometry (Trainer semantics): a step consumes B examples on each of the R ranks ----
  dist::Communicator& comm = dist::world();
  const int R = comm.size();
  const bool root = comm.is_root();
  const int B = opts.train_batch_size;
  const size_t G = static_cast<size_t>(B) * static_cast<size_t>(R);  // the global batch
  const int64_t accum = std::max(1, opts.gradient_accumulation_steps);
  const int64_t micro_per_epoch = static_cast<int64_t>((n + G - 1) / G);
  const int64_t steps_per_epoch = (micro_per_epoch + accum - 1) / accum;
  // Fractional epochs as the Trainer: max_steps = ceil(num_train_epochs * steps per epoch).
  const int64_t total_steps =
      opts.max_steps > 0
          ? opts.max_steps
          : static_cast<int64_t>(std::ceil(opts.num_train_epochs * static_cast<double>(steps_per_epoch)));
  const int64_t num_epochs = (total_steps + steps_per_epoch - 1) / steps_per_epoch;
  const int64_t warmup = resolve_warmup_steps(opts.warmup_steps, opts.warmup_ratio, total_steps);
  const LrSchedule schedule{opts.lr_scheduler_type, opts.learning_rate, warmup, total_steps};
  schedule.lr(0);  // an unknown type or a bad polynomial rate fails here, before any work
  std::vector<std::vector<int64_t>> file_orders;
  if (!opts.order_file.empty()) file_orders = read_order_file(opts.order_file, n, num_epochs);

  AdamW optimizer(layout.params(), layout.size(),
                  {opts.adam_beta1, opts.adam_beta2, opts.adam_epsilon, opts.weight_decay});
  Rng shuffle_rng(opts.seed);

  TrainOutcome out;
  TrainingState ts;
  ts.seed = opts.seed;
  ts.num_train_examples = static_cast<int64_t>(n);
  ts.train_batch_size = B;
  ts.world_size = R;
  ts.num_train_epochs = num_epochs;
  ts.max_steps = total_steps;
  ts.warmup_steps = warmup;
  ts.learning_rate = opts.learning_rate;
  ts.shuffle_rng_state = shuffle_rng.state();
  TrainerState& st = out.state;
  st.max_steps = total_steps;
  st.logging_steps = opts.logging_steps;
  st.eval_steps = effective_eval_steps(opts);
  st.save_steps = opts.save_strategy == "steps" ? effective_save_steps(opts) : opts.logging_steps;
  st.train_batch_size = B;
  st.num_train_epochs = num_epochs;

  // ---- resume ----
  if (!opts.resume_from_checkpoint.empty()) {
    fs::path dir = opts.resume_from_checkpoint;
    if (opts.resume_from_checkpoint == "latest") {
      auto latest = latest_checkpoint(opts.output_dir);
      if (!latest)
        throw InvalidArgument("--resume-from-checkpoint latest: no checkpoint-<N> directory in " +
                              opts.output_dir.string());
      dir = *latest;
    }
    LoadedCheckpoint ck = load_checkpoint(dir, layout);
    auto mismatch = [&](const char* what, const std::string& have, const std::string& want) {
      throw InvalidArgument("--resume-from-checkpoint " + dir.string() + ": the checkpoint's " + what + " is " + have +
                            " but this run's is " + want + "; resume with the original options");
    };
    if (ck.state.num_train_examples != ts.num_train_examples)
      mismatch("number of training examples", std::to_string(ck.state.num_train_examples), std::to_string(n));
    if (ck.state.train_batch_size * ck.state.world_size != static_cast<int64_t>(G))  // another -np is fine
      mismatch("global train batch size (per-device batch x ranks)",
               std::to_string(ck.state.train_batch_size) + " x " + std::to_string(ck.state.world_size),
               std::to_string(B) + " x " + std::to_string(R));
    if (ck.state.max_steps != total_steps)
      mismatch("total step count", std::to_string(ck.state.max_steps), std::to_string(total_steps));
    if (ck.state.seed != opts.seed) mismatch("seed", std::to_string(ck.state.seed), std::to_string(opts.seed));
    if (ck.state.learning_rate != opts.learning_rate)
      mismatch("learning rate", python_float_repr(ck.state.learning_rate), python_float_repr(opts.learning_rate));
    // The text columns (training_args.json; a checkpoint without the file or key is not checked): the
    // same number of examples from other columns, e.g. pairs dropped, would pass the checks above.
    for (const auto& [key, what, want] :
         {std::tuple<const char*, const char*, const std::string&>{"text_column_name", "text column", opts.text_column},
          {"text_pair_column_name", "text pair column", opts.text_pair_column}}) {
      const auto it = ck.training_args.is_object() ? ck.training_args.find(key) : ck.training_args.end();
      if (it != ck.training_args.end() && it->is_string() && it->get<std::string>() != want)
        mismatch(what, "'" + it->get<std::string>() + "'", "'" + want + "'");
    }
    model.params = std::move(ck.params);
    optimizer.exp_avg() = std::move(ck.exp_avg);
    optimizer.exp_avg_sq() = std::move(ck.exp_avg_sq);
    optimizer.set_step_count(ck.state.optimizer_step);
    ts = ck.state;
    ts.warmup_steps = warmup;
    ts.train_batch_size = B;
    ts.world_size = R;
    st = ck.trainer_state;
    st.max_steps = total_steps;
    out.steps = parse_step_log(ck.train_log_jsonl, (dir / "train_log.jsonl").string());
    out.resumed = true;
    out.resumed_from = dir;
    if (ts.run_id.empty()) ts.run_id = new_run_id();  // a checkpoint from before run ids
    // Rebuild the results rows from the evaluations logged so far.
    std::optional<double> last_loss;
    for (const auto& e : st.log_history) {
      if (e.contains("loss")) last_loss = e["loss"].get<double>();
      if (e.contains("eval_loss")) {
        out.results.push_back({last_loss, e.value("epoch", 0.0), e.value("step", int64_t{0}),
                               e["eval_loss"].get<double>(), e.value("eval_precision", 0.0),
                               e.value("eval_recall", 0.0), e.value("eval_f1", 0.0)});
        out.evals.push_back({e.value("epoch", 0.0), e.value("step", int64_t{0}), e, ""});
      }
    }
  }

  if (!out.resumed) {  // a new run: never among an earlier run's outputs by accident
    if (!opts.overwrite_output_dir) refuse_earlier_run_outputs(opts.output_dir);
    ts.run_id = new_run_id();
  }

  // ---- buffers, sized once for the largest batch: no allocation inside the step loop ----
  Weights w = layout.bind(model.params.data());
  std::vector<float> grads(layout.size(), 0.0f);
  Weights gw = layout.bind(grads.data());
  Activations acts;
  activations_reserve(acts, cfg, B, T_max, /*training=*/true);
  TokenBatch batch;
  batch.ids.reserve(static_cast<size_t>(B) * T_max);
  batch.lengths.reserve(static_cast<size_t>(B));
  if (typed) batch.type_ids.reserve(static_cast<size_t>(B) * T_max);
  std::vector<float> logits(static_cast<size_t>(B) * K), dlogits(static_cast<size_t>(B) * K);
  std::vector<int32_t> labels(static_cast<size_t>(B));
  std::vector<float> targets(multi ? static_cast<size_t>(B) * K : 0);
  std::vector<int64_t> order(n);
  std::string log_text;
  log_text.reserve(static_cast<size_t>(total_steps + 1) * 200);
  out.steps.reserve(static_cast<size_t>(total_steps));
  for (const auto& r : out.steps) append_step_record(log_text, r);
  const double flops_per_token = 6.0 * non_embedding_params(layout);

  const bool quiet = opts.quiet || !root;  // rank 0 alone reports
  ProgressReporter progress(total_steps, ts.global_step,
                            quiet ? ProgressReporter::Mode::Quiet : ProgressReporter::Mode::Auto,
                            std::max<int64_t>(1, opts.logging_steps > 0 ? opts.logging_steps / 5 : 50));
  bool printed_header = false;
  auto print_row = [&](const ResultsRow& r) {
    if (quiet) return;
    progress.message("");
    if (!printed_header) print_results_header(std::cout);
    printed_header = true;
    print_results_row(std::cout, r);
  };

  auto log_training_loss = [&](double epoch_now) {
    if (ts.steps_since_log == 0) return;
    const double avg = round_to(ts.logged_loss_sum / static_cast<double>(ts.steps_since_log), 4);
    st.log_history.push_back({{"loss", avg},
                              {"grad_norm", out.steps.empty() ? 0.0 : out.steps.back().grad_norm},
                              {"learning_rate", schedule.lr(ts.global_step)},  // the next update's, as HF logs it
                              {"epoch", epoch_now},
                              {"step", ts.global_step}});
    ts.logged_loss_sum = 0;
    ts.steps_since_log = 0;
  };

  int64_t last_save_step = -1;
  auto save_now = [&]() {
    last_save_step = ts.global_step;
    // The Trainer names the checkpoint of the best evaluation when it is saved.
    if (!st.best_global_step.is_null() && st.best_global_step.get<int64_t>() == ts.global_step)
      st.best_model_checkpoint = (opts.output_dir / ("checkpoint-" + std::to_string(ts.global_step))).string();
    st.global_step = ts.global_step;
    st.num_input_tokens_seen = ts.num_input_tokens_seen;
    st.total_flos = ts.total_flos;
    CheckpointData c;
    c.config = &cfg;
    c.layout = &layout;
    c.params = model.params.data();
    c.exp_avg = optimizer.exp_avg().data();
    c.exp_avg_sq = optimizer.exp_avg_sq().data();
    c.tokenizer_dir = model.tokenizer_dir;
    c.state = ts;
    c.trainer_state = st;
    c.train_log_jsonl = log_text;
    c.training_args = training_args_json(opts);
    if (!root) {  // rank 0 alone writes
      out.last_checkpoint = opts.output_dir / ("checkpoint-" + std::to_string(ts.global_step));
      return;
    }
    fs::create_directories(opts.output_dir);
    c.state.saved_at = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    out.last_checkpoint = save_checkpoint(opts.output_dir, c);
    progress.message("saved " + out.last_checkpoint.string());
    const fs::path best =
        st.best_model_checkpoint.is_string() ? fs::path(st.best_model_checkpoint.get<std::string>()) : fs::path();
    for (const auto& gone :
         rotate_checkpoints(opts.output_dir, opts.save_total_limit, ts.run_id, out.last_checkpoint, best))
      progress.message("deleted " + gone.string() + " (--save-total-limit " + std::to_string(opts.save_total_limit) +
                       ")");
  };

  // ---- evaluation, best model, early stopping (best_model.hpp) ----
  const bool track_best = opts.load_best_model_at_end || !opts.metric_for_best_model.empty();
  const BestModelTracker tracker(opts.metric_for_best_model, opts.greater_is_better);
  EarlyStopping stopper(opts.early_stopping_patience, opts.early_stopping_threshold, tracker.greater_is_better());
  std::vector<float> best_params;   // the best evaluation's weights (load_best_model_at_end), every rank
  if (out.resumed && track_best) {  // the patience counter, replayed from the evaluations logged so far
    nlohmann::json best_so_far = nullptr;
    for (const auto& h : st.log_history)
      if (h.contains(tracker.key())) {
        const double v = tracker.value_of(h);
        stopper.on_evaluate(v, best_so_far);
        if (best_so_far.is_null() ||
            (tracker.greater_is_better() ? v > best_so_far.get<double>() : v < best_so_far.get<double>()))
          best_so_far = v;
      }
  }
  int64_t last_eval_step = -1;
  // Evaluates on `eval` (every rank joins), logs and reports it; true when early stopping says stop.
  auto evaluate_now = [&](double epoch_now) {
    last_eval_step = ts.global_step;
    EvalOutput eo =
        multi
            ? evaluate_tokenized_multilabel(
                  cfg, w, eval->ids, eval->targets, opts.eval_batch_size,
                  std::vector<float>(static_cast<size_t>(K), static_cast<float>(opts.threshold)), comm, eval->type_ids)
            : evaluate_tokenized(cfg, w, eval->ids, eval->labels, opts.eval_batch_size, comm, eval->type_ids);
    nlohmann::json m = eval_results_json(eo, label_names, opts.eval_batch_size, "eval_");
    m["epoch"] = epoch_now;
    m["step"] = ts.global_step;
    st.log_history.push_back(m);
    std::optional<double> last_loss;
    for (const auto& h : st.log_history)
      if (h.contains("loss")) last_loss = h["loss"].get<double>();
    ResultsRow row{last_loss,
                   epoch_now,
                   ts.global_step,
                   eo.loss,
                   m["eval_precision"].get<double>(),
                   m["eval_recall"].get<double>(),
                   m["eval_f1"].get<double>()};
    out.results.push_back(row);
    out.evals.push_back(
        {epoch_now, ts.global_step, m,
         multi ? multilabel_report(eo.ml_metrics, label_names, 4) : classification_report(eo.metrics, label_names, 4)});
    print_row(row);
    if (!track_best) return false;
    const double value = tracker.value_of(m);
    const bool stop = stopper.on_evaluate(value, st.best_metric);  // against the best before this one
    if (tracker.update(st, value, ts.global_step) && opts.load_best_model_at_end) best_params = model.params;
    if (stop)
      progress.message("early stopping: " + tracker.key() + " did not improve for " +
                       std::to_string(opts.early_stopping_patience) + " evaluation(s)");
    return stop;
  };
  const bool can_eval = eval != nullptr && !eval->ids.empty();
  auto eval_due = [&](bool epoch_end) {
    if (!can_eval || last_eval_step == ts.global_step) return false;
    if (opts.eval_strategy == "steps") return ts.global_step % effective_eval_steps(opts) == 0;
    return opts.eval_strategy == "epoch" && epoch_end;
  };
  auto save_due = [&](bool epoch_end) {
    if (opts.save_strategy == "steps") return ts.global_step % effective_save_steps(opts) == 0;
    return opts.save_strategy == "epoch" &&
           (epoch_end || (opts.save_steps > 0 && ts.global_step % opts.save_steps == 0));
  };

  // Ranks must start from the same data and weights, and keep the same weights.
  auto check_ranks_agree = [&](uint64_t checksum, const std::string& what) {
    if (!comm.same_on_all_ranks(checksum))
      throw Error("data-parallel ranks disagree: " + what + " differ between ranks at step " +
                  std::to_string(ts.global_step) + " (rank " + std::to_string(comm.rank()) + " of " +
                  std::to_string(R) + "); every rank needs the same model, data and options");
  };
  const int64_t weight_check_steps = std::max<int64_t>(1, opts.weight_check_steps);
  if (R > 1) {
    check_ranks_agree(training_data_checksum(train), "the training examples");
    check_ranks_agree(dist::arena_checksum(model.params.data(), model.params.size()), "the weights");
  }

  const auto t_start = std::chrono::steady_clock::now();
  const int64_t first_epoch = ts.epoch;
  for (int64_t e = first_epoch; e < num_epochs && ts.global_step < total_steps; ++e) {
    // The epoch's order. A resumed run restores the RNG as it was at this epoch's start.
    if (e == first_epoch && out.resumed) shuffle_rng.set_state(ts.shuffle_rng_state);
    ts.shuffle_rng_state = shuffle_rng.state();
    if (!file_orders.empty()) {
      order = file_orders[static_cast<size_t>(e)];
    } else {
      std::iota(order.begin(), order.end(), int64_t{0});
      if (opts.shuffle) shuffle_rng.shuffle(order);
    }
    const int64_t first_b = (e == first_epoch) ? ts.step_in_epoch : 0;
    bool stopped_mid_epoch = false;  // a stop request already saved this step's checkpoint
    for (int64_t b = first_b; b < steps_per_epoch && ts.global_step < total_steps; ++b) {
      // One optimizer step: up to `accum` consecutive micro-batches (fewer at an epoch's end), each
      // loss scaled by 1 / accum as the Trainer (4.35) does; gradients accumulate across them.
      float loss = 0.f;
      int step_bs = 0, step_T = 1;
      const int64_t mb_last = std::min(micro_per_epoch, (b + 1) * accum);
      for (int64_t mb = b * accum; mb < mb_last; ++mb) {
        // The global batch is the next G examples of the order; this rank takes an even share of it
        // (B each, fewer in a short last batch), right-padded to its longest row.
        const size_t global_begin = static_cast<size_t>(mb) * G;
        const int global_bs = static_cast<int>(std::min(n, global_begin + G) - global_begin);
        const dist::Range share = dist::even_share(static_cast<size_t>(global_bs), R, comm.rank());
        const size_t begin = global_begin + share.first;
        const int bs = static_cast<int>(share.size());
        int T = 1, global_T = 1;
        for (int i = 0; i < global_bs; ++i)
          global_T = std::max(
              global_T,
              static_cast<int>(train.ids[static_cast<size_t>(order[global_begin + static_cast<size_t>(i)])].size()));
        for (int i = 0; i < bs; ++i)
          T = std::max(T,
                       static_cast<int>(train.ids[static_cast<size_t>(order[begin + static_cast<size_t>(i)])].size()));
        batch.B = bs;
        batch.T = T;
        batch.ids.assign(static_cast<size_t>(bs) * T, cfg.pad_token_id);
        batch.lengths.resize(static_cast<size_t>(bs));
        if (typed) batch.type_ids.assign(static_cast<size_t>(bs) * T, 0);  // padding is type 0, as train.py
        for (int i = 0; i < bs; ++i) {
          const size_t ex = static_cast<size_t>(order[begin + static_cast<size_t>(i)]);
          const auto& ids = train.ids[ex];
          std::copy(ids.begin(), ids.end(), batch.ids.begin() + static_cast<ptrdiff_t>(i) * T);
          if (typed)
            std::copy(train.type_ids[ex].begin(), train.type_ids[ex].end(),
                      batch.type_ids.begin() + static_cast<ptrdiff_t>(i) * T);
          batch.lengths[static_cast<size_t>(i)] = static_cast<int32_t>(ids.size());
          if (multi)
            std::copy(train.targets[ex].begin(), train.targets[ex].end(),
                      targets.begin() + static_cast<ptrdiff_t>(i) * K);
          else labels[static_cast<size_t>(i)] = train.labels[ex];
        }
        // Step: forward, loss, backward, clip, AdamW with the scheduled rate. Dropout masks are keyed
        // by (seed, step) in one process and by (seed, step x R + rank) on R ranks: distinct per rank.
        // With accumulation the key counts micro-batches: (step x accum + j) x R + rank.
        const uint64_t micro = static_cast<uint64_t>(ts.global_step) * static_cast<uint64_t>(accum) +
                               static_cast<uint64_t>(mb - b * accum);
        const DropoutSpec spec{opts.seed, micro * static_cast<uint64_t>(R) + static_cast<uint64_t>(comm.rank())};
        float mb_loss = 0.f;
        if (bs > 0) {
          // --bf16: each weight is rounded to bf16 once for the forward and dx products.
          const Bf16WeightReuseScope reuse;
          encoder_forward(cfg, w, batch, acts, logits.data(), opts.dropout ? &spec : nullptr);
          mb_loss = multi ? bce_with_logits_pos_weight_forward_backward(logits.data(), targets.data(), bs, K,
                                                                        opts.class_weight_values, dlogits.data())
                          : weighted_cross_entropy_forward_backward(
                                logits.data(), labels.data(), bs, K, opts.class_weight_values,
                                static_cast<float>(opts.label_smoothing_factor), dlogits.data());
          if (accum > 1) scale_inplace(dlogits.data(), static_cast<size_t>(bs) * K, 1.0f / static_cast<float>(accum));
          // The loss is a mean over the global batch: weight this rank's mean by its share of it.
          if (R > 1)
            scale_inplace(dlogits.data(), static_cast<size_t>(bs) * K,
                          static_cast<float>(bs) / static_cast<float>(global_bs));
          encoder_backward(cfg, w, gw, batch, acts, dlogits.data());  // accumulates (zeroed after each step)
        }
        loss += static_cast<float>(static_cast<double>(mb_loss) * bs / global_bs / accum);  // this rank's share
        step_bs += global_bs;
        step_T = std::max(step_T, global_T);
        ts.num_input_tokens_seen += static_cast<int64_t>(global_bs) * global_T;  // as one process pads
        ts.total_flos += flops_per_token * static_cast<double>(global_bs) * global_T;
      }
      // Ranks: sum the weighted gradients and losses.
      if (R > 1) {
        double loss_share = static_cast<double>(loss);
        comm.allreduce_sum(&loss_share, 1);
        comm.allreduce_sum(grads.data(), grads.size());
        loss = static_cast<float>(loss_share);
      }
      const float norm = global_grad_norm(layout.params(), grads.data());
      const double lr = schedule.lr(ts.global_step);
      // The clip is folded into the update, which also zeroes the gradients for the next step.
      optimizer.step_and_zero_grads(model.params.data(), grads.data(), lr, clip_coefficient(norm, opts.max_grad_norm));

      ++ts.global_step;
      ts.optimizer_step = optimizer.step_count();
      ts.step_in_epoch = b + 1;
      ts.loss_sum += loss;
      ts.logged_loss_sum += loss;
      ++ts.steps_since_log;
      ++out.steps_this_run;
      const double epoch_now =
          static_cast<double>(e) + static_cast<double>(b + 1) / static_cast<double>(steps_per_epoch);
      StepRecord rec{ts.global_step, epoch_now, loss, lr, norm, step_bs, step_T};
      out.steps.push_back(rec);
      append_step_record(log_text, rec);
      if (!std::isfinite(loss))
        throw Error("training diverged: loss is " + std::to_string(loss) + " at step " +
                    std::to_string(ts.global_step) + " (lower --learning-rate?)");
      if (opts.logging_steps > 0 && ts.global_step % opts.logging_steps == 0) log_training_loss(epoch_now);
      progress.update(ts.global_step, loss, lr);
      if (opts.on_step) opts.on_step(rec, total_steps);
      // Mid-epoch checkpoints (the epoch end saves its own): the state names this epoch, the batches
      // done in it and the RNG state it started from.
      const bool epoch_done = b + 1 == steps_per_epoch || ts.global_step >= total_steps;
      if (R > 1 && ts.global_step % weight_check_steps == 0)
        check_ranks_agree(dist::arena_checksum(model.params.data(), model.params.size()), "the weights");
      // A stop request on any rank stops them all after this step.
      bool stop = opts.should_stop && opts.should_stop(ts.global_step);
      if (R > 1) {
        double any = stop ? 1.0 : 0.0;
        comm.allreduce_sum(&any, 1);
        stop = any > 0;
      }
      // Mid-epoch evaluation (--eval-strategy steps), then checkpoint (its state names the best one).
      if (!epoch_done && eval_due(false)) out.early_stopped = evaluate_now(epoch_now);
      if (!epoch_done && (save_due(false) || stop)) {
        ts.epoch = e;
        st.epoch = epoch_now;
        save_now();
        stopped_mid_epoch = stop;
      }
      if (stop) {
        out.interrupted = true;
        break;
      }
      if (out.early_stopped) break;
    }
    if (stopped_mid_epoch) break;
    // Epoch end (or the --max-steps stop): log, evaluate, checkpoint.
    const double epoch_now =
        static_cast<double>(e) + static_cast<double>(ts.step_in_epoch) / static_cast<double>(steps_per_epoch);
    log_training_loss(epoch_now);
    if (eval_due(true)) out.early_stopped = evaluate_now(epoch_now);
    if (ts.step_in_epoch >= steps_per_epoch) {  // the next step starts a new epoch
      ts.epoch = e + 1;
      ts.step_in_epoch = 0;
      ts.shuffle_rng_state = shuffle_rng.state();
    } else {
      ts.epoch = e;
    }
    st.epoch = epoch_now;
    st.global_step = ts.global_step;
    st.num_input_tokens_seen = ts.num_input_tokens_seen;
    st.total_flos = ts.total_flos;
    if ((save_due(true) && last_save_step != ts.global_step) || out.interrupted) save_now();
    if (out.interrupted || out.early_stopped) break;
  }
  progress.finish();
  if (R > 1) check_ranks_agree(dist::arena_checksum(model.params.data(), model.params.size()), "the final weights");
  // --load-best-model-at-end: the best evaluation's weights (kept in memory, or its checkpoint after
  // a resume), as the Trainer loads best_model_checkpoint.
  if (opts.load_best_model_at_end && !out.interrupted && !st.best_global_step.is_null() &&
      st.best_global_step.get<int64_t>() != ts.global_step) {
    if (best_params.empty() && st.best_model_checkpoint.is_string())
      best_params = load_checkpoint(st.best_model_checkpoint.get<std::string>(), layout).params;
    if (!best_params.empty()) {
      model.params = std::move(best_params);
      out.loaded_best = true;
      if (!quiet)
        std::cout << "loaded the best model, step " << st.best_global_step.get<int64_t>() << " (" << tracker.key()
                  << " " << st.best_metric.dump() << ")\n";
    }
  }

  out.train_runtime = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  out.global_step = ts.global_step;
  out.epoch = st.epoch;
  out.train_loss = ts.global_step > 0 ? ts.loss_sum / static_cast<double>(ts.global_step) : 0.0;
  const double samples = static_cast<double>(opts.max_steps > 0 ? total_steps * static_cast<int64_t>(G)
                                                                : static_cast<int64_t>(n) * num_epochs);
  st.global_step = ts.global_step;
  st.log_history.push_back(
      {{"epoch", st.epoch},
       {"step", ts.global_step},
       {"total_flos", ts.total_flos},
       {"train_loss", out.train_loss},
       {"train_runtime", round_to(out.train_runtime, 4)},
       {"train_samples_per_second", out.train_runtime > 0 ? round_to(samples / out.train_runtime, 3) : 0.0},
       {"train_steps_per_second",
        out.train_runtime > 0 ? round_to(static_cast<double>(total_steps) / out.train_runtime, 3) : 0.0}});
  if (!opts.output_dir.empty() && root) {
    fs::create_directories(opts.output_dir);
    write_file_atomic(opts.output_dir / "train_log.jsonl", log_text);
  }
  return out;
}

}  // namespace bert_emotion
