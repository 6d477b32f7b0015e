// bind_classifier.cpp — bert_emotion.Classifier: load a model once, classify from many threads.
//
// Wraps the public api/classifier.hpp. Every call releases the GIL while it tokenizes and runs the
// model, so Python threads classify in parallel (the Classifier is thread-safe); between batches it
// takes the GIL back for a moment to let Ctrl-C raise KeyboardInterrupt. logits() is what the
// pipeline (bert_emotion/pipeline.py) builds on: texts or {text, text_pair} pairs, truncated or
// not, as a float32 NumPy array [N, num_labels].
//
//   clf = bert_emotion.Classifier("runs/emo", threads=2)
//   clf.classify("so happy")        # {"label": "joy", "label_id": 1, "score": 0.93, "scores": {...}}
//   clf.classify(["premise"], ["hypothesis"])   # sentence pairs (BERT: the second text is type 1)
//   clf.logits(["a", "b"])          # numpy.ndarray (2, 4), float32
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <limits>
#include <memory>
#include <optional>
#include <variant>

#include "api/classifier.hpp"
#include "bindings.hpp"
#include "hub/hub.hpp"
#include "model/config.hpp"
#include "util/error.hpp"

namespace bert_emotion::python {

namespace {

struct PyClassifier {
  std::shared_ptr<const Classifier> clf;
  ClassifierOptions opts;
  std::string model_dir;
  size_t max_length = 0;  // the truncation length classify() uses
};

using Texts = std::variant<std::string, std::vector<std::string>>;
using Pairs = std::optional<std::variant<std::string, std::vector<std::optional<std::string>>>>;

std::vector<std::string> as_list(const Texts& t) {
  if (const auto* s = std::get_if<std::string>(&t)) return {*s};
  return std::get<std::vector<std::string>>(t);
}

std::vector<std::optional<std::string>> as_pairs(const Pairs& p, size_t n) {
  if (!p) return std::vector<std::optional<std::string>>(n);
  if (const auto* s = std::get_if<std::string>(&*p)) {
    if (n != 1) throw InvalidArgument("text_pair: one pair given for " + std::to_string(n) + " texts");
    return {*s};
  }
  auto v = std::get<std::vector<std::optional<std::string>>>(*p);
  if (v.size() != n)
    throw InvalidArgument("text_pair: " + std::to_string(v.size()) + " pairs for " + std::to_string(n) + " texts");
  return v;
}

// Rows of logits for pre-tokenized rows, batch by batch (Ctrl-C is checked between batches).
// type_rows: the rows' token types (a pair's second text is type 1 for BERT), or empty: all 0.
// Call without the GIL.
std::vector<float> run_rows(const PyClassifier& c, const std::vector<std::vector<int32_t>>& rows, int batch_size,
                            const std::vector<std::vector<int32_t>>& type_rows = {}) {
  if (!type_rows.empty() && type_rows.size() != rows.size())
    throw InvalidArgument("type_ids: " + std::to_string(type_rows.size()) + " rows for " + std::to_string(rows.size()) +
                          " rows of ids");
  const size_t K = static_cast<size_t>(c.clf->config().num_labels());
  const size_t bs = static_cast<size_t>(batch_size);
  std::vector<float> flat;
  flat.reserve(rows.size() * K);
  std::vector<std::vector<int32_t>> chunk, type_chunk;
  for (size_t start = 0; start < rows.size(); start += bs) {
    check_signals_without_gil();
    const auto first = static_cast<ptrdiff_t>(start), last = static_cast<ptrdiff_t>(std::min(rows.size(), start + bs));
    chunk.assign(rows.begin() + first, rows.begin() + last);
    if (!type_rows.empty()) type_chunk.assign(type_rows.begin() + first, type_rows.begin() + last);
    for (const auto& row : c.clf->logits(chunk, type_chunk)) flat.insert(flat.end(), row.begin(), row.end());
  }
  return flat;
}

// classify() of (texts[i], pairs[i]) in whole batches (Ctrl-C checked between chunks); rows
// without a pair (None) are classified as single texts. Call without the GIL.
std::vector<Prediction> classify_rows(const PyClassifier& c, const std::vector<std::string>& texts,
                                      const std::vector<std::optional<std::string>>& pairs) {
  std::vector<size_t> single, paired;
  for (size_t i = 0; i < texts.size(); ++i) (pairs[i] ? paired : single).push_back(i);
  std::vector<Prediction> preds(texts.size());
  const size_t chunk = static_cast<size_t>(c.opts.batch_size) * 4;
  for (const auto* group : {&single, &paired}) {
    for (size_t start = 0; start < group->size(); start += chunk) {
      check_signals_without_gil();
      const size_t end = std::min(group->size(), start + chunk);
      std::vector<std::string> a, b;
      for (size_t j = start; j < end; ++j) {
        a.push_back(texts[(*group)[j]]);
        if (group == &paired) b.push_back(*pairs[(*group)[j]]);
      }
      auto part = group == &paired ? c.clf->classify(a, b) : c.clf->classify(a);
      for (size_t j = start; j < end; ++j) preds[(*group)[j]] = std::move(part[j - start]);
    }
  }
  return preds;
}

py::array_t<float> to_array(const std::vector<float>& flat, size_t rows, size_t K, bool single) {
  py::array_t<float> a =
      single
          ? py::array_t<float>(std::vector<py::ssize_t>{static_cast<py::ssize_t>(K)})
          : py::array_t<float>(std::vector<py::ssize_t>{static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(K)});
  std::copy(flat.begin(), flat.end(), a.mutable_data());
  return a;
}

int resolve_batch_size(const PyClassifier& c, std::optional<int> batch_size) {
  const int bs = batch_size.value_or(c.opts.batch_size);
  if (bs < 1) throw InvalidArgument("batch_size must be >= 1, got " + std::to_string(bs));
  return bs;
}

// Multi-label models add "labels": the names whose sigmoid score passes their threshold, best first.
py::dict prediction_dict(const Prediction& p, const std::vector<std::string>& names, bool multi_label) {
  py::dict d;
  d["label"] = p.label;
  d["label_id"] = p.label_id;
  d["score"] = p.score;
  if (multi_label) {
    py::list labels;
    for (int id : p.passing) labels.append(names[static_cast<size_t>(id)]);
    d["labels"] = labels;
  }
  py::dict scores;
  for (size_t k = 0; k < names.size(); ++k) scores[py::str(names[k])] = p.scores[k];
  d["scores"] = scores;
  return d;
}

}  // namespace

void bind_classifier(py::module_& m) {
  py::class_<PyClassifier>(m, "Classifier",
                           "A loaded text classifier (model directory or hub id); thread-safe, load once")
      .def(py::init([](const std::string& model, int threads, int batch_size, size_t max_length,
                       std::optional<float> threshold, const std::string& dtype) {
             py::gil_scoped_release release;
             PyClassifier c;
             c.opts.threads = threads;
             c.opts.batch_size = batch_size;
             c.opts.max_length = max_length;
             if (threshold) {
               if (!(*threshold >= 0.f && *threshold <= 1.f))
                 throw InvalidArgument("threshold must be in [0, 1], got " + std::to_string(*threshold));
               c.opts.threshold = *threshold;
             }
             c.opts.dtype = dtype;
             const auto dir = resolve_model_path(model, hub_options_from_env());
             c.model_dir = dir.string();
             c.clf = Classifier::load(dir, c.opts);
             const size_t model_max = std::min<size_t>(c.clf->tokenizer().model_max_length(),
                                                       static_cast<size_t>(c.clf->config().max_position_embeddings));
             c.max_length = max_length == 0 ? model_max : std::min(max_length, model_max);
             return c;
           }),
           py::arg("model"), py::kw_only(), py::arg("threads") = 0, py::arg("batch_size") = 32,
           py::arg("max_length") = 0, py::arg("threshold") = py::none(), py::arg("dtype") = "auto",
           "threads: OpenMP threads per call (0 = all cores); max_length: truncation (0 = the model's maximum); "
           "threshold: multi-label decision threshold for every label (None = the model's thresholds.json, else 0.5); "
           "dtype: f32, bf16 (bf16 linears), int8 (dynamically quantized linears) or auto (the model directory's)")
      .def_property_readonly("problem_type", [](const PyClassifier& c) { return c.clf->config().problem_type; })
      .def_property_readonly("thresholds", [](const PyClassifier& c) { return c.clf->thresholds(); })
      .def_property_readonly("model_dir", [](const PyClassifier& c) { return c.model_dir; })
      .def_property_readonly(
          "dtype", [](const PyClassifier& c) { return c.clf->dtype(); },
          "The dtype the linears run in: f32, bf16 or int8 (dtype='auto' resolved to the directory's)")
      .def_property_readonly("labels", [](const PyClassifier& c) { return c.clf->config().label_names(); })
      .def_property_readonly("num_labels", [](const PyClassifier& c) { return c.clf->config().num_labels(); })
      .def_property_readonly("max_length", [](const PyClassifier& c) { return c.max_length; })
      .def_property_readonly("batch_size", [](const PyClassifier& c) { return c.opts.batch_size; })
      .def_property_readonly(
          "config", [](const PyClassifier& c) { return json_to_python(config_to_json(c.clf->config())); },
          "config.json as a dict")
      .def_property_readonly("tokenizer", [](const PyClassifier& c) { return c.clf->tokenizer(); })
      .def(
          "classify",
          [](const PyClassifier& c, const Texts& texts, const Pairs& text_pairs) -> py::object {
            const std::vector<std::string> list = as_list(texts);
            const auto pairs = as_pairs(text_pairs, list.size());
            std::vector<Prediction> preds;
            {
              py::gil_scoped_release release;
              preds = classify_rows(c, list, pairs);
            }
            const auto names = c.clf->config().label_names();
            if (std::holds_alternative<std::string>(texts))
              return prediction_dict(preds.at(0), names, c.clf->config().multi_label());
            py::list out;
            for (const auto& p : preds) out.append(prediction_dict(p, names, c.clf->config().multi_label()));
            return out;
          },
          py::arg("texts"), py::arg("text_pairs") = py::none(),
          "Label, label id, score and per-label scores (softmax, or sigmoid for multi-label models), as the "
          "CLI's predict; a dict for a str, a list of dicts for a list. text_pairs: the second texts of "
          "sentence pairs (a str for a str; a list, None for a single text); BERT sees them as token type 1")
      .def(
          "logits",
          [](const PyClassifier& c, const Texts& texts, const Pairs& text_pair, bool truncation,
             std::optional<size_t> max_length, std::optional<int> batch_size) {
            const std::vector<std::string> list = as_list(texts);
            const auto pairs = as_pairs(text_pair, list.size());
            const int bs = resolve_batch_size(c, batch_size);
            const size_t K = static_cast<size_t>(c.clf->config().num_labels());
            std::vector<float> flat;
            {
              py::gil_scoped_release release;
              const size_t limit = !truncation ? std::numeric_limits<size_t>::max() : max_length.value_or(c.max_length);
              std::vector<std::optional<std::string_view>> second(pairs.begin(), pairs.end());
              TokenRows encoded =
                  c.clf->tokenizer().encode_rows(std::vector<std::string_view>(list.begin(), list.end()), second, limit,
                                                 c.clf->config().takes_token_types(), [](size_t i) {
                                                   if (i % 256 == 255) check_signals_without_gil();
                                                 });
              flat = run_rows(c, encoded.ids, bs, encoded.type_ids);
            }
            return to_array(flat, list.size(), K, std::holds_alternative<std::string>(texts));
          },
          py::arg("texts"), py::arg("text_pair") = py::none(), py::kw_only(), py::arg("truncation") = true,
          py::arg("max_length") = py::none(), py::arg("batch_size") = py::none(),
          "Raw logits as float32: shape (num_labels,) for a str, (N, num_labels) for a list. text_pair: the "
          "second text (a str, or a list with None for single texts). truncation=False keeps every token "
          "(longer than the model's positions -> InvalidArgumentError)")
      .def(
          "logits_from_ids",
          [](const PyClassifier& c, const std::vector<std::vector<int32_t>>& rows,
             const std::optional<std::vector<std::vector<int32_t>>>& type_ids, std::optional<int> batch_size) {
            const int bs = resolve_batch_size(c, batch_size);
            std::vector<float> flat;
            {
              py::gil_scoped_release release;
              flat = run_rows(c, rows, bs, type_ids.value_or(std::vector<std::vector<int32_t>>{}));
            }
            return to_array(flat, rows.size(), static_cast<size_t>(c.clf->config().num_labels()), false);
          },
          py::arg("rows"), py::arg("type_ids") = py::none(), py::kw_only(), py::arg("batch_size") = py::none(),
          "Logits (N, num_labels) of pre-tokenized rows ([CLS] ... [SEP] included); type_ids: their token "
          "types (Encoding.type_ids; used by models with token types), None = all 0");
}

}  // namespace bert_emotion::python
