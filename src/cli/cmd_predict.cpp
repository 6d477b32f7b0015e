// cmd_predict.cpp — `bert-emotion predict --model DIR [TEXT ...] [--input FILE|-] [--format F]`.
//
// Classifies texts given as arguments, or one per line of --input (a file, or "-" for stdin; with
// neither, stdin is read). Lines split on "\n" only, as the datasets are. Output order = input
// order, in one of three formats:
//   jsonl  {"text": ..., "label": "joy", "score": 0.91, "scores": {"anger": ..., ...}} per line,
//          scores in label-id order, plus "logits": [...] with --logits
//   csv    header text,label,score,<one column per label>[,logit_<label>...] (RFC 4180 quoting)
//   table  label, score and the text, aligned for reading
// Multi-label models add the labels whose sigmoid score passes their threshold (--threshold, else the
// model's thresholds.json, else 0.5): "labels": [...] (jsonl, highest score first), a "labels" column
// joined by "|" (csv), the label column of the table. --top-k K keeps the K highest scores in
// "scores" (jsonl, highest first) and the table shows them.
#include <algorithm>
// Under mpirun rank 0 reads the input and shares it; each rank classifies a contiguous share of the
// batches (the batches one process runs, so the numbers are the same) and rank 0 prints them all.
#include <charconv>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "api/classifier.hpp"
#include "cli/command.hpp"
#include "data/dataset.hpp"
#include "dist/communicator.hpp"
#include "hub/hub.hpp"
#include "util/error.hpp"

namespace bert_emotion::cli {
namespace {

struct PredictOptions {
  std::string model;
  std::vector<std::string> texts;
  std::string input;
  std::string format = "jsonl";
  int batch_size = 32;
  int threads = 0;
  bool logits = false;
  size_t max_length = 0;
  double threshold = -1;
  int top_k = 0;
};

// Label ids by descending score (ties: lower id first), cut to k (0 = all).
std::vector<int> top_ids(const std::vector<float>& scores, int k) {
  std::vector<int> ids(scores.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int>(i);
  std::stable_sort(ids.begin(), ids.end(), [&](int a, int b) { return scores[static_cast<size_t>(a)] > scores[static_cast<size_t>(b)]; });
  if (k > 0 && static_cast<size_t>(k) < ids.size()) ids.resize(static_cast<size_t>(k));
  return ids;
}

std::string joined_names(const std::vector<int>& ids, const std::vector<std::string>& names, const char* sep) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? sep : "") + names[static_cast<size_t>(ids[i])];
  return s;
}

// A float as JSON: the shortest decimal that reads back as the same float (not its double
// widening, which would print 0.9100000262260437 for 0.91f).
double json_float(float v) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::strtod(std::string(buf, res.ptr).c_str(), nullptr);
}

std::string shortest(float v) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

// RFC 4180: quote when the field holds a comma, quote, CR or LF; double the quotes.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// The text on one table line: control characters as spaces, cut at `width` code points.
std::string table_text(const std::string& s, size_t width) {
  std::string out;
  size_t cps = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80) {
      if (cps == width) { out += "..."; break; }
      ++cps;
    }
    out += (c < 0x20 || c == 0x7F) ? ' ' : static_cast<char>(c);
  }
  return out;
}

// Rank 0's texts on every rank (mpirun gives stdin to rank 0 only), length-prefixed.
void broadcast_texts(dist::Communicator& comm, std::vector<std::string>& texts) {
  std::string wire;
  for (const auto& t : texts) wire += std::to_string(t.size()) + ":" + t;
  comm.broadcast(wire);
  texts.clear();
  for (size_t pos = 0; pos < wire.size();) {
    const size_t colon = wire.find(':', pos);
    const size_t len = std::stoull(wire.substr(pos, colon - pos));
    texts.push_back(wire.substr(colon + 1, len));
    pos = colon + 1 + len;
  }
}

// classify() of this rank's share of the batches; every rank's predictions, in input order. Each
// travels as K * 2 + 3 floats: label id, score, token count (exact below 2^24), scores, logits.
std::vector<Prediction> classify_sharded(dist::Communicator& comm, const Classifier& clf,
                                         const std::vector<std::string>& texts, size_t batch_size,
                                         const std::vector<std::string>& names) {
  if (!comm.distributed()) return clf.classify(texts);
  const dist::Range share = dist::even_share((texts.size() + batch_size - 1) / batch_size, comm.size(), comm.rank());
  const size_t first = std::min(texts.size(), share.first * batch_size);
  const size_t last = std::min(texts.size(), share.last * batch_size);
  const auto mine = clf.classify(std::vector<std::string>(texts.begin() + static_cast<ptrdiff_t>(first),
                                                          texts.begin() + static_cast<ptrdiff_t>(last)));
  const size_t K = names.size(), stride = 2 * K + 3;
  std::vector<float> wire;
  wire.reserve(mine.size() * stride);
  for (const auto& p : mine) {
    wire.insert(wire.end(), {static_cast<float>(p.label_id), p.score, static_cast<float>(p.num_tokens)});
    wire.insert(wire.end(), p.scores.begin(), p.scores.end());
    wire.insert(wire.end(), p.logits.begin(), p.logits.end());
  }
  const std::vector<float> all = comm.allgather(wire);
  std::vector<Prediction> out(all.size() / stride);
  for (size_t i = 0; i < out.size(); ++i) {
    const float* r = all.data() + i * stride;
    Prediction& p = out[i];
    p.label_id = static_cast<int>(r[0]);
    p.label = names[static_cast<size_t>(p.label_id)];
    p.score = r[1];
    p.num_tokens = static_cast<size_t>(r[2]);
    p.scores.assign(r + 3, r + 3 + K);
    p.logits.assign(r + 3 + K, r + stride);
    if (clf.config().multi_label()) p.passing = passing_labels(p.scores, clf.thresholds());
  }
  return out;
}

int run_predict(const PredictOptions& o) {
  if (o.format != "jsonl" && o.format != "csv" && o.format != "table")
    throw InvalidArgument("predict: --format must be jsonl, csv or table, got '" + o.format + "'");
  dist::Communicator& comm = dist::world();
  std::vector<std::string> texts = o.texts;
  if (comm.is_root()) {
    if (!o.input.empty()) {
      auto more = read_lines(o.input);
      texts.insert(texts.end(), more.begin(), more.end());
    } else if (texts.empty()) {
      texts = read_lines("-");
    }
  }
  if (comm.distributed()) broadcast_texts(comm, texts);
  auto dir = resolve_model_path(o.model, cli_hub_options());
  ClassifierOptions copts;
  copts.threads = o.threads;
  copts.batch_size = o.batch_size;
  copts.max_length = o.max_length;
  copts.threshold = static_cast<float>(o.threshold);
  auto clf = Classifier::load(dir, copts);
  const auto names = clf->config().label_names();
  const bool multi = clf->config().multi_label();
  auto preds = classify_sharded(comm, *clf, texts, static_cast<size_t>(o.batch_size), names);
  if (!comm.is_root()) return kExitOk;

  std::string out;
  if (o.format == "jsonl") {
    for (size_t i = 0; i < preds.size(); ++i) {
      const auto& p = preds[i];
      nlohmann::ordered_json j;
      j["text"] = texts[i];
      j["label"] = p.label;
      j["score"] = json_float(p.score);
      if (multi) {
        nlohmann::ordered_json labels = nlohmann::ordered_json::array();
        for (int id : p.passing) labels.push_back(names[static_cast<size_t>(id)]);
        j["labels"] = labels;
      }
      nlohmann::ordered_json scores = nlohmann::ordered_json::object();
      if (o.top_k > 0)
        for (int id : top_ids(p.scores, o.top_k)) scores[names[static_cast<size_t>(id)]] = json_float(p.scores[static_cast<size_t>(id)]);
      else
        for (size_t k = 0; k < names.size(); ++k) scores[names[k]] = json_float(p.scores[k]);
      j["scores"] = scores;
      if (o.logits) {
        nlohmann::ordered_json l = nlohmann::ordered_json::array();
        for (float v : p.logits) l.push_back(json_float(v));
        j["logits"] = l;
      }
      out += j.dump() + "\n";
    }
  } else if (o.format == "csv") {
    out += multi ? "text,label,score,labels" : "text,label,score";
    for (const auto& n : names) out += "," + csv_field(n);
    if (o.logits)
      for (const auto& n : names) out += "," + csv_field("logit_" + n);
    out += "\n";
    for (size_t i = 0; i < preds.size(); ++i) {
      const auto& p = preds[i];
      out += csv_field(texts[i]) + "," + csv_field(p.label) + "," + shortest(p.score);
      if (multi) out += "," + csv_field(joined_names(p.passing, names, "|"));
      for (float s : p.scores) out += "," + shortest(s);
      if (o.logits)
        for (float l : p.logits) out += "," + shortest(l);
      out += "\n";
    }
  } else {
    // Multi-label: the passing labels joined by ","; --top-k: the K best "name score" pairs.
    std::vector<std::string> shown(preds.size());
    for (size_t i = 0; i < preds.size(); ++i) {
      shown[i] = multi ? joined_names(preds[i].passing, names, ",") : preds[i].label;
      if (multi && shown[i].empty()) shown[i] = "(none)";
    }
    size_t label_w = 5;
    for (const auto& n : shown) label_w = std::max(label_w, code_points(n));
    auto pad = [](const std::string& s, size_t w) { return s + std::string(w - std::min(w, code_points(s)), ' '); };
    out += pad("label", label_w) + "  score   text\n";
    for (size_t i = 0; i < preds.size(); ++i) {
      char score[16];
      std::snprintf(score, sizeof score, "%.4f", preds[i].score);
      out += pad(shown[i], label_w) + "  " + score + "  " + table_text(texts[i], 80) + "\n";
      if (o.top_k > 0) {
        out += pad("", label_w) + "  top    ";
        for (int id : top_ids(preds[i].scores, o.top_k)) {
          char sc[16];
          std::snprintf(sc, sizeof sc, "%.4f", preds[i].scores[static_cast<size_t>(id)]);
          out += " " + names[static_cast<size_t>(id)] + " " + sc;
        }
        out += "\n";
      }
      if (o.logits) {
        out += pad("", label_w) + "  logits ";
        for (float l : preds[i].logits) out += " " + shortest(l);
        out += "\n";
      }
    }
  }
  std::cout << out << std::flush;
  if (!std::cout) throw IoError("predict: cannot write to stdout");
  return kExitOk;
}

Registrar reg("predict", [](CLI::App& app) {
  auto* sub = app.add_subcommand("predict", "Classify texts (arguments, a file, or stdin) with a model directory");
  auto o = std::make_shared<PredictOptions>();
  sub->add_option("--model,-m", o->model, "Model directory or hub id")->required();
  sub->add_option("texts", o->texts, "Texts to classify");
  sub->add_option("--input,-i", o->input, "File with one text per line; - = stdin");
  sub->add_option("--format,-f", o->format, "jsonl (default), csv or table")->check(CLI::IsMember({"jsonl", "csv", "table"}));
  sub->add_option("--batch-size", o->batch_size, "Texts per forward pass (sorted by length)")->check(CLI::Range(1, std::numeric_limits<int>::max()));  // PositiveNumber prints "0 to 1.79e308"
  sub->add_option("--threads", o->threads, "OpenMP threads (0 = default)")->check(CLI::Range(0, std::numeric_limits<int>::max()));
  sub->add_flag("--logits", o->logits, "Also print the raw logits");
  sub->add_option("--threshold", o->threshold,
                  "Multi-label: one threshold for every label (default: the model's thresholds.json, else 0.5)")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--top-k,--top_k", o->top_k, "Keep only the K highest scores (jsonl scores, table)")
      ->check(CLI::Range(1, std::numeric_limits<int>::max()));
  sub->add_option("--max-length", o->max_length, "Truncate to this many tokens, specials included (0 = model max)");
  return std::function<int()>([o] { return run_predict(*o); });
});

}  // namespace
}  // namespace bert_emotion::cli
