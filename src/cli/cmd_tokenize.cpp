// cmd_tokenize.cpp — `bert-emotion tokenize --model DIR [TEXT ...] [--input FILE|-] [--pair-input FILE]
//                     [--max-length N] [--offsets]`.
//
// Prints one JSON object per input text, in input order:
//   {"input_ids":[101,...,102],"tokens":["[CLS]",...,"[SEP]"]}
// plus "offsets" ([begin,end) byte ranges into the line; [0,0] for specials), "type_ids",
// "sequence_ids" (0 / 1 per side of a pair, null for specials, as HF's) and "special_tokens_mask"
// with --offsets. Texts are the positional arguments, or the lines of --input
// (a file, or "-" for stdin; with neither, stdin is read). Lines are split on "\n" only: "\r",
// U+0085, U+2028 and every other character belong to the text; a final trailing newline does not
// make an extra line, an empty line in the middle is an input. --pair-input gives the second
// sequence of each pair, line by line. Input is streamed: each line is printed as soon as it is
// read (a pipe that stays open gets answers line by line). Invalid UTF-8 fails naming the file and
// line and the likely encoding (exit 3; lines before it are printed), unless --on-invalid-utf8
// replace|skip. A directory as --input is refused (exit 4).
// MODEL is a directory or a hub id (resolve_model_path).
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/line_input.hpp"
#include "hub/hub.hpp"
#include "tokenizer/tokenizer.hpp"
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
  std::string on_invalid_utf8 = "error";
};

std::string encode_json(const Tokenizer& tok, const TokenizeOptions& o, const std::string& text,
                        const std::string* pair) {
  const Encoding e = pair ? tok.encode_pair(text, *pair, o.max_length) : tok.encode(text, o.max_length);
  nlohmann::json j;
  j["input_ids"] = e.ids;
  j["tokens"] = e.tokens;
  if (o.offsets) {
    nlohmann::json offs = nlohmann::json::array();
    for (const auto& [b, en] : e.offsets) offs.push_back({b, en});
    j["offsets"] = std::move(offs);
    j["type_ids"] = e.type_ids;
    nlohmann::json seq = nlohmann::json::array();
    for (int8_t s : e.sequence_ids) seq.push_back(s < 0 ? nlohmann::json(nullptr) : nlohmann::json(int(s)));
    j["sequence_ids"] = std::move(seq);
    j["special_tokens_mask"] = e.special_tokens_mask;
  }
  return j.dump() + "\n";
}

void write_out(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) throw IoError("cannot write to stdout");
}

int run_tokenize(const TokenizeOptions& o) {
  const Utf8Policy policy = parse_utf8_policy(o.on_invalid_utf8);
  if (!o.input.empty() && !o.texts.empty()) throw InvalidArgument("give texts as arguments or --input, not both");
  if (!o.pair_input.empty() && policy == Utf8Policy::Skip)
    throw InvalidArgument("--on-invalid-utf8 skip would misalign --pair-input's pairs: use error or replace");
  // Inputs are opened (a directory, a missing file: refused) before the tokenizer is loaded.
  std::unique_ptr<LineInput> input;
  if (o.texts.empty()) input = std::make_unique<LineInput>(o.input.empty() ? "-" : o.input, policy, false);
  std::vector<std::string> pairs;
  if (!o.pair_input.empty()) pairs = read_all_lines(o.pair_input, policy, false);
  const Tokenizer tok = Tokenizer::from_model_dir(resolve_model_path(o.model, cli_hub_options()));

  std::vector<std::string> texts;
  for (size_t i = 0; i < o.texts.size(); ++i) {
    std::string t = o.texts[i];
    if (apply_utf8_policy(t, policy, "argument " + std::to_string(i + 1), false)) texts.push_back(std::move(t));
  }
  // Streamed: each line is printed once tokenized, flushed whenever no more input is available now.
  size_t n = 0;
  auto pair_of = [&](size_t i) -> const std::string* {
    if (pairs.empty()) return nullptr;
    if (i >= pairs.size())
      throw InvalidArgument("--pair-input " + o.pair_input + " has " + std::to_string(pairs.size()) +
                            " lines, fewer than the first sequences");
    return &pairs[i];
  };
  std::string out;
  for (const auto& t : texts) out += encode_json(tok, o, t, pair_of(n++));
  if (input) {
    std::string line;
    for (;;) {
      if (input->next(line, /*wait=*/out.empty())) {
        out += encode_json(tok, o, line, pair_of(n++));
        if (out.size() > (1u << 16)) {
          write_out(out);
          out.clear();
        }
      } else if (input->at_end()) {
        break;
      } else {
        write_out(out);  // nothing more available now: print before blocking
        out.clear();
      }
    }
  }
  write_out(out);
  if (!pairs.empty() && n != pairs.size())
    throw InvalidArgument("--pair-input " + o.pair_input + " has " + std::to_string(pairs.size()) +
                          " lines, the first sequences " + std::to_string(n));
  if (input && !input->skipped_lines().empty())
    std::cerr << "note: skipped " << input->skipped_lines().size() << " line(s) of " << input->source()
              << " with invalid UTF-8 (line " << input->skipped_lines().front() << ")\n";
  return kExitOk;
}

Registrar reg("tokenize", [](CLI::App& app) {
  auto* sub = app.add_subcommand("tokenize", "Print token ids and tokens of texts, one JSON object per line");
  auto o = std::make_shared<TokenizeOptions>();
  sub->add_option("--model,-m", o->model,
                  "Model directory (tokenizer.json, vocab.json + merges.txt, or vocab.txt) or hub id")
      ->required();
  sub->add_option("texts", o->texts, "Texts to tokenize (else --input or stdin)");
  sub->add_option("--input", o->input, "File with one text per line, or - for stdin");
  sub->add_option("--pair-input", o->pair_input, "File with the second sequence of each pair, line by line");
  sub->add_option("--max-length", o->max_length, "Truncate to N tokens, specials included (default: the model's max)")
      ->check(AtLeast(1));
  sub->add_option("--on-invalid-utf8", o->on_invalid_utf8,
                  "A line that is not UTF-8: error (exit 3), replace (bad bytes -> U+FFFD) or skip it")
      ->check(CLI::IsMember({"error", "replace", "skip"}))
      ->capture_default_str();
  sub->add_flag("--offsets", o->offsets,
                "Also print offsets (byte ranges), type_ids, sequence_ids and special_tokens_mask");
  return std::function<int()>([o] { return run_tokenize(*o); });
});

}  // namespace
}  // namespace bert_emotion::cli
