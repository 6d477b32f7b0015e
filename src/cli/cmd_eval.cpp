// cmd_eval.cpp — `bert-emotion eval`: score a model, or a predictions file, on a labelled split.
//
//   bert-emotion eval --model DIR --data SPEC [--split test] [--batch-size N] [--output F.json]
//       runs the model (eval mode) over the split; prints loss, accuracy, sklearn's
//       classification_report and the confusion matrix; --output writes Trainer-style keys
//       (eval_loss, eval_accuracy, eval_f1 = macro F1, ...) as JSON (indent 4, sorted keys).
//   bert-emotion eval --predictions FILE --data SPEC [--split test]
//       scores one predicted label per line (id or name), or any output of `predict` (jsonl, csv,
//       table: recognised by content, see read_predicted_labels), or run_classification.py's
//       predict_results.txt ("index<TAB>prediction"), against the gold labels, as TweetEval's
//       evaluation script does; its headline number depends on the task: macro F1 (emotion, emoji,
//       hate, offensive), macro recall (sentiment), F1 of "irony" (label 1), and the mean F1 of
//       "against" and "favor" (labels 1, 2) for stance.
// Multi-label data (GoEmotions, "2,7" labels; a multi-label model): scikit-learn's multi-label
// report (micro/macro/weighted/samples averages), subset accuracy, Hamming loss and ROC-AUC (model
// only); --threshold overrides the model's thresholds. A multi-label predictions file holds one
// label set per line ("joy,love" or "2,7"; an empty line is the empty set), or is any output of
// predict for a multi-label model, or run_classification.py's predict_results.txt.
// Under mpirun each rank scores a share of the batches (the same batches one process runs); rank 0
// prints and writes the results, equal to one process's.
// SPEC is anything load_dataset accepts (TweetEval folder, folder of {split}.csv/.tsv/.jsonl, a
// file) or a TweetEval task name such as tweet_eval/emotion.
#include <omp.h>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include <string_view>

#include "cli/command.hpp"
#include "data/dataset.hpp"
#include "data/evaluate.hpp"
#include "data/metrics.hpp"
#include "data/multilabel_metrics.hpp"
#include "data/thresholds.hpp"
#include "dist/communicator.hpp"
#include "hub/hub.hpp"
#include "model/model_dir.hpp"
#include "model/quantize.hpp"
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
  std::string dtype = "auto";
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

// The items of a label set written as `text` joined by `sep` (blanks around each item dropped; empty
// items skipped). run_classification.py's Python list ("['joy', 'love']") is read as its items.
std::vector<std::string> split_label_set(std::string text, char sep) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
    sep = ',';
  }
  std::vector<std::string> items;
  size_t start = 0;
  for (;;) {
    const size_t end = text.find(sep, start);
    std::string v = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    while (!v.empty() && (v.back() == '\r' || v.back() == ' ' || v.back() == '\t')) v.pop_back();
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(v.begin());
    if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"') && v.back() == v.front())
      v = v.substr(1, v.size() - 2);
    if (!v.empty()) items.push_back(v);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return items;
}

// One multi-label prediction (label names or ids) as a multi-hot row; `at` is "file:line".
std::vector<float> predicted_set(const std::vector<std::string>& items, const std::vector<std::string>& names,
                                 const std::string& at) {
  std::vector<float> hot(names.size(), 0.f);
  for (const auto& v : items) {
    const int id = resolve_label(v, names);
    if (id < 0)
      throw FormatError(at + ": unknown label '" + v + "': expected names or ids in [0, " +
                        std::to_string(names.size()) + ")");
    hot[static_cast<size_t>(id)] = 1.f;
  }
  return hot;
}

void print_multilabel_summary(const MultiLabelMetrics& m) {
  std::cout << "micro F1: " << fmt(m.micro_f1) << "  macro F1: " << fmt(m.macro_f1)
            << "  samples F1: " << fmt(m.samples_f1) << "  subset accuracy: " << fmt(m.subset_accuracy)
            << "  Hamming loss: " << fmt(m.hamming_loss);
  if (!m.roc_auc.empty())
    std::cout << "  ROC-AUC (macro): "
              << (std::isnan(m.roc_auc_macro) ? std::string("undefined") : fmt(m.roc_auc_macro));
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

// The "labels" array of one line of `bert-emotion predict` output for a multi-label model.
std::vector<std::string> jsonl_label_set(const std::string& line, const std::string& file, size_t line_no) {
  const std::string at = file + ":" + std::to_string(line_no);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(at + ": invalid JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("labels") || !j["labels"].is_array())
    throw FormatError(at + ": expected an object with a \"labels\" array (predict's jsonl for a multi-label model)");
  std::vector<std::string> items;
  for (const auto& v : j["labels"]) {
    if (v.is_string()) items.push_back(v.get<std::string>());
    else if (v.is_number_integer()) items.push_back(std::to_string(v.get<int64_t>()));
    else throw FormatError(at + ": \"labels\" must hold label names or integer ids");
  }
  return items;
}

// One prediction and the line it came from: `value` (one label) for single-label gold data, `set`
// (label names or ids) for multi-label gold data.
struct PredictedLabel {
  std::string value;
  size_t line = 0;
  std::vector<std::string> set;
};

// A CSV cell as predict wrote it, with its formula neutralisation ("'" before = + - @ TAB CR) undone.
std::string csv_cell_value(const std::string& cell) {
  if (cell.size() >= 2 && cell[0] == '\'' && std::string_view("=+-@\t\r").find(cell[1]) != std::string_view::npos)
    return cell.substr(1);
  return cell;
}

// The predictions of FILE, whatever `predict` wrote or a script made, recognised by content:
//   predict --format jsonl   lines starting with '{': the "label" of each object ("labels" if multi)
//   predict --format csv     header text,label,score,... (text,text_pair,label,score,... for
//                            pairs): the label column ("labels", "|"-joined, if multi)
//   predict --format table   header "label  score   text": the first column (indented lines skipped;
//                            multi: ","-joined names, "(none)" for the empty set)
//   predict_results.txt      header index<TAB>prediction (run_classification.py): the prediction column
//                            (multi: its Python list "['joy', 'love']")
//   otherwise                one label (name or id) per line (multi: "joy,love" or "2,7"; empty = none)
std::vector<PredictedLabel> read_predicted_labels(const std::string& path, bool multi) {
  std::string data = read_file(path);
  if (data.compare(0, 3, "\xEF\xBB\xBF") == 0) data.erase(0, 3);
  const std::string first = data.substr(0, data.find('\n'));
  std::vector<PredictedLabel> out;
  auto add = [&](std::string value, size_t line, char sep) {
    PredictedLabel p{std::move(value), line, {}};
    if (multi && p.value != "(none)") p.set = split_label_set(p.value, sep);
    out.push_back(std::move(p));
  };
  const bool pair_csv = first.rfind("text,text_pair,label,score", 0) == 0;
  if (pair_csv || first.rfind("text,label,score", 0) == 0) {
    const auto records = parse_csv(data, ',', path);
    const size_t first_col = pair_csv ? 1 : 0;  // the text_pair column shifts the rest right
    const size_t column = first_col + (multi ? 3 : 1);
    const std::string expected = pair_csv ? "text,text_pair,label,score" : "text,label,score";
    if (multi && (records.empty() || records[0].fields.size() <= column || records[0].fields[column] != "labels"))
      throw FormatError(path + ":1: expected a header " + expected +
                        ",labels,... (predict's csv for a multi-label model)");
    for (size_t r = 1; r < records.size(); ++r) {
      if (records[r].fields.size() <= column)
        throw FormatError(path + ":" + std::to_string(records[r].line) + ": expected " + expected +
                          ",... (predict's csv)");
      add(csv_cell_value(records[r].fields[column]), records[r].line, '|');
    }
    return out;
  }
  const auto lines = split_lines(data, path);
  const bool table = first.rfind("label ", 0) == 0 && first.find("  score   text") != std::string::npos;
  const bool tsv = first == "index\tprediction" || first == "index\tprediction\r";
  const bool jsonl = !first.empty() && first.find_first_not_of(" \t") != std::string::npos &&
                     first[first.find_first_not_of(" \t")] == '{';
  for (size_t i = (table || tsv) ? 1 : 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (jsonl) {
      if (l.empty()) continue;
      if (multi) out.push_back({l, i + 1, jsonl_label_set(l, path, i + 1)});
      else out.push_back({jsonl_label(l, path, i + 1), i + 1, {}});
    } else if (table) {
      if (l.empty() || l[0] == ' ') continue;  // --logits and --top-k lines are indented
      add(l.substr(0, l.find("  ")), i + 1, ',');
    } else if (tsv) {
      const size_t tab = l.find('\t');
      add(tab == std::string::npos ? l : l.substr(tab + 1), i + 1, ',');
    } else {
      add(l, i + 1, ',');
    }
  }
  return out;
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
    std::vector<PredictedLabel> preds = read_predicted_labels(o.predictions, gold.multi_label);
    // A final empty line (e.g. "\n\n" at the end) is not a prediction.
    while (preds.size() > gold.rows.size() && !preds.empty() && preds.back().value.empty()) preds.pop_back();
    if (preds.size() != gold.rows.size())
      throw FormatError(o.predictions + ": " + std::to_string(preds.size()) + " predictions but " + gold.source +
                        " has " + std::to_string(gold.rows.size()) + " examples");
    if (gold.multi_label) {
      MultiHot y_pred;
      for (const auto& p : preds)
        y_pred.push_back(predicted_set(p.set, gold.label_names, o.predictions + ":" + std::to_string(p.line)));
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
    for (size_t i = 0; i < preds.size(); ++i) {
      std::string v = preds[i].value;
      while (!v.empty() && (v.back() == '\r' || v.back() == ' ' || v.back() == '\t')) v.pop_back();
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(v.begin());
      int id = resolve_label(v, gold.label_names);
      if (id < 0) {
        std::string names;
        for (const auto& n : gold.label_names) names += (names.empty() ? "" : ", ") + n;
        throw FormatError(o.predictions + ":" + std::to_string(preds[i].line) + ": unknown label '" + v +
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
  set_inference_dtype(model, o.dtype);
  Tokenizer tok = Tokenizer::from_model_dir(model_dir);
  dopts.label_names = model.config.label_names();
  const bool multi = model.config.multi_label();
  dopts.label_mode = multi ? LabelMode::Multi : LabelMode::Single;
  Dataset data = load_dataset(data_path, o.split, dopts);
  std::vector<float> thresholds;
  if (multi)
    thresholds = o.threshold >= 0 ? std::vector<float>(dopts.label_names.size(), static_cast<float>(o.threshold))
                                  : read_thresholds(model_dir, dopts.label_names);
  EvalOutput out = evaluate_model(model.config, model.weights, tok, data, o.batch_size, o.max_length, comm, thresholds);
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
            << "  macro F1: " << fmt(out.metrics.macro_f1) << "  weighted F1: " << fmt(out.metrics.weighted_f1) << "\n";
  print_report(out.metrics, names, o.digits);
  write_json(o.output, eval_results_json(out, names, o.batch_size));
  return kExitOk;
}

Registrar reg("eval", [](CLI::App& app) {
  auto* sub = app.add_subcommand("eval", "Evaluate a model (or a predictions file) on a labelled dataset split");
  auto o = std::make_shared<EvalOptions>();
  sub->add_option("--model,-m", o->model, "Model directory or hub id");
  sub->add_option("--predictions,-p", o->predictions,
                  "One predicted label (id or name) per line, or predict's jsonl/csv/table output");
  sub->add_option("--data,-d", o->data, "TweetEval folder or task name, folder of {split}.csv|.tsv|.jsonl, or a file")
      ->required();
  sub->add_option("--split,-s", o->split, "train, val (validation) or test")->capture_default_str();
  sub->add_option("--batch-size", o->batch_size, "Examples per forward pass")
      ->capture_default_str()
      ->check(CLI::Range(1, std::numeric_limits<int>::max()));  // PositiveNumber prints "0 to 1.79e308"
  add_threads_option(sub, o->threads, "OpenMP threads (0 = default)");
  add_dtype_option(sub, o->dtype);
  sub->add_option("--max-length", o->max_length, "Truncate to this many tokens (0 = model max)")->capture_default_str();
  sub->add_option("--digits", o->digits, "Decimals in the classification report")
      ->capture_default_str()
      ->check(CLI::Range(0, 10));
  sub->add_option("--output,-o", o->output, "Write the metrics as JSON (Trainer eval_* keys)");
  sub->add_option("--text-column", o->text_column, "CSV/TSV/JSONL text column")->capture_default_str();
  sub->add_option("--label-column", o->label_column, "CSV/TSV/JSONL label column")->capture_default_str();
  sub->add_option("--text-pair-column", o->text_pair_column, "Optional second text column (sentence pairs)");
  sub->add_option("--threshold", o->threshold,
                  "Multi-label: one threshold for every label (default: the model's thresholds.json, else 0.5)")
      ->check(CLI::Range(0.0, 1.0));
  return std::function<int()>([o] { return run_eval(*o); });
});

}  // namespace
}  // namespace bert_emotion::cli
