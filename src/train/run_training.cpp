// run_training.cpp — the `bert-emotion train` command around the loop (see trainer.hpp): model,
// head and labels, tokenized splits, then the final model, Trainer files, model card and plots.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iostream>
#include <optional>

#include "data/dataset.hpp"
#include "data/evaluate.hpp"
#include "data/metrics.hpp"
#include "data/multilabel_metrics.hpp"
#include "data/thresholds.hpp"
#include "dist/communicator.hpp"
#include "hub/hub.hpp"
#include "model/family.hpp"
#include "model/init.hpp"
#include "model/model_dir.hpp"
#include "tokenizer/tokenizer.hpp"
#include "train/loss.hpp"
#include "train/outputs.hpp"
#include "train/plots.hpp"
#include "train/trainer.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace bert_emotion {

namespace fs = std::filesystem;

namespace {

bool split_enabled(const std::string& s) { return !s.empty() && s != "none"; }

// A label name as Python's repr() writes a str (the common cases: quotes and backslashes).
std::string python_str_repr(const std::string& s) {
  const bool use_double = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
  const char q = use_double ? '"' : '\'';
  std::string out(1, q);
  for (char c : s) {
    if (c == '\\' || c == q) out += '\\';
    out += c;
  }
  return out + q;
}

// run_classification.py's predict_results.txt: "index<TAB>prediction", then one row per example:
// the predicted label's name, or for a multi-label model the Python list of the passing names
// (['joy', 'love']; here with the thresholds in effect, 0.5 unless tuned or --threshold).
std::string predict_results_text(const EvalOutput& eo, const std::vector<std::string>& names) {
  std::string out = "index\tprediction\n";
  for (size_t i = 0; i < eo.predictions.size(); ++i) {
    out += std::to_string(i) + "\t";
    if (eo.multi_label) {
      std::string list;
      for (size_t k = 0; k < names.size(); ++k)
        if (eo.predicted_sets[i][k] > 0.5f) list += (list.empty() ? "" : ", ") + python_str_repr(names[k]);
      out += "[" + list + "]\n";
    } else {
      out += names[static_cast<size_t>(eo.predictions[i])] + "\n";
    }
  }
  return out;
}

// The evaluation or test split: an explicit file wins; a single-file dataset has no other split
// (evaluating on the training file would mislead); a folder without that split skips it.
// `role` is "val" or "test": the split read from an explicit folder.
std::optional<Dataset> load_optional_split(const fs::path& data_path, const std::string& split, const std::string& role,
                                           const std::string& explicit_file, const DatasetOptions& dopts,
                                           const std::function<void(const std::string&)>& say) {
  if (!explicit_file.empty()) return load_dataset(resolve_dataset_path(explicit_file), role, dopts);
  if (!split_enabled(split)) return std::nullopt;
  if (!fs::is_directory(data_path)) {
    say("note: " + data_path.string() + " is a single file: no '" + split + "' split (give --" +
        (role == "test" ? "test-file" : "validation-file") + ")");
    return std::nullopt;
  }
  if (!dataset_has_split(data_path, split)) {
    say("note: " + data_path.string() + " has no '" + split + "' split; skipping it");
    return std::nullopt;
  }
  return load_dataset(data_path, split, dopts);
}

std::string describe_dataset(const std::string& spec) {
  if (auto task = tweeteval_task(spec)) return *task;
  return fs::path(spec).filename().string();
}

}  // namespace

TokenizedSplit tokenize_split(const Tokenizer& tok, const Dataset& d, size_t max_length, bool token_types) {
  TokenizedSplit s;
  if (d.multi_label) s.targets = multi_hot(d);
  encode_rows(tok, d.rows, max_length, token_types, s.ids, s.type_ids);
  if (!d.multi_label) {
    s.labels.reserve(d.rows.size());
    for (const auto& row : d.rows) s.labels.push_back(row.label);
  }
  return s;
}

TrainOutcome run_training(const TrainOptions& opts) {
  validate_train_options(opts);
  if (opts.model.empty()) throw InvalidArgument("--model is required");
  if (opts.data.empty()) throw InvalidArgument("--data is required");
  if (opts.threads > 0) omp_set_num_threads(opts.threads);
  dist::Communicator& comm = dist::world();  // under mpirun: rank 0 alone reports and writes
  const bool root = comm.is_root();
  auto say = [&](const std::string& s) {
    if (!opts.quiet && root) std::cerr << s << "\n";
  };

  // Model and tokenizer.
  const fs::path model_path = resolve_model_path(opts.model);
  LoadOptions lo;
  lo.allow_missing_head = true;
  lo.owned_arena = true;
  LoadedModel loaded = load_model_dir(model_path, lo);
  const Tokenizer tok = Tokenizer::from_model_dir(model_path);

  // Data: the label space comes from the training split. The problem type: --problem-type, else the
  // model's config.json, else the data's (label sets make it multi-label, as transformers infers).
  const fs::path data_path = resolve_dataset_path(opts.data);
  DatasetOptions dopts;
  dopts.text_column = opts.text_column;
  dopts.label_column = opts.label_column;
  dopts.text_pair_column = opts.text_pair_column;
  const std::string declared = opts.problem_type.empty() ? loaded.config.problem_type : opts.problem_type;
  if (declared == "multi_label_classification") dopts.label_mode = LabelMode::Multi;
  if (declared == "single_label_classification") dopts.label_mode = LabelMode::Single;
  Dataset train_ds = load_dataset(data_path, opts.train_split, dopts);
  const bool multi = train_ds.multi_label;
  dopts.label_mode = multi ? LabelMode::Multi : LabelMode::Single;
  std::vector<std::string> names = train_ds.label_names;
  const int K = static_cast<int>(names.size());
  if (K < 2)
    throw FormatError(train_ds.source + ": the training data has " + std::to_string(K) + " label(s); need at least 2");
  dopts.label_names = names;
  std::optional<Dataset> eval_ds, test_ds;
  eval_ds = load_optional_split(data_path, opts.eval_split, "val", opts.eval_file, dopts, say);
  test_ds = load_optional_split(data_path, opts.test_split, "test", opts.test_file, dopts, say);
  if (opts.tune_thresholds && !multi)
    throw InvalidArgument("--tune-thresholds is for multi-label models (the data and model are single-label)");
  if (opts.tune_thresholds && !eval_ds)
    throw InvalidArgument("--tune-thresholds needs an evaluation split (--eval-split or --validation-file)");
  if (opts.load_best_model_at_end && !eval_ds)
    throw InvalidArgument("--load-best-model-at-end needs an evaluation split (--eval-split or --validation-file)");
  if (opts.label_smoothing_factor > 0 && multi)
    throw InvalidArgument("--label-smoothing-factor is for single-label models (this data is multi-label)");
  if (opts.do_predict && !test_ds)
    throw InvalidArgument("--do-predict needs a test split (--test-split or --test-file)");

  // A head that fits keeps its label ids, as run_classification.py does: integer labels without
  // names (LABEL_i) take the model's names; the model's names in another order are remapped.
  const int model_K = loaded.config.num_labels();
  if (loaded.has_head && model_K == K) {
    const std::vector<std::string> model_names = loaded.config.label_names();
    bool synthetic = true;
    for (int i = 0; i < K; ++i) synthetic = synthetic && names[static_cast<size_t>(i)] == "LABEL_" + std::to_string(i);
    std::vector<int> to_model(static_cast<size_t>(K), -1);
    for (int i = 0; i < K; ++i)
      for (int j = 0; j < K; ++j)
        if (names[static_cast<size_t>(i)] == model_names[static_cast<size_t>(j)]) to_model[static_cast<size_t>(i)] = j;
    const bool same_set = std::find(to_model.begin(), to_model.end(), -1) == to_model.end();
    if (synthetic) {
      names = model_names;
    } else if (same_set && names != model_names) {
      say("note: mapping the data's labels onto the model's label ids (" + model_names.front() + " = 0, ...)");
      for (Dataset* d : {&train_ds, eval_ds ? &*eval_ds : nullptr, test_ds ? &*test_ds : nullptr}) {
        if (!d) continue;
        for (auto& row : d->rows) {
          if (row.label >= 0) row.label = to_model[static_cast<size_t>(row.label)];
          for (int& id : row.labels) id = to_model[static_cast<size_t>(id)];
          std::sort(row.labels.begin(), row.labels.end());
        }
        d->label_names = model_names;
      }
      names = model_names;
    }
  }

  // The head: kept when it fits the data's labels; created fresh for a masked-LM checkpoint or,
  // with --ignore-mismatched-sizes, when its label count differs.
  TrainModel tm;
  tm.tokenizer_dir = model_path;
  bool fresh_head = !loaded.has_head;
  if (loaded.has_head && model_K != K) {
    if (!opts.ignore_mismatched_sizes)
      throw InvalidArgument("the model in " + model_path.string() + " has a classification head for " +
                            std::to_string(model_K) + " labels but the data has " + std::to_string(K) +
                            "; pass --ignore-mismatched-sizes to replace the head");
    fresh_head = true;
  }
  tm.config = loaded.config;
  set_labels(tm.config, names);
  tm.config.architectures = {family_spec(tm.config).architecture};
  tm.config.problem_type = multi ? "multi_label_classification" : "single_label_classification";
  tm.layout = ParamLayout(tm.config);
  tm.params.assign(tm.layout.size(), 0.0f);
  // A fresh head replaces every head tensor when the label count changed, else only those the
  // checkpoint lacks (a pretrained BERT pooler is kept).
  const bool replace_whole_head = loaded.has_head;
  auto fresh = [&](const ParamInfo& p) {
    return p.head && fresh_head &&
           (replace_whole_head ||
            std::find(loaded.missing_head.begin(), loaded.missing_head.end(), p.name) != loaded.missing_head.end());
  };
  for (const auto& p : tm.layout.params()) {
    const ParamInfo* src = loaded.layout.try_find(p.name);
    if (fresh(p)) continue;
    if (!src || src->numel != p.numel) throw FormatError(model_path.string() + ": tensor " + p.name + " does not fit");
    std::copy_n(loaded.arena.data() + src->offset, p.numel, tm.params.data() + p.offset);
  }
  if (fresh_head) {
    init_weights(tm.config, tm.layout, tm.params.data(), opts.seed, fresh);
    say("created a new classification head for " + std::to_string(K) + " labels (seed " + std::to_string(opts.seed) +
        ")");
  }
  loaded = LoadedModel{};  // release the source arena

  // Truncation: --max-seq-length, else the tokenizer's maximum capped by the position table (a
  // small model with a 512-token tokenizer would otherwise index past its positions).
  if (opts.max_seq_length == 1) throw InvalidArgument("--max-seq-length must be >= 2");
  size_t max_len = opts.max_seq_length;
  if (max_len == 0) max_len = std::min(tok.model_max_length(), static_cast<size_t>(tm.config.max_tokens()));
  const bool typed = tm.config.takes_token_types();
  TokenizedSplit train = tokenize_split(tok, train_ds, max_len, typed);
  std::optional<TokenizedSplit> eval;
  if (eval_ds) eval = tokenize_split(tok, *eval_ds, max_len, typed);
  say("training on " + std::to_string(train.ids.size()) +
      (opts.text_pair_column.empty()
           ? " examples"
           : " sentence pairs ('" + opts.text_column + "', '" + opts.text_pair_column + "')") +
      " (" + train_ds.source + "), " + std::to_string(K) + (multi ? " labels (multi-label)" : " labels") +
      ", evaluating on " + std::to_string(eval ? eval->ids.size() : 0));

  if (root) {
    std::error_code ec;  // typed IoError (exit 4), not an escaped std::filesystem_error
    fs::create_directories(opts.output_dir, ec);
    if (ec) throw IoError("cannot create output directory " + opts.output_dir.string() + ": " + ec.message());
  }
  TrainOptions loop_opts = opts;
  loop_opts.class_weight_values = resolve_class_weights(opts.class_weights, train.labels, train.targets, names);
  if (!loop_opts.class_weight_values.empty()) {
    std::string shown;
    for (size_t k = 0; k < names.size(); ++k)
      shown += (k ? ", " : "") + names[k] + " " + python_float_repr(loop_opts.class_weight_values[k]);
    say(std::string(multi ? "BCE pos_weight" : "class weights") + ": " + shown);
  }
  TrainOutcome r = train_loop(tm, train, eval ? &*eval : nullptr, names, loop_opts);
  if (r.interrupted) {
    say("interrupted at step " + std::to_string(r.global_step) + "; saved " + r.last_checkpoint.string() +
        "; continue with --resume-from-checkpoint latest");
    return r;
  }

  // Final model, Trainer files (rank 0; the other ranks only join the evaluations).
  const Weights w = tm.layout.bind(tm.params.data());
  std::optional<TokenizedSplit> test;
  if (test_ds) test = tokenize_split(tok, *test_ds, max_len, typed);
  // Multi-label: the decision thresholds (--threshold for every label, or tuned on the eval split;
  // every rank tunes the same ones from the gathered scores).
  std::vector<float> thresholds(static_cast<size_t>(K), static_cast<float>(opts.threshold));
  auto evaluate_split = [&](const TokenizedSplit& s) {
    return multi ? evaluate_tokenized_multilabel(tm.config, w, s.ids, s.targets, opts.eval_batch_size, thresholds, comm,
                                                 s.type_ids)
                 : evaluate_tokenized(tm.config, w, s.ids, s.labels, opts.eval_batch_size, comm, s.type_ids);
  };
  const bool tune = multi && opts.tune_thresholds;
  if (tune) {
    const EvalOutput eo = evaluate_split(*eval);
    thresholds = tune_thresholds(eo.targets, eo.scores);
  }
  if (!root) {
    if (eval && (r.evals.empty() || r.evals.back().step != r.global_step || tune || r.loaded_best))
      evaluate_split(*eval);
    if (test) evaluate_split(*test);
    return r;
  }
  save_model_dir(opts.output_dir, tm.config, tm.layout, tm.params.data(), tm.tokenizer_dir);
  write_json_file(opts.output_dir / "trainer_state.json", trainer_state_json(r.state), 2);
  write_json_file(opts.output_dir / "training_args.json", training_args_json(opts), 2);
  const auto& last = r.state.log_history.back();
  nlohmann::json train_metrics = {{"epoch", r.epoch},
                                  {"total_flos", last["total_flos"]},
                                  {"train_loss", r.train_loss},
                                  {"train_runtime", last["train_runtime"]},
                                  {"train_samples", train.ids.size()},
                                  {"train_samples_per_second", last["train_samples_per_second"]},
                                  {"train_steps_per_second", last["train_steps_per_second"]}};
  save_metrics(opts.output_dir, "train", train_metrics);

  if (tune) {
    write_thresholds(opts.output_dir, names, thresholds, eval_ds->source);
    say("tuned per-label thresholds on " + eval_ds->source + "; saved " + (opts.output_dir / kThresholdsFile).string());
  } else {
    std::error_code ec;  // thresholds tuned for an earlier model in this folder no longer apply
    fs::remove(opts.output_dir / kThresholdsFile, ec);
  }
  std::optional<ResultsRow> final_eval;
  if (eval) {
    // trainer.evaluate() after training; the last epoch's evaluation already saw these weights.
    nlohmann::json m;
    if (!r.evals.empty() && r.evals.back().step == r.global_step && !tune && !r.loaded_best) {
      m = r.evals.back().metrics;
      m.erase("step");
    } else {
      EvalOutput eo = evaluate_split(*eval);
      m = eval_results_json(eo, names, opts.eval_batch_size, "eval_");
      m["epoch"] = r.epoch;
    }
    save_metrics(opts.output_dir, "eval", m);
    final_eval = ResultsRow{std::nullopt,
                            r.epoch,
                            r.global_step,
                            m["eval_loss"].get<double>(),
                            m.value("eval_precision", 0.0),
                            m.value("eval_recall", 0.0),
                            m.value("eval_f1", 0.0)};
  }
  if (test) {
    EvalOutput eo = evaluate_split(*test);
    nlohmann::json m = eval_results_json(eo, names, opts.eval_batch_size, "test_");
    m["epoch"] = r.epoch;
    save_metrics(opts.output_dir, "test", m);
    if (opts.do_predict) {
      write_file_atomic(opts.output_dir / "predict_results.txt", predict_results_text(eo, names));
      say("wrote " + (opts.output_dir / "predict_results.txt").string());
    }
    if (!opts.quiet) {
      std::cout << "\nTest set (" << test_ds->source << "): loss " << eo.loss << "\n"
                << (multi ? multilabel_report(eo.ml_metrics, names, 4) : classification_report(eo.metrics, names, 4))
                << std::flush;
    }
  }

  // Model card and plots.
  ModelCard card;
  card.model_name = fs::absolute(opts.output_dir).lexically_normal().filename().string();
  if (card.model_name.empty()) card.model_name = fs::absolute(opts.output_dir).parent_path().filename().string();
  if (fs::exists(opts.model)) {  // a local directory: its name, unlinked
    card.base_model = fs::absolute(opts.model).lexically_normal().filename().string();
    if (card.base_model.empty())
      card.base_model = fs::absolute(opts.model).lexically_normal().parent_path().filename().string();
  } else {
    card.base_model = opts.model;
    card.base_model_url = "https://huggingface.co/" + opts.model;
  }
  const std::string ds_name = describe_dataset(opts.data);
  if (tweeteval_task(opts.data) || ds_name == "emotion" || data_path.string().find("tweeteval") != std::string::npos) {
    card.dataset_name = "tweet_eval";
    card.dataset_config = tweeteval_task(opts.data).value_or(data_path.filename().string());
  } else {
    card.dataset_name = ds_name;
    card.dataset_config = "";
  }
  card.eval_results = final_eval;
  card.hyperparameters = {
      {"learning_rate", python_float_repr(opts.learning_rate)},
      {"train_batch_size", std::to_string(opts.train_batch_size)},
      {"eval_batch_size", std::to_string(opts.eval_batch_size)},
      {"seed", std::to_string(opts.seed)},
      {"optimizer", "Adam with betas=(" + python_float_repr(opts.adam_beta1) + "," +
                        python_float_repr(opts.adam_beta2) + ") and epsilon=" + python_float_repr(opts.adam_epsilon)},
      {"lr_scheduler_type", opts.lr_scheduler_type}};
  if (r.state.max_steps > 0 && opts.max_steps > 0)
    card.hyperparameters.push_back({"training_steps", std::to_string(opts.max_steps)});
  else if (opts.num_train_epochs == std::floor(opts.num_train_epochs))
    card.hyperparameters.push_back({"num_epochs", std::to_string(static_cast<int64_t>(opts.num_train_epochs))});
  else card.hyperparameters.push_back({"num_epochs", python_float_repr(opts.num_train_epochs)});
  if (opts.warmup_steps > 0)
    card.hyperparameters.push_back({"lr_scheduler_warmup_steps", std::to_string(opts.warmup_steps)});
  else if (opts.warmup_ratio > 0)
    card.hyperparameters.push_back({"lr_scheduler_warmup_ratio", python_float_repr(opts.warmup_ratio)});
  if (opts.weight_decay > 0) card.hyperparameters.push_back({"weight_decay", python_float_repr(opts.weight_decay)});
  card.results = r.results;
  card.framework_versions = framework_versions();
  write_file_atomic(opts.output_dir / "README.md", render_model_card(card));

  if (opts.plots) {
    PlotSeries train_loss{"training loss", "#1f77b4", {}}, val_loss{"validation loss", "#d62728", {}};
    for (const auto& h : r.state.log_history) {
      if (h.contains("loss")) train_loss.points.emplace_back(h["step"].get<double>(), h["loss"].get<double>());
      if (h.contains("eval_loss")) val_loss.points.emplace_back(h["step"].get<double>(), h["eval_loss"].get<double>());
    }
    write_file_atomic(
        opts.output_dir / "loss_curve.svg",
        render_line_chart("Loss", "step", multi ? "binary cross-entropy" : "cross-entropy", {train_loss, val_loss}));
    PlotSeries p{"precision (macro)", "#1f77b4", {}}, rc{"recall (macro)", "#2ca02c", {}},
        f{"F1 (macro)", "#d62728", {}};
    for (const auto& row : r.results) {
      p.points.emplace_back(row.epoch, row.precision);
      rc.points.emplace_back(row.epoch, row.recall);
      f.points.emplace_back(row.epoch, row.f1);
    }
    write_file_atomic(opts.output_dir / "eval_metrics.svg",
                      render_line_chart("Validation metrics", "epoch", "score", {p, rc, f}));
  }
  say("saved the model and training outputs to " + opts.output_dir.string());
  return r;
}

}  // namespace bert_emotion
