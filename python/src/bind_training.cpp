// bind_training.cpp — bert_emotion._core.train / evaluate: the CLI's `train` and `eval --model`
// with its options as snake_case keyword arguments (the Trainer's names work too, as on the CLI).
//
// train() runs run_training (src/train/trainer.hpp) without the GIL. After every step it takes the
// GIL to call the progress callback and run Python's signal handlers; Ctrl-C (or an exception in
// the callback) stops the run after saving a checkpoint of that step — exactly the CLI's Ctrl-C —
// and is then raised. It returns the metrics the run wrote to all_results.json. evaluate() returns
// the dict `eval --output` writes, checking Ctrl-C between slices of batches. bert_emotion/training.py wraps both (tqdm, defaults).
//
//   _core.train({"model": "m", "data": "d.csv", "output_dir": "runs/x", "max_steps": 10}, callback)
#include <omp.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>

#include "bindings.hpp"
#include "data/dataset.hpp"
#include "data/evaluate.hpp"
#include "data/metrics.hpp"
#include "data/thresholds.hpp"
#include "dist/communicator.hpp"
#include "hub/hub.hpp"
#include "model/model_dir.hpp"
#include "tokenizer/tokenizer.hpp"
#include "train/trainer.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace bert_emotion::python {

namespace {

// TrainOptions plus the epoch count as given (a float, checked to be whole as the CLI does).
struct TrainArgs {
  TrainOptions o;
  double epochs = 3;
};

// A str, or an os.PathLike as its str.
std::string path_string(const py::handle& v) {
  if (py::hasattr(v, "__fspath__")) return py::module_::import("os").attr("fspath")(v).cast<std::string>();
  return v.cast<std::string>();
}

template <typename Args>
using Setter = std::function<void(Args&, const py::handle&)>;

template <typename Args, typename T>
Setter<Args> field(T Args::*member) {
  return [member](Args& a, const py::handle& v) { a.*member = v.cast<T>(); };
}
template <typename T>
Setter<TrainArgs> option(T TrainOptions::*member) {
  return [member](TrainArgs& a, const py::handle& v) { a.o.*member = v.cast<T>(); };
}
template <typename Args>
Setter<Args> path_field(std::string Args::*member) {
  return [member](Args& a, const py::handle& v) { a.*member = path_string(v); };
}
Setter<TrainArgs> path_option(std::string TrainOptions::*member) {
  return [member](TrainArgs& a, const py::handle& v) { a.o.*member = path_string(v); };
}

// A two-valued string option (the CLI's IsMember check): true for `yes`, false for `no`.
bool on_off(const char* name, const std::string& v, const char* yes, const char* no) {
  if (v != yes && v != no)
    throw InvalidArgument(std::string(name) + " must be '" + yes + "' or '" + no + "', got '" + v + "'");
  return v == yes;
}

// Every keyword, with the CLI's aliases (the Trainer's names) beside the snake_case flag names.
const std::map<std::string, Setter<TrainArgs>>& train_setters() {
  static const std::map<std::string, Setter<TrainArgs>> s = [] {
    std::map<std::string, Setter<TrainArgs>> m;
    auto alias = [&m](std::initializer_list<const char*> names, const Setter<TrainArgs>& f) {
      for (const char* n : names) m[n] = f;
    };
    alias({"model", "model_name_or_path"}, path_option(&TrainOptions::model));
    alias({"data", "dataset"}, path_option(&TrainOptions::data));
    alias({"output_dir"}, [](TrainArgs& a, const py::handle& v) { a.o.output_dir = path_string(v); });
    alias({"train_split", "train_split_name"}, option(&TrainOptions::train_split));
    alias({"eval_split", "validation_split_name"}, option(&TrainOptions::eval_split));
    alias({"test_split", "test_split_name"}, option(&TrainOptions::test_split));
    alias({"validation_file"}, path_option(&TrainOptions::eval_file));
    alias({"test_file"}, path_option(&TrainOptions::test_file));
    alias({"text_column", "text_column_name"}, option(&TrainOptions::text_column));
    alias({"label_column", "label_column_name"}, option(&TrainOptions::label_column));
    alias({"text_pair_column", "text_pair_column_name"}, option(&TrainOptions::text_pair_column));
    alias({"learning_rate", "lr"}, option(&TrainOptions::learning_rate));
    alias({"per_device_train_batch_size", "train_batch_size", "batch_size"}, option(&TrainOptions::train_batch_size));
    alias({"per_device_eval_batch_size", "eval_batch_size"}, option(&TrainOptions::eval_batch_size));
    alias({"num_train_epochs", "epochs"}, field(&TrainArgs::epochs));
    alias({"max_steps"}, option(&TrainOptions::max_steps));
    alias({"seed"}, option(&TrainOptions::seed));
    alias({"adam_beta1"}, option(&TrainOptions::adam_beta1));
    alias({"adam_beta2"}, option(&TrainOptions::adam_beta2));
    alias({"adam_epsilon"}, option(&TrainOptions::adam_epsilon));
    alias({"weight_decay"}, option(&TrainOptions::weight_decay));
    alias({"max_grad_norm"}, option(&TrainOptions::max_grad_norm));
    alias({"warmup_steps"}, option(&TrainOptions::warmup_steps));
    alias({"warmup_ratio"}, option(&TrainOptions::warmup_ratio));
    alias({"max_seq_length"}, option(&TrainOptions::max_seq_length));
    alias({"logging_steps"}, option(&TrainOptions::logging_steps));
    alias({"bf16"}, option(&TrainOptions::bf16));
    alias({"no_shuffle"}, [](TrainArgs& a, const py::handle& v) { a.o.shuffle = !v.cast<bool>(); });
    alias({"order"}, [](TrainArgs& a, const py::handle& v) { a.o.order_file = path_string(v); });
    alias({"dropout"}, [](TrainArgs& a, const py::handle& v) {  // "on"/"off", or a bool
      a.o.dropout =
          py::isinstance<py::bool_>(v) ? v.cast<bool>() : on_off("dropout", v.cast<std::string>(), "on", "off");
    });
    alias({"save_strategy"}, option(&TrainOptions::save_strategy));  // checked by validate_train_options
    alias({"eval_strategy", "evaluation_strategy"}, option(&TrainOptions::eval_strategy));
    alias({"eval_steps"}, option(&TrainOptions::eval_steps));
    alias({"load_best_model_at_end"}, option(&TrainOptions::load_best_model_at_end));
    alias({"metric_for_best_model"}, option(&TrainOptions::metric_for_best_model));
    alias({"greater_is_better"}, [](TrainArgs& a, const py::handle& v) { a.o.greater_is_better = v.cast<bool>(); });
    alias({"early_stopping_patience"}, option(&TrainOptions::early_stopping_patience));
    alias({"early_stopping_threshold"}, option(&TrainOptions::early_stopping_threshold));
    alias({"label_smoothing_factor"}, option(&TrainOptions::label_smoothing_factor));
    alias({"class_weights"}, path_option(&TrainOptions::class_weights));
    alias({"do_predict"}, option(&TrainOptions::do_predict));
    alias({"problem_type"}, option(&TrainOptions::problem_type));
    alias({"threshold"}, option(&TrainOptions::threshold));
    alias({"tune_thresholds"}, option(&TrainOptions::tune_thresholds));
    alias({"lr_scheduler_type"}, option(&TrainOptions::lr_scheduler_type));
    alias({"gradient_accumulation_steps"}, option(&TrainOptions::gradient_accumulation_steps));
    alias({"save_steps"}, option(&TrainOptions::save_steps));
    alias({"save_total_limit"}, option(&TrainOptions::save_total_limit));
    alias({"resume_from_checkpoint"}, [](TrainArgs& a, const py::handle& v) {  // a path, or True = "latest"
      if (py::isinstance<py::bool_>(v)) a.o.resume_from_checkpoint = v.cast<bool>() ? "latest" : "";
      else a.o.resume_from_checkpoint = path_string(v);
    });
    alias({"ignore_mismatched_sizes"}, option(&TrainOptions::ignore_mismatched_sizes));
    alias({"overwrite_output_dir"}, option(&TrainOptions::overwrite_output_dir));
    alias({"threads"}, option(&TrainOptions::threads));
    alias({"no_plots"}, [](TrainArgs& a, const py::handle& v) { a.o.plots = !v.cast<bool>(); });
    alias({"quiet"}, option(&TrainOptions::quiet));
    return m;
  }();
  return s;
}

// Applies keyword arguments (None keeps the default); an unknown name or a wrong type is a TypeError.
template <typename Args>
void apply_kwargs(Args& a, const py::dict& kwargs, const std::map<std::string, Setter<Args>>& setters,
                  const char* function) {
  for (auto item : kwargs) {
    const std::string name = item.first.cast<std::string>();
    auto it = setters.find(name);
    if (it == setters.end())
      throw py::type_error(std::string(function) + "() got an unexpected keyword argument '" + name + "'");
    if (item.second.is_none()) continue;
    try {
      it->second(a, item.second);
    } catch (const py::cast_error&) {
      throw py::type_error(std::string(function) + "(): " + name + " cannot be " +
                           py::str(py::type::of(item.second)).cast<std::string>());
    }
  }
}

// The checks run_train_cli (src/cli/cmd_train.cpp) makes before run_training.
void finish_train_options(TrainArgs& a) {
  if (a.o.model.empty()) throw InvalidArgument("train: model is required");
  if (a.o.data.empty()) throw InvalidArgument("train: data is required");
  if (a.o.output_dir.empty()) throw InvalidArgument("train: output_dir is required");
  if (!(a.epochs > 0 && a.epochs < 1e6) && a.o.max_steps <= 0)
    throw InvalidArgument("--num-train-epochs must be > 0 (got " + std::to_string(a.epochs) + ")");
  a.o.num_train_epochs = a.epochs;  // fractional: ceil(epochs x steps per epoch) steps (validate_train_options)
}

py::object read_json_file(const std::filesystem::path& path) {
  return py::module_::import("json").attr("loads")(py::str(read_file(path)));
}

py::object run_train(const py::dict& kwargs, const py::object& callback) {
  TrainArgs a;
  apply_kwargs(a, kwargs, train_setters(), "train");
  finish_train_options(a);
  // A Python error raised after a step (KeyboardInterrupt from Ctrl-C, or the callback's own) stops
  // the run there; it is raised again once the checkpoint is written.
  std::unique_ptr<py::error_already_set> pending;
  a.o.on_step = [&](const StepRecord& r, int64_t total) {
    py::gil_scoped_acquire gil;
    if (pending) return;
    try {
      if (!callback.is_none()) {
        py::dict info;
        info["step"] = r.step;
        info["total_steps"] = total;
        info["epoch"] = r.epoch;
        info["loss"] = r.loss;
        info["learning_rate"] = r.lr;
        info["grad_norm"] = r.grad_norm;
        callback(info);
      }
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    } catch (py::error_already_set& e) {
      pending = std::make_unique<py::error_already_set>(std::move(e));
    }
  };
  a.o.should_stop = [&](int64_t) { return pending != nullptr; };
  TrainOutcome r;
  {
    py::gil_scoped_release release;
    r = run_training(a.o);
  }
  if (pending) throw py::error_already_set(std::move(*pending));
  if (r.interrupted || r.global_step == 0) throw Error("train: the run made no step");
  return read_json_file(a.o.output_dir / "all_results.json");
}

// evaluate_model over slices of whole batches, with a Ctrl-C check between slices: the same
// batches in dataset order, so the same logits and predictions as one call; the loss is the
// slices' means recombined (equal to float rounding). Call without the GIL.
EvalOutput evaluate_interruptibly(const LoadedModel& model, const Tokenizer& tok, const Dataset& data, int batch_size,
                                  size_t max_length, const std::vector<float>& thresholds) {
  const auto t0 = std::chrono::steady_clock::now();
  const size_t slice = static_cast<size_t>(batch_size) * 16;
  const size_t N = data.rows.size();
  // Slices recombine single-label outputs only; anything else runs as one call.
  if (N == 0 || model.config.multi_label())
    return evaluate_model(model.config, model.weights, tok, data, batch_size, max_length, dist::Communicator::solo(),
                          thresholds);
  EvalOutput all;
  double loss_sum = 0;
  for (size_t start = 0; start < N; start += slice) {
    check_signals_without_gil();
    Dataset part{data.source, data.label_names, {}};
    part.rows.assign(data.rows.begin() + static_cast<ptrdiff_t>(start),
                     data.rows.begin() + static_cast<ptrdiff_t>(std::min(N, start + slice)));
    EvalOutput o = evaluate_model(model.config, model.weights, tok, part, batch_size, max_length);
    loss_sum += o.loss * static_cast<double>(o.predictions.size());
    all.predictions.insert(all.predictions.end(), o.predictions.begin(), o.predictions.end());
    all.logits.insert(all.logits.end(), o.logits.begin(), o.logits.end());
    all.labels.insert(all.labels.end(), o.labels.begin(), o.labels.end());
    all.num_tokens += o.num_tokens;
  }
  all.loss = loss_sum / static_cast<double>(N);
  all.metrics = compute_metrics(all.labels, all.predictions, model.config.num_labels());
  all.runtime_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return all;
}

// `eval --model`'s options (src/cli/cmd_eval.cpp).
struct EvalArgs {
  std::string model, data, split = "test", output;
  int batch_size = 32, threads = 0;
  size_t max_length = 0;
  std::string text_column = "text", label_column = "label", text_pair_column;
  double threshold = -1;  // multi-label: one threshold for every label (< 0: thresholds.json, else 0.5)
};

py::object run_evaluate(const py::dict& kwargs) {
  static const std::map<std::string, Setter<EvalArgs>> setters = {
      {"model", path_field(&EvalArgs::model)},
      {"data", path_field(&EvalArgs::data)},
      {"split", field(&EvalArgs::split)},
      {"batch_size", field(&EvalArgs::batch_size)},
      {"threads", field(&EvalArgs::threads)},
      {"max_length", field(&EvalArgs::max_length)},
      {"output", path_field(&EvalArgs::output)},
      {"text_column", field(&EvalArgs::text_column)},
      {"label_column", field(&EvalArgs::label_column)},
      {"text_pair_column", field(&EvalArgs::text_pair_column)},
      {"threshold", field(&EvalArgs::threshold)}};
  EvalArgs a;
  apply_kwargs(a, kwargs, setters, "evaluate");
  if (a.model.empty()) throw InvalidArgument("evaluate: model is required");
  if (a.data.empty()) throw InvalidArgument("evaluate: data is required");
  if (a.batch_size < 1) throw InvalidArgument("--batch-size must be >= 1, got " + std::to_string(a.batch_size));
  if (a.threads < 0) throw InvalidArgument("--threads must be >= 0, got " + std::to_string(a.threads));
  nlohmann::json j;
  {
    py::gil_scoped_release release;
    if (a.threads > 0) omp_set_num_threads(a.threads);
    const auto hub = hub_options_from_env();
    const auto data_path = resolve_dataset_path(a.data, hub);
    const auto model_dir = resolve_model_path(a.model, hub);
    LoadedModel model = load_model_dir(model_dir);
    Tokenizer tok = Tokenizer::from_model_dir(model_dir);
    DatasetOptions dopts;
    dopts.text_column = a.text_column;
    dopts.label_column = a.label_column;
    dopts.text_pair_column = a.text_pair_column;
    dopts.label_names = model.config.label_names();
    const bool multi = model.config.multi_label();
    dopts.label_mode = multi ? LabelMode::Multi : LabelMode::Single;  // as `eval --model`
    Dataset data = load_dataset(data_path, a.split, dopts);
    std::vector<float> thresholds;
    if (multi)
      thresholds = a.threshold >= 0 ? std::vector<float>(dopts.label_names.size(), static_cast<float>(a.threshold))
                                    : read_thresholds(model_dir, dopts.label_names);
    EvalOutput out = evaluate_interruptibly(model, tok, data, a.batch_size, a.max_length, thresholds);
    j = eval_results_json(out, data.label_names, a.batch_size);
    if (!a.output.empty()) write_file_atomic(a.output, j.dump(4) + "\n");
  }
  return json_to_python(j);
}

}  // namespace

void bind_training(py::module_& m) {
  m.def("train", &run_train, py::arg("options"), py::arg("callback") = py::none(),
        "Fine-tunes as `bert-emotion train` does; options: the CLI's flags in snake_case. Returns all_results.json");
  m.def("evaluate", &run_evaluate, py::arg("options"),
        "Evaluates as `bert-emotion eval --model` does; returns the dict its --output writes");
}

}  // namespace bert_emotion::python
