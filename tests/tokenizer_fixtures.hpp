// tokenizer_fixtures.hpp — helpers for the tokenizer tests (tokenizer_test.cpp,
// tokenizer_bpe_test.cpp): reading the text and JSONL fixtures made by
// tools/tokenizer-fixtures/generate.sh and comparing Encodings with them, first difference shown.
//
//   expect_all_equal(tok, read_lines(texts), kFixtures / "hard_cases_cased.jsonl", 512);
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.hpp"

namespace tokenizer_fixtures {

namespace fs = std::filesystem;
using bert_emotion::Encoding;
using bert_emotion::Tokenizer;
using nlohmann::json;

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << p;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Split on "\n" only; a final trailing newline does not make an extra line.
inline std::vector<std::string> read_lines(const fs::path& p) {
  std::string text = read_file(p);
  std::vector<std::string> lines;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find('\n', i);
    if (j == std::string::npos) j = text.size();
    lines.push_back(text.substr(i, j - i));
    i = j + 1;
  }
  return lines;
}

inline std::vector<json> read_jsonl(const fs::path& p) {
  std::vector<json> rows;
  for (const auto& line : read_lines(p)) rows.push_back(json::parse(line));
  return rows;
}

inline std::string show(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out;
}

// Compares ids (and, when the fixture row has them, tokens, offsets, masks and type ids).
// Returns a description of the first difference, or "" when identical.
inline std::string diff(const json& want, const Encoding& got) {
  auto ids = want["ids"].get<std::vector<int32_t>>();
  for (size_t i = 0; i < std::max(ids.size(), got.ids.size()); ++i) {
    if (i >= ids.size() || i >= got.ids.size() || ids[i] != got.ids[i]) {
      std::ostringstream os;
      os << "first differing token " << i << ": HF ";
      if (i < ids.size()) os << ids[i];
      else os << "(end)";
      if (want.contains("tokens") && i < want["tokens"].size())
        os << " '" << show(want["tokens"][i].get<std::string>()) << "'";
      os << ", ours ";
      if (i < got.ids.size()) os << got.ids[i] << " '" << show(got.tokens.size() > i ? got.tokens[i] : "") << "'";
      else os << "(end)";
      os << " (HF length " << ids.size() << ", ours " << got.ids.size() << ")";
      return os.str();
    }
  }
  if (want.contains("tokens")) {
    auto tokens = want["tokens"].get<std::vector<std::string>>();
    if (tokens != got.tokens) {
      for (size_t i = 0; i < tokens.size(); ++i)
        if (tokens[i] != got.tokens[i])
          return "token " + std::to_string(i) + ": HF '" + show(tokens[i]) + "', ours '" + show(got.tokens[i]) + "'";
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      auto o = want["offsets"][i];
      if (o[0].get<uint32_t>() != got.offsets[i].first || o[1].get<uint32_t>() != got.offsets[i].second)
        return "offsets of token " + std::to_string(i) + " '" + show(tokens[i]) + "': HF [" +
               std::to_string(o[0].get<uint32_t>()) + "," + std::to_string(o[1].get<uint32_t>()) + "), ours [" +
               std::to_string(got.offsets[i].first) + "," + std::to_string(got.offsets[i].second) + ")";
    }
    if (want["special_tokens_mask"].get<std::vector<uint8_t>>() != got.special_tokens_mask)
      return "special_tokens_mask differs";
  }
  if (want.contains("type_ids") && want["type_ids"].get<std::vector<uint8_t>>() != got.type_ids)
    return "type_ids differ";
  return "";
}

// Every line of `texts` against the fixture rows; fails on the first mismatch with context.
inline void expect_all_equal(const Tokenizer& tok, const std::vector<std::string>& texts, const fs::path& fixture,
                             size_t max_length = 0) {
  auto rows = read_jsonl(fixture);
  ASSERT_EQ(rows.size(), texts.size()) << fixture;
  size_t mismatches = 0;
  std::string first;
  for (size_t i = 0; i < texts.size(); ++i) {
    std::string d = diff(rows[i], tok.encode(texts[i], max_length));
    if (!d.empty() && mismatches++ == 0)
      first = fixture.filename().string() + " line " + std::to_string(i + 1) + " \"" + show(texts[i].substr(0, 200)) +
              "\": " + d;
  }
  EXPECT_EQ(mismatches, 0u) << first;
}

inline fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("bert_emotion_tokenizer_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

inline void write_file(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary);
  out << s;
}

// Writes `base` changed by `edit` as the tokenizer.json of the fresh folder `dir`, loads a tokenizer
// from it and removes the folder. Returns the message of the E the load throws; nullopt (failing the
// test with "`name`: expected `type`") when it throws none.
template <class E>
std::optional<std::string> edited_load_error(const json& base, const std::function<void(json&)>& edit,
                                             const fs::path& dir, const std::string& name, const char* type) {
  json j = base;
  edit(j);
  write_file(dir / "tokenizer.json", j.dump());
  std::optional<std::string> what;
  try {
    Tokenizer::from_model_dir(dir);
    ADD_FAILURE() << name << ": expected " << type;
  } catch (const E& e) {
    what = e.what();
  }
  fs::remove_all(dir);
  return what;
}

}  // namespace tokenizer_fixtures
