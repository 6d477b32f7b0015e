// cmd_eval.cpp — `bert-emotion eval`: score a model, or a predictions file, on a labelled split.
//
//   bert-emotion eval --model DIR --data SPEC [--split test] [--batch-size N] [--output F.json]
//       runs the model (eval mode) over the split; prints loss, accuracy, sklearn's
//       classification_report and the confusion matrix; --output writes Trainer-style keys
//       (eval_loss, eval_accuracy, eval_f1 = macro F1, ...) as JSON (indent 4, sorted keys).
//   bert-emotion eval --predictions FILE --data SPEC [--split test]
//       scores one predicted label per line (id or name; or `predict`'s .jsonl output, whose
//       "label" is used; or run_classification.py's predict_results.txt, "index<TAB>prediction")
//       against the gold labels, as TweetEval's
//       evaluation script does; its headline number depends on the task: macro F1 (emotion, emoji,
//       hate, offensive), macro recall (sentiment), F1 of "irony" (label 1), and the mean F1 of
//       "against" and "favor" (labels 1, 2) for stance.
// Multi-label data (GoEmotions, "2,7" labels; a multi-label model): scikit-learn's multi-label
// report (micro/macro/weighted/samples averages), subset accuracy, Hamming loss and ROC-AUC (model
// only); --threshold overrides the model's thresholds. A multi-label predictions file holds one
// label set per line ("joy,love" or "2,7"; an empty line is the empty set), or predict's .jsonl
// ("labels" array).
// Under mpirun each rank scores a share of the batches (the same batches one process runs); rank 0
// prints and writes the results, equal to one process's.
// SPEC is anything load_dataset accepts (TweetEval folder, folder of {split}.csv/.tsv/.jsonl, a
// file) or a TweetEval task name such as tweet_eval/emotion.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <omp.h>

#include "cli/command.hpp"
#include "data/dataset.hpp"
#include "data/evaluate.hpp"
#include "data/metrics.hpp"
#include "data/multilabel_metrics.hpp"
#include "data/thresholds.hpp"
#include "dist/communicator.hpp"
#include "hub/hub.hpp"
#include "model/model_dir.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace bert_emotion::cli {
namespace {

struct EvalOptions {
  std::string model;
  std::string predictions;
  std::string data;
  std::string split = "test";
  int batch_size = 32;
  int threads = 0;
  size_t max_length = 0;
  int digits = 2;
  std::string output;
  std::string text_column = "text";
  std::string label_column = "label";
  std::string text_pair_column;
  double threshold = -1;
};

std::string fmt(double v, int digits = 4) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// One multi-label prediction line ("a,b" of names or ids, or predict's jsonl "labels") as multi-hot.
std::vector<float> predicted_set(const std::string& line, bool jsonl, const std::vector<std::string>& names,
                                 const std::string& file, size_t line_no) {
  std::vector<std::string> items;
  const std::string at = file + ":" + std::to_string(line_no);
  if (jsonl) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw FormatError(at + ": invalid JSON: " + e.what());
    }
    if (!j.is_object() || !j.contains("labels") || !j["labels"].is_array())
      throw FormatError(at + ": expected an object with a \"labels\" array (predict's jsonl for a multi-label model)");
    for (const auto& v : j["labels"]) {
      if (!v.is_string()) throw FormatError(at + ": \"labels\" must hold label names");
      items.push_back(v.get<std::string>());
    }
  } else {
    size_t start = 0;
    for (;;) {
      const size_t comma = line.find(',', start);
      std::string v = line.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      while (!v.empty() && (v.back() == '\r' || v.back() == ' ' || v.back() == '\t')) v.pop_back();
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(v.begin());
      if (!v.empty()) items.push_back(v);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  std::vector<float> hot(names.size(), 0.f);
  for (const auto& v : items) {
    const int id = resolve_label(v, names);
    if (id < 0)
      throw FormatError(at + ": unknown label '" + v + "': expected names or ids in [0, " + std::to_string(names.size()) + ")");
    hot[static_cast<size_t>(id)] = 1.f;
  }
  return hot;
}

void print_multilabel_summary(const MultiLabelMetrics& m) {
  std::cout << "micro F1: " << fmt(m.micro_f1) << "  macro F1: " << fmt(m.macro_f1)
            << "  samples F1: " << fmt(m.samples_f1) << "  subset accuracy: " << fmt(m.subset_accuracy)
            << "  Hamming loss: " << fmt(m.hamming_loss);
  if (!m.roc_auc.empty())
    std::cout << "  ROC-AUC (macro): " << (std::isnan(m.roc_auc_macro) ? std::string("undefined") : fmt(m.roc_auc_macro));
  std::cout << "\n";
}

// TweetEval's headline metric for the task folder `dir` (evaluation_script.py of cardiffnlp/tweeteval).
struct TaskScore {
  std::string name;
  double value;
};
TaskScore tweeteval_score(const std::filesystem::path& dir, const ClassificationMetrics& m) {
  auto canonical = std::filesystem::weakly_canonical(dir);
  std::string task = canonical.filename().string();
  std::string parent = canonical.parent_path().filename().string();
  if (task == "sentiment") return {"macro recall (TweetEval sentiment)", m.macro_recall};
  if (task == "irony" && m.num_labels > 1) return {"F1 of label 1 (TweetEval irony)", m.f1[1]};
  if (parent == "stance" && m.num_labels > 2)
    return {"mean F1 of labels 1 and 2 (TweetEval stance)", (m.f1[1] + m.f1[2]) / 2};
  return {"macro F1", m.macro_f1};
}

// The "label" of one line of `bert-emotion predict` output (a .jsonl predictions file).
std::string jsonl_label(const std::string& line, const std::string& file, size_t line_no) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e400
    throw FormatError(file + ":" + std::to_string(line_no) + ": invalid JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("label"))
    throw FormatError(file + ":" + std::to_string(line_no) + ": expected an object with a \"label\" (predict's jsonl)");
  const auto& l = j["label"];
  if (l.is_string()) return l.get<std::string>();
  if (l.is_number_integer()) return std::to_string(l.get<int64_t>());
  throw FormatError(file + ":" + std::to_string(line_no) + ": \"label\" must be a name or an integer id");
}

void print_report(const ClassificationMetrics& m, const std::vector<std::string>& names, int digits) {
  std::cout << "\n" << classification_report(m, names, digits) << "\n";
  std::cout << "confusion matrix (rows = true label, columns = predicted):\n" << confusion_matrix_text(m, names);
}

void write_json(const std::string& path, const nlohmann::json& j) {
  if (path.empty()) return;
  write_file_atomic(path, j.dump(4) + "\n");
  std::cout << "wrote " << path << "\n";
}

int run_eval(const EvalOptions& o) {
  if (o.model.empty() == o.predictions.empty())
    throw InvalidArgument("eval: give exactly one of --model DIR and --predictions FILE");
  if (o.threads > 0) omp_set_num_threads(o.threads);
  const auto data_path = resolve_dataset_path(o.data, cli_hub_options());
  DatasetOptions dopts;
  dopts.text_column = o.text_column;
  dopts.label_column = o.label_column;
  dopts.text_pair_column = o.text_pair_column;

  dist::Communicator& comm = dist::world();
  if (!o.predictions.empty()) {
    if (!comm.is_root()) return kExitOk;  // scoring a file needs no model: rank 0 alone
    Dataset gold = load_dataset(data_path, o.split, dopts);
    auto lines = read_lines(o.predictions);
    // run_classification.py's predict_results.txt: a header "index<TAB>prediction", then
    // "i<TAB>label name" rows; keep the label column.
    size_t first_line = 1;
    if (!lines.empty() && (lines[0] == "index\tprediction" || lines[0] == "index\tprediction\r")) {
      lines.erase(lines.begin());
      first_line = 2;
      for (auto& l : lines) {
        size_t tab = l.find('\t');
        if (tab != std::string::npos) l = l.substr(tab + 1);
      }
    }
    // A final empty line (e.g. "\n\n" at the end) is not a prediction.
    while (lines.size() > gold.rows.size() && !lines.empty() && lines.back().empty()) lines.pop_back();
    if (lines.size() != gold.rows.size())
      throw FormatError(o.predictions + ": " + std::to_string(lines.size()) + " predictions but " + gold.source +
                        " has " + std::to_string(gold.rows.size()) + " examples");
    const bool jsonl = std::filesystem::path(o.predictions).extension() == ".jsonl";
    if (gold.multi_label) {
      MultiHot y_pred;
      for (size_t i = 0; i < lines.size(); ++i)
        y_pred.push_back(predicted_set(lines[i], jsonl, gold.label_names, o.predictions, i + first_line));
      const MultiLabelMetrics m = compute_multilabel_metrics(multi_hot(gold), y_pred);
      std::cout << "predictions " << o.predictions << " vs " << gold.source << " (" << m.total
                << " examples, multi-label)\n";
      print_multilabel_summary(m);
      std::cout << "\n" << multilabel_report(m, gold.label_names, o.digits);
      auto j = multilabel_metrics_to_json(m, gold.label_names, "eval_");
      j["eval_samples"] = m.total;
      write_json(o.output, j);
      return kExitOk;
    }
    std::vector<int> y_true, y_pred;
    for (size_t i = 0; i < lines.size(); ++i) {
      std::string v = lines[i];
      if (jsonl) v = jsonl_label(v, o.predictions, i + first_line);
      while (!v.empty() && (v.back() == '\r' || v.back() == ' ' || v.back() == '\t')) v.pop_back();
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(v.begin());
      int id = resolve_label(v, gold.label_names);
      if (id < 0) {
        std::string names;
        for (const auto& n : gold.label_names) names += (names.empty() ? "" : ", ") + n;
        throw FormatError(o.predictions + ":" + std::to_string(i + first_line) + ": unknown label '" + v +
                          "': expected one of: " + names + " or an id in [0, " +
                          std::to_string(gold.label_names.size()) + ")");
      }
      y_pred.push_back(id);
      y_true.push_back(gold.rows[i].label);
    }
    auto m = compute_metrics(y_true, y_pred, static_cast<int>(gold.label_names.size()));
    auto score = tweeteval_score(std::filesystem::is_directory(data_path) ? data_path : data_path.parent_path(), m);
    std::cout << "predictions " << o.predictions << " vs " << gold.source << " (" << m.total << " examples)\n";
    std::cout << score.name << ": " << fmt(score.value) << "  accuracy: " << fmt(m.accuracy) << "\n";
    print_report(m, gold.label_names, o.digits);
    auto j = metrics_to_json(m, gold.label_names, "eval_");
    j["eval_samples"] = m.total;
    j["tweeteval_metric"] = score.name;
    j["tweeteval_score"] = score.value;
    write_json(o.output, j);
    return kExitOk;
  }

  const auto model_dir = resolve_model_path(o.model, cli_hub_options());
  LoadedModel model = load_model_dir(model_dir);
  Tokenizer tok = Tokenizer::from_model_dir(model_dir);
  dopts.label_names = model.config.label_names();
  const bool multi = model.config.multi_label();
  dopts.label_mode = multi ? LabelMode::Multi : LabelMode::Single;
  Dataset data = load_dataset(data_path, o.split, dopts);
  std::vector<float> thresholds;
  if (multi)
    thresholds = o.threshold >= 0 ? std::vector<float>(dopts.label_names.size(), static_cast<float>(o.threshold))
                                  : read_thresholds(model_dir, dopts.label_names);
  EvalOutput out =
      evaluate_model(model.config, model.weights, tok, data, o.batch_size, o.max_length, comm, thresholds);
  if (!comm.is_root()) return kExitOk;
  const auto& names = data.label_names;
  if (multi) {
    std::cout << "model " << model_dir.string() << " on " << data.source << " (" << out.predictions.size()
              << " examples, multi-label, " << fmt(out.runtime_seconds, 2) << " s)\n";
    std::cout << "loss: " << fmt(out.loss) << "  ";
    print_multilabel_summary(out.ml_metrics);
    std::cout << "\n" << multilabel_report(out.ml_metrics, names, o.digits);
    write_json(o.output, eval_results_json(out, names, o.batch_size));
    return kExitOk;
  }
  std::cout << "model " << model_dir.string() << " on " << data.source << " (" << out.predictions.size()
            << " examples, " << fmt(out.runtime_seconds, 2) << " s)\n";
  std::cout << "loss: " << fmt(out.loss) << "  accuracy: " << fmt(out.metrics.accuracy)
            << "  macro F1: " << fmt(out.metrics.macro_f1) << "  weighted F1: " << fmt(out.metrics.weighted_f1)
            << "\n";
  print_report(out.metrics, names, o.digits);
  write_json(o.output, eval_results_json(out, names, o.batch_size));
  return kExitOk;
}

Registrar reg("eval", [](CLI::App& app) {
  auto* sub = app.add_subcommand("eval", "Evaluate a model (or a predictions file) on a labelled dataset split");
  auto o = std::make_shared<EvalOptions>();
  sub->add_option("--model,-m", o->model, "Model directory or hub id");
  sub->add_option("--predictions,-p", o->predictions, "One predicted label (id or name) per line, or predict's .jsonl output");
  sub->add_option("--data,-d", o->data, "TweetEval folder or task name, folder of {split}.csv|.tsv|.jsonl, or a file")
      ->required();
  sub->add_option("--split,-s", o->split, "train, val (validation) or test");
  sub->add_option("--batch-size", o->batch_size, "Examples per forward pass")->check(CLI::Range(1, std::numeric_limits<int>::max()));  // PositiveNumber prints "0 to 1.79e308"
  sub->add_option("--threads", o->threads, "OpenMP threads (0 = default)")->check(CLI::Range(0, std::numeric_limits<int>::max()));
  sub->add_option("--max-length", o->max_length, "Truncate to this many tokens (0 = model max)");
  sub->add_option("--digits", o->digits, "Decimals in the classification report")->check(CLI::Range(0, 10));
  sub->add_option("--output,-o", o->output, "Write the metrics as JSON (Trainer eval_* keys)");
  sub->add_option("--text-column", o->text_column, "CSV/TSV/JSONL text column");
  sub->add_option("--label-column", o->label_column, "CSV/TSV/JSONL label column");
  sub->add_option("--text-pair-column", o->text_pair_column, "Optional second text column (sentence pairs)");
  sub->add_option("--threshold", o->threshold,
                  "Multi-label: one threshold for every label (default: the model's thresholds.json, else 0.5)")
      ->check(CLI::Range(0.0, 1.0));
  return std::function<int()>([o] { return run_eval(*o); });
});

}  // namespace
}  // namespace bert_emotion::cli
