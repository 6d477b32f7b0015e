// cmd_predict.cpp — `bert-emotion predict --model DIR [TEXT ...] [--input FILE|-] [--format F]`.
//
// Classifies texts given as arguments, or one per line of --input (a file, or "-" for stdin; with
// neither, stdin is read). Lines split on "\n" only, as the datasets are. Output order = input
// order, in one of three formats:
//   jsonl  {"text": ..., "label": "joy", "score": 0.91, "scores": {"anger": ..., ...}} per line,
//          scores in label-id order, plus "logits": [...] with --logits
//   csv    header text,label,score,<one column per label>[,logit_<label>...] (RFC 4180 quoting)
//   table  label, score and the text, aligned for reading
// Under mpirun rank 0 reads the input and shares it; each rank classifies a contiguous share of the
// batches (the batches one process runs, so the numbers are the same) and rank 0 prints them all.
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
  std::string format = "jsonl";
  int batch_size = 32;
  int threads = 0;
  bool logits = false;
  size_t max_length = 0;
  std::string on_invalid_utf8 = "error";
};

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
  std::string s = !text.empty() && std::string_view("=+-@\t\r").find(text[0]) != std::string_view::npos
                            ? "'" + text
                            : text;
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

// Rows of one output format; the header (csv, table) is printed once, before the first rows.
class PredictionWriter {
 public:
  PredictionWriter(const PredictOptions& o, std::vector<std::string> names) : o_(o), names_(std::move(names)) {
    for (const auto& n : names_) label_w_ = std::max(label_w_, code_points(n));
  }

  std::string header() const {
    std::string out;
    if (o_.format == "csv") {
      out += "text,label,score";
      for (const auto& n : names_) out += "," + csv_cell(n);
      if (o_.logits)
        for (const auto& n : names_) out += "," + csv_cell("logit_" + n);
      out += "\n";
    } else if (o_.format == "table") {
      out += pad("label") + "  score   text\n";
    }
    return out;
  }

  std::string row(const std::string& text, const Prediction& p) const {
    std::string out;
    if (o_.format == "jsonl") {
      nlohmann::ordered_json j;
      j["text"] = text;
      j["label"] = p.label;
      j["score"] = json_float(p.score);
      nlohmann::ordered_json scores = nlohmann::ordered_json::object();
      for (size_t k = 0; k < names_.size(); ++k) scores[names_[k]] = json_float(p.scores[k]);
      j["scores"] = scores;
      if (o_.logits) {
        nlohmann::ordered_json l = nlohmann::ordered_json::array();
        for (float v : p.logits) l.push_back(json_float(v));
        j["logits"] = l;
      }
      out += j.dump() + "\n";
    } else if (o_.format == "csv") {
      out += csv_cell(text) + "," + csv_cell(p.label) + "," + shortest(p.score);
      for (float sc : p.scores) out += "," + shortest(sc);
      if (o_.logits)
        for (float l : p.logits) out += "," + shortest(l);
      out += "\n";
    } else {
      char score[16];
      std::snprintf(score, sizeof score, "%.4f", p.score);
      out += pad(p.label) + "  " + score + "  " + table_text(text, 80) + "\n";
      if (o_.logits) {
        out += pad("") + "  logits ";
        for (float l : p.logits) out += " " + shortest(l);
        out += "\n";
      }
    }
    return out;
  }

 private:
  std::string pad(const std::string& s) const { return s + std::string(label_w_ - std::min(label_w_, code_points(s)), ' '); }

  const PredictOptions& o_;
  std::vector<std::string> names_;
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

  auto dir = resolve_model_path(o.model, cli_hub_options());
  ClassifierOptions copts;
  copts.threads = o.threads;
  copts.batch_size = o.batch_size;
  copts.max_length = o.max_length;
  auto clf = Classifier::load(dir, copts);
  const auto names = clf->config().label_names();
  const PredictionWriter writer(o, names);
  auto note_skipped = [&] {
    if (const auto& sk = input->skipped_lines(); !sk.empty())
      std::cerr << "note: skipped " << sk.size() << " line(s) of " << input->source() << " with invalid UTF-8 (line "
                << sk.front() << (sk.size() > 1 ? ", ..." : "") << ")\n";
  };

  if (comm.distributed()) {  // mpirun: the whole input at once, shared, classified in shares
    std::vector<std::string> texts = std::move(args);
    std::string line;
    while (input && input->next(line, /*wait=*/true)) texts.push_back(std::move(line));
    broadcast_texts(comm, texts);
    const auto preds = classify_sharded(comm, *clf, texts, static_cast<size_t>(o.batch_size), names);
    if (!comm.is_root()) return kExitOk;
    std::string out = writer.header();
    for (size_t i = 0; i < preds.size(); ++i) out += writer.row(texts[i], preds[i]);
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
      const auto preds = clf->classify(texts);
      for (size_t i = 0; i < preds.size(); ++i) out += writer.row(texts[i], preds[i]);
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
  return kExitOk;
}

Registrar reg("predict", [](CLI::App& app) {
  auto* sub = app.add_subcommand("predict", "Classify texts (arguments, a file, or stdin) with a model directory");
  auto o = std::make_shared<PredictOptions>();
  sub->add_option("--model,-m", o->model, "Model directory or hub id")->required();
  sub->add_option("texts", o->texts, "Texts to classify");
  sub->add_option("--input,-i", o->input, "File with one text per line; - = stdin");
  sub->add_option("--format,-f", o->format, "jsonl (default), csv or table")->capture_default_str()->check(CLI::IsMember({"jsonl", "csv", "table"}));
  sub->add_option("--batch-size", o->batch_size, "Texts per forward pass (sorted by length)")->capture_default_str()->check(CLI::Range(1, std::numeric_limits<int>::max()));  // PositiveNumber prints "0 to 1.79e308"
  sub->add_option("--threads", o->threads, "OpenMP threads (0 = default)")->capture_default_str()->check(CLI::Range(0, std::numeric_limits<int>::max()));
  sub->add_flag("--logits", o->logits, "Also print the raw logits");
  sub->add_option("--max-length", o->max_length, "Truncate to this many tokens, specials included (0 = model max)")->capture_default_str();
  sub->add_option("--on-invalid-utf8", o->on_invalid_utf8,
                  "A line that is not UTF-8: error (exit 3), replace (bad bytes -> U+FFFD) or skip it")
      ->check(CLI::IsMember({"error", "replace", "skip"}))
      ->capture_default_str();
  return std::function<int()>([o] { return run_predict(*o); });
});

}  // namespace
}  // namespace bert_emotion::cli
