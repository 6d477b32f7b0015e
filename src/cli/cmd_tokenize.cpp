// cmd_tokenize.cpp — `bert-emotion tokenize --model DIR [TEXT ...] [--input FILE|-] [--pair-input FILE]
//                     [--max-length N] [--offsets]`.
//
// Prints one JSON object per input text, in input order:
//   {"input_ids":[101,...,102],"tokens":["[CLS]",...,"[SEP]"]}
// plus "offsets" ([begin,end) byte ranges into the line; [0,0] for specials), "type_ids" and
// "special_tokens_mask" with --offsets. Texts are the positional arguments, or the lines of --input
// (a file, or "-" for stdin; with neither, stdin is read). Lines are split on "\n" only: "\r",
// U+0085, U+2028 and every other character belong to the text; a final trailing newline does not
// make an extra line, an empty line in the middle is an input. --pair-input gives the second
// sequence of each pair, line by line. Invalid UTF-8 fails naming the file and line (exit 3).
// MODEL is a directory or a hub id (resolve_model_path).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/command.hpp"
#include "hub/hub.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/unicode.hpp"
#include "util/error.hpp"

namespace bert_emotion::cli {
namespace {

struct TokenizeOptions {
  std::string model;
  std::vector<std::string> texts;
  std::string input;
  std::string pair_input;
  size_t max_length = 0;
  bool offsets = false;
};

std::string read_all(const std::string& path) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open " + path);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw IoError("cannot read " + path);
  return data;
}

// Split on "\n" only; a final trailing newline does not make an extra line.
std::vector<std::string> split_lines(const std::string& data) {
  std::vector<std::string> lines;
  size_t i = 0;
  while (i < data.size()) {
    size_t j = data.find('\n', i);
    if (j == std::string::npos) j = data.size();
    lines.emplace_back(data, i, j - i);
    i = j + 1;
  }
  return lines;
}

int run_tokenize(const TokenizeOptions& o) {
  const Tokenizer tok = Tokenizer::from_model_dir(resolve_model_path(o.model, cli_hub_options()));

  std::vector<std::string> texts = o.texts;
  std::string source = "argument";
  if (!o.input.empty() || texts.empty()) {
    if (!texts.empty()) throw InvalidArgument("give texts as arguments or --input, not both");
    const std::string path = o.input.empty() ? "-" : o.input;
    texts = split_lines(read_all(path));
    source = path == "-" ? "<stdin>" : path;
  }
  std::vector<std::string> pairs;
  if (!o.pair_input.empty()) {
    pairs = split_lines(read_all(o.pair_input));
    if (pairs.size() != texts.size())
      throw InvalidArgument("--pair-input " + o.pair_input + " has " + std::to_string(pairs.size()) +
                            " lines, the first sequences " + std::to_string(texts.size()));
  }

  // Every line is checked before anything is printed: a bad line fails the whole run.
  auto check = [](const std::vector<std::string>& lines, const std::string& where) {
    for (size_t i = 0; i < lines.size(); ++i) {
      const size_t bad = unicode::find_invalid_utf8(lines[i]);
      if (bad == std::string_view::npos) continue;
      const std::string loc = where == "argument" ? "argument " + std::to_string(i + 1) : where + ":" + std::to_string(i + 1);
      throw Utf8Error(loc + ": invalid UTF-8 at byte " + std::to_string(bad) + " of the line", bad);
    }
  };
  check(texts, source);
  check(pairs, o.pair_input);

  std::string out;
  for (size_t i = 0; i < texts.size(); ++i) {
    const Encoding e =
        pairs.empty() ? tok.encode(texts[i], o.max_length) : tok.encode_pair(texts[i], pairs[i], o.max_length);
    nlohmann::json j;
    j["input_ids"] = e.ids;
    j["tokens"] = e.tokens;
    if (o.offsets) {
      nlohmann::json offs = nlohmann::json::array();
      for (const auto& [b, en] : e.offsets) offs.push_back({b, en});
      j["offsets"] = std::move(offs);
      j["type_ids"] = e.type_ids;
      j["special_tokens_mask"] = e.special_tokens_mask;
    }
    out += j.dump();
    out += '\n';
    if (out.size() > (1u << 16)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (std::fflush(stdout) != 0) throw IoError("cannot write to stdout");
  return kExitOk;
}

Registrar reg("tokenize", [](CLI::App& app) {
  auto* sub = app.add_subcommand("tokenize", "Print token ids and tokens of texts, one JSON object per line");
  auto o = std::make_shared<TokenizeOptions>();
  sub->add_option("--model", o->model, "Model directory (tokenizer.json, vocab.json + merges.txt, or vocab.txt) or hub id")->required();
  sub->add_option("texts", o->texts, "Texts to tokenize (else --input or stdin)");
  sub->add_option("--input", o->input, "File with one text per line, or - for stdin");
  sub->add_option("--pair-input", o->pair_input, "File with the second sequence of each pair, line by line");
  sub->add_option("--max-length", o->max_length, "Truncate to N tokens, specials included (default: the model's max)")
      ->check(CLI::PositiveNumber);
  sub->add_flag("--offsets", o->offsets, "Also print offsets (byte ranges), type_ids and special_tokens_mask");
  return std::function<int()>([o] { return run_tokenize(*o); });
});

}  // namespace
}  // namespace bert_emotion::cli
