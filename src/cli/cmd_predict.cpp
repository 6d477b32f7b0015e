// cmd_predict.cpp — `bert-emotion predict --model DIR [TEXT ...] [--input FILE|-] [--format F]`.
//
// Classifies texts given as arguments, or one per line of --input (a file, or "-" for stdin; with
// neither, stdin is read). Lines split on "\n" only, as the datasets are. --pair-input FILE makes
// sentence pairs: its line i is the second text of input i (BERT models see it as token type 1).
// Output order = input order, in one of three formats:
//   jsonl  {"text": ..., "label": "joy", "score": 0.91, "scores": {"anger": ..., ...}} per line,
//          scores in label-id order, plus "logits": [...] with --logits; "text_pair" after "text"
//   csv    header text,label,score,<one column per label>[,logit_<label>...] (RFC 4180 quoting);
//          a text_pair column after text for pairs
//   table  label, score and the text (pairs: "text | text_pair"), aligned for reading
// Multi-label models add the labels whose sigmoid score passes their threshold (--threshold, else the
// model's thresholds.json, else 0.5): "labels": [...] (jsonl, highest score first), a "labels" column
// after score joined by "|" (csv), the label column of the table. --top-k K keeps the K highest
// scores in "scores" (jsonl, highest first) and the table shows them.
// Under mpirun rank 0 reads the input and shares it; each rank classifies a contiguous share of the
// batches (the batches one process runs, so the numbers are the same) and rank 0 prints them all.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>

#include "api/classifier.hpp"
#include "cli/command.hpp"
#include "cli/line_input.hpp"
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
  std::string pair_input;
  std::string format = "jsonl";
  int batch_size = 32;
  int threads = 0;
  std::string dtype = "auto";
  bool logits = false;
  size_t max_length = 0;
  std::string on_invalid_utf8 = "error";
  double threshold = -1;
  int top_k = 0;
};

// Label ids by descending score (ties: lower id first), cut to k (0 = all).
std::vector<int> top_ids(const std::vector<float>& scores, int k) {
  std::vector<int> ids(scores.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int>(i);
  std::stable_sort(ids.begin(), ids.end(),
                   [&](int a, int b) { return scores[static_cast<size_t>(a)] > scores[static_cast<size_t>(b)]; });
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

// One CSV cell. First spreadsheet formulas are neutralised (OWASP "CSV injection"): a cell starting
// with =, +, -, @, TAB or CR gets a leading apostrophe, which spreadsheets display as text and
// `eval --predictions` removes again. Then RFC 4180: quoted when it holds a comma, quote, CR or LF,
// quotes doubled. Numbers are written without this (a negative logit stays a number).
std::string csv_cell(const std::string& text) {
  std::string s =
      !text.empty() && std::string_view("=+-@\t\r").find(text[0]) != std::string_view::npos ? "'" + text : text;
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
      if (cps == width) {
        out += "...";
        break;
      }
      ++cps;
    }
    out += (c < 0x20 || c == 0x7F) ? ' ' : static_cast<char>(c);
  }
  return out;
}

// Rows of one output format; the header (csv, table) is printed once, before the first rows.
// Multi-label models add the passing labels; --top-k keeps the K best scores (jsonl, table).
class PredictionWriter {
 public:
  PredictionWriter(const PredictOptions& o, std::vector<std::string> names, bool multi_label)
      : o_(o), names_(std::move(names)), multi_(multi_label) {
    for (const auto& n : names_) label_w_ = std::max(label_w_, code_points(n));
  }

  std::string header() const {
    std::string out;
    if (o_.format == "csv") {
      out += o_.pair_input.empty() ? "text,label,score" : "text,text_pair,label,score";
      if (multi_) out += ",labels";
      for (const auto& n : names_) out += "," + csv_cell(n);
      if (o_.logits)
        for (const auto& n : names_) out += "," + csv_cell("logit_" + n);
      out += "\n";
    } else if (o_.format == "table") {
      out += pad("label") + "  score   text\n";
    }
    return out;
  }

  // `pair`: the second text of a pair, or null.
  std::string row(const std::string& text, const std::string* pair, const Prediction& p) const {
    std::string out;
    if (o_.format == "jsonl") {
      nlohmann::ordered_json j;
      j["text"] = text;
      if (pair) j["text_pair"] = *pair;
      j["label"] = p.label;
      j["score"] = json_float(p.score);
      if (multi_) {
        nlohmann::ordered_json labels = nlohmann::ordered_json::array();
        for (int id : p.passing) labels.push_back(names_[static_cast<size_t>(id)]);
        j["labels"] = labels;
      }
      nlohmann::ordered_json scores = nlohmann::ordered_json::object();
      if (o_.top_k > 0)
        for (int id : top_ids(p.scores, o_.top_k))
          scores[names_[static_cast<size_t>(id)]] = json_float(p.scores[static_cast<size_t>(id)]);
      else
        for (size_t k = 0; k < names_.size(); ++k) scores[names_[k]] = json_float(p.scores[k]);
      j["scores"] = scores;
      if (o_.logits) {
        nlohmann::ordered_json l = nlohmann::ordered_json::array();
        for (float v : p.logits) l.push_back(json_float(v));
        j["logits"] = l;
      }
      out += j.dump() + "\n";
    } else if (o_.format == "csv") {
      out += csv_cell(text) + (pair ? "," + csv_cell(*pair) : "") + "," + csv_cell(p.label) + "," + shortest(p.score);
      if (multi_) out += "," + csv_cell(joined_names(p.passing, names_, "|"));
      for (float sc : p.scores) out += "," + shortest(sc);
      if (o_.logits)
        for (float l : p.logits) out += "," + shortest(l);
      out += "\n";
    } else {
      // Multi-label: the passing labels joined by "," ("(none)" for the empty set); a set wider
      // than the column pushes the rest of its line right (rows are streamed, widths fixed upfront).
      std::string shown = multi_ ? joined_names(p.passing, names_, ",") : p.label;
      if (multi_ && shown.empty()) shown = "(none)";
      char score[16];
      std::snprintf(score, sizeof score, "%.4f", p.score);
      out += pad(shown) + "  " + score + "  " + table_text(pair ? text + " | " + *pair : text, 80) + "\n";
      if (o_.top_k > 0) {
        out += pad("") + "  top    ";
        for (int id : top_ids(p.scores, o_.top_k)) {
          char sc[16];
          std::snprintf(sc, sizeof sc, "%.4f", p.scores[static_cast<size_t>(id)]);
          out += " " + names_[static_cast<size_t>(id)] + " " + sc;
        }
        out += "\n";
      }
      if (o_.logits) {
        out += pad("") + "  logits ";
        for (float l : p.logits) out += " " + shortest(l);
        out += "\n";
      }
    }
    return out;
  }

 private:
  std::string pad(const std::string& s) const {
    return s + std::string(label_w_ - std::min(label_w_, code_points(s)), ' ');
  }

  const PredictOptions& o_;
  std::vector<std::string> names_;
  bool multi_;
  size_t label_w_ = 5;
};

void write_out(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) throw IoError("predict: cannot write to stdout");
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

// classify() of this rank's share of the batches (pairs: empty, or one per text); every rank's
// predictions, in input order. Each travels as K * 2 + 3 floats: label id, score, token count
// (exact below 2^24), scores, logits.
std::vector<Prediction> classify_sharded(dist::Communicator& comm, const Classifier& clf,
                                         const std::vector<std::string>& texts, const std::vector<std::string>& pairs,
                                         size_t batch_size, const std::vector<std::string>& names) {
  if (!comm.distributed()) return clf.classify(texts, pairs);
  const dist::Range share = dist::even_share((texts.size() + batch_size - 1) / batch_size, comm.size(), comm.rank());
  const size_t first = std::min(texts.size(), share.first * batch_size);
  const size_t last = std::min(texts.size(), share.last * batch_size);
  auto slice = [&](const std::vector<std::string>& v) {
    if (v.empty()) return v;
    return std::vector<std::string>(v.begin() + static_cast<ptrdiff_t>(first),
                                    v.begin() + static_cast<ptrdiff_t>(last));
  };
  const auto mine = clf.classify(slice(texts), slice(pairs));
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
  const Utf8Policy policy = parse_utf8_policy(o.on_invalid_utf8);
  std::vector<std::string> args;
  for (size_t i = 0; i < o.texts.size(); ++i) {
    std::string t = o.texts[i];
    if (apply_utf8_policy(t, policy, "argument " + std::to_string(i + 1), false)) args.push_back(std::move(t));
  }
  dist::Communicator& comm = dist::world();
  // The input is opened (a directory, a missing file: refused) before the model is loaded.
  std::unique_ptr<LineInput> input;
  if (comm.is_root() && (!o.input.empty() || o.texts.empty()))
    input = std::make_unique<LineInput>(o.input.empty() ? "-" : o.input, policy, true);
  // --pair-input is read whole, up front: line i is the second text of input i.
  if (!o.pair_input.empty() && policy == Utf8Policy::Skip)
    throw InvalidArgument("--on-invalid-utf8 skip would misalign --pair-input's pairs: use error or replace");
  std::vector<std::string> all_pairs;
  if (!o.pair_input.empty() && comm.is_root()) all_pairs = read_all_lines(o.pair_input, policy, true);
  size_t inputs_seen = 0;
  // The second texts of the next `count` inputs (none without --pair-input).
  auto take_pairs = [&](size_t count) {
    std::vector<std::string> out;
    if (o.pair_input.empty()) return out;
    if (inputs_seen + count > all_pairs.size())
      throw InvalidArgument("--pair-input " + o.pair_input + " has " + std::to_string(all_pairs.size()) +
                            " line(s) but there are more inputs");
    out.assign(all_pairs.begin() + static_cast<ptrdiff_t>(inputs_seen),
               all_pairs.begin() + static_cast<ptrdiff_t>(inputs_seen + count));
    inputs_seen += count;
    return out;
  };
  auto check_all_paired = [&] {
    if (!o.pair_input.empty() && inputs_seen != all_pairs.size())
      throw InvalidArgument("--pair-input " + o.pair_input + " has " + std::to_string(all_pairs.size()) +
                            " line(s) for " + std::to_string(inputs_seen) + " input(s)");
  };

  auto dir = resolve_model_path(o.model, cli_hub_options());
  ClassifierOptions copts;
  copts.threads = o.threads;
  copts.dtype = o.dtype;
  copts.batch_size = o.batch_size;
  copts.max_length = o.max_length;
  copts.threshold = static_cast<float>(o.threshold);
  auto clf = Classifier::load(dir, copts);
  const auto names = clf->config().label_names();
  const PredictionWriter writer(o, names, clf->config().multi_label());
  auto note_skipped = [&] {
    if (const auto& sk = input->skipped_lines(); !sk.empty())
      std::cerr << "note: skipped " << sk.size() << " line(s) of " << input->source() << " with invalid UTF-8 (line "
                << sk.front() << (sk.size() > 1 ? ", ..." : "") << ")\n";
  };

  if (comm.distributed()) {  // mpirun: the whole input at once, shared, classified in shares
    std::vector<std::string> texts = std::move(args);
    std::string line;
    while (input && input->next(line, /*wait=*/true)) texts.push_back(std::move(line));
    std::vector<std::string> pairs;
    if (comm.is_root()) {
      pairs = take_pairs(texts.size());
      check_all_paired();
    }
    broadcast_texts(comm, texts);
    if (!o.pair_input.empty()) broadcast_texts(comm, pairs);
    const auto preds = classify_sharded(comm, *clf, texts, pairs, static_cast<size_t>(o.batch_size), names);
    if (!comm.is_root()) return kExitOk;
    std::string out = writer.header();
    for (size_t i = 0; i < preds.size(); ++i)
      out += writer.row(texts[i], pairs.empty() ? nullptr : &pairs[i], preds[i]);
    write_out(out);
    if (input) note_skipped();
    return kExitOk;
  }

  // Streamed: classify and print a chunk whenever it is full or no more input is available now,
  // so a pipe that stays open gets its answers line by line; output order = input order.
  const size_t chunk = std::max<size_t>(static_cast<size_t>(o.batch_size), 256);
  std::string out = writer.header();
  auto emit = [&](std::vector<std::string>& texts) {
    if (!texts.empty()) {
      const std::vector<std::string> pairs = take_pairs(texts.size());
      const auto preds = clf->classify(texts, pairs);
      for (size_t i = 0; i < preds.size(); ++i)
        out += writer.row(texts[i], pairs.empty() ? nullptr : &pairs[i], preds[i]);
      texts.clear();
    }
    write_out(out);
    out.clear();
  };
  emit(args);
  if (input) {
    std::vector<std::string> pending;
    std::string line;
    for (;;) {
      if (input->next(line, /*wait=*/pending.empty())) {
        pending.push_back(std::move(line));
        if (pending.size() >= chunk) emit(pending);
      } else if (input->at_end()) {
        break;
      } else {
        emit(pending);  // nothing more available now: answer before blocking
      }
    }
    emit(pending);
    note_skipped();
  }
  check_all_paired();
  return kExitOk;
}

Registrar reg("predict", [](CLI::App& app) {
  auto* sub = app.add_subcommand("predict", "Classify texts (arguments, a file, or stdin) with a model directory");
  auto o = std::make_shared<PredictOptions>();
  sub->add_option("--model,-m", o->model, "Model directory or hub id")->required();
  sub->add_option("texts", o->texts, "Texts to classify");
  sub->add_option("--input,-i", o->input, "File with one text per line; - = stdin");
  sub->add_option("--pair-input", o->pair_input,
                  "File with the second text of each pair, line by line (sentence pairs)");
  sub->add_option("--format,-f", o->format, "jsonl (default), csv or table")
      ->capture_default_str()
      ->check(CLI::IsMember({"jsonl", "csv", "table"}));
  sub->add_option("--batch-size", o->batch_size, "Texts per forward pass (sorted by length)")
      ->capture_default_str()
      ->check(CLI::Range(1, std::numeric_limits<int>::max()));  // PositiveNumber prints "0 to 1.79e308"
  add_threads_option(sub, o->threads, "OpenMP threads (0 = default)");
  add_dtype_option(sub, o->dtype);
  sub->add_flag("--logits", o->logits, "Also print the raw logits");
  sub->add_option("--threshold", o->threshold,
                  "Multi-label: one threshold for every label (default: the model's thresholds.json, else 0.5)")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--top-k,--top_k", o->top_k, "Keep only the K highest scores (jsonl scores, table)")
      ->check(CLI::Range(1, std::numeric_limits<int>::max()));
  sub->add_option("--max-length", o->max_length, "Truncate to this many tokens, specials included (0 = model max)")
      ->capture_default_str();
  sub->add_option("--on-invalid-utf8", o->on_invalid_utf8,
                  "A line that is not UTF-8: error (exit 3), replace (bad bytes -> U+FFFD) or skip it")
      ->check(CLI::IsMember({"error", "replace", "skip"}))
      ->capture_default_str();
  return std::function<int()>([o] { return run_predict(*o); });
});

}  // namespace
}  // namespace bert_emotion::cli
