// tokenizer_unicode_test.cpp — every Unicode scalar value classified exactly as Hugging Face's
// BertNormalizer / BertPreTokenizer / ByteLevel pre-tokenizer do. The truth tables come from the
// official `tokenizers` bindings (tools/tokenizer-fixtures/unicode_truth.js, unicode_bpe_truth.js),
// one normalizer/pre-tokenizer call per code point; this test compares unicode.cpp (utf8proc +
// exceptions) with all 1,112,064 of them.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/unicode.hpp"

using namespace bert_emotion::unicode;

namespace {

std::string fixture(const char* name) { return std::string(FIXTURES_DIR) + "/tokenizer/" + name; }

std::string hex(char32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", unsigned(cp));
  return buf;
}

// "CP MAPPED..." lines -> cp -> mapped code points.
std::map<char32_t, std::vector<char32_t>> read_mapping(const char* name) {
  std::ifstream in(fixture(name));
  EXPECT_TRUE(in.good()) << fixture(name);
  std::map<char32_t, std::vector<char32_t>> m;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream ss(line);
    std::string tok;
    ss >> tok;
    char32_t cp = char32_t(std::stoul(tok, nullptr, 16));
    std::vector<char32_t> to;
    while (ss >> tok) to.push_back(char32_t(std::stoul(tok, nullptr, 16)));
    m[cp] = to;
  }
  return m;
}

bool is_scalar(char32_t cp) { return cp < 0xD800 || (cp > 0xDFFF && cp <= 0x10FFFF); }

// How many scalar values `map_one(cp, out)` (writing at most 8 code points, returning how many)
// maps differently from `truth` (absent: maps to itself). The first 20 are reported as failures.
template <class F>
size_t mapping_mismatches(const std::map<char32_t, std::vector<char32_t>>& truth, F map_one) {
  size_t mismatches = 0;
  for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (!is_scalar(cp)) continue;
    char32_t out[8];
    size_t n = map_one(cp, out);
    std::vector<char32_t> got(out, out + n);
    auto it = truth.find(cp);
    std::vector<char32_t> want = it == truth.end() ? std::vector<char32_t>{cp} : it->second;
    if (got != want && ++mismatches <= 20) {
      std::string g, w;
      for (auto c : got) g += hex(c) + " ";
      for (auto c : want) w += hex(c) + " ";
      ADD_FAILURE() << hex(cp) << ": HF [" << w << "] ours [" << g << "]";
    }
  }
  return mismatches;
}

}  // namespace

TEST(TokenizerUnicode, CleanTextChineseAndPreTokenizerClassesMatchHuggingFace) {
  std::ifstream in(fixture("unicode_classes.txt"));
  ASSERT_TRUE(in.good());
  std::string first, last, norm, pre;
  size_t checked = 0, mismatches = 0;
  char32_t expect_next = 0;
  while (in >> first >> last >> norm >> pre) {
    char32_t a = char32_t(std::stoul(first, nullptr, 16)), b = char32_t(std::stoul(last, nullptr, 16));
    if (expect_next == 0xD800) expect_next = 0xE000;
    ASSERT_EQ(a, expect_next) << "ranges must cover every scalar value";
    expect_next = b + 1;
    for (char32_t cp = a; cp <= b; ++cp) {
      const uint8_t f = char_flags(cp);
      std::string got_norm = (f & kCharControl) ? "D" : (f & kCharWhitespace) ? "W" : (f & kCharChinese) ? "C" : "K";
      std::string got_pre = (f & kCharWhitespace) ? "S" : (f & kCharPunctuation) ? "P" : "N";
      ++checked;
      if (got_norm != norm || got_pre != pre) {
        if (++mismatches <= 20)
          ADD_FAILURE() << hex(cp) << ": HF " << norm << " " << pre << ", ours " << got_norm << " " << got_pre;
      }
    }
  }
  EXPECT_EQ(expect_next, char32_t(0x110000));
  EXPECT_EQ(checked, 1112064u);
  EXPECT_EQ(mismatches, 0u);
}

// GPT-2's split pattern classes (\p{L}, \p{N}, \s, the rest) as the bindings' Oniguruma sees
// them (tools/tokenizer-fixtures/unicode_bpe_truth.js), on every scalar value.
TEST(TokenizerUnicode, ByteLevelSplitClassesMatchHuggingFace) {
  std::ifstream in(fixture("unicode_bpe_classes.txt"));
  ASSERT_TRUE(in.good());
  std::string first, last, cls;
  size_t checked = 0, mismatches = 0;
  char32_t expect_next = 0;
  while (in >> first >> last >> cls) {
    char32_t a = char32_t(std::stoul(first, nullptr, 16)), b = char32_t(std::stoul(last, nullptr, 16));
    if (expect_next == 0xD800) expect_next = 0xE000;
    ASSERT_EQ(a, expect_next) << "ranges must cover every scalar value";
    expect_next = b + 1;
    for (char32_t cp = a; cp <= b; ++cp) {
      const uint8_t f = char_flags(cp);
      const int classes = !!(f & kCharLetter) + !!(f & kCharNumber) + !!(f & kCharRegexSpace);
      const std::string got = classes > 1             ? "several"
                              : (f & kCharLetter)     ? "L"
                              : (f & kCharNumber)     ? "N"
                              : (f & kCharRegexSpace) ? "S"
                                                      : "O";
      ++checked;
      if (got != cls && ++mismatches <= 20) ADD_FAILURE() << hex(cp) << ": HF " << cls << ", ours " << got;
    }
  }
  EXPECT_EQ(expect_next, char32_t(0x110000));
  EXPECT_EQ(checked, 1112064u);
  EXPECT_EQ(mismatches, 0u);
}

TEST(TokenizerUnicode, FullLowercaseMatchesRust) {
  auto truth = read_mapping("unicode_lowercase.txt");
  ASSERT_GT(truth.size(), 1000u);
  ASSERT_EQ(truth.at(0x130), (std::vector<char32_t>{0x69, 0x307}));  // 'İ' -> "i̇", two code points
  EXPECT_EQ(mapping_mismatches(truth, [](char32_t cp, char32_t* out) { return lowercase_full(cp, out); }), 0u);
}

TEST(TokenizerUnicode, NfdThenDropNonspacingMarksMatchesHuggingFace) {
  auto truth = read_mapping("unicode_strip.txt");
  ASSERT_GT(truth.size(), 11172u);                           // at least every Hangul syllable decomposes
  ASSERT_EQ(truth.at(0xE9), (std::vector<char32_t>{0x65}));  // é -> e
  EXPECT_EQ(mapping_mismatches(truth, [](char32_t cp, char32_t* out) { return strip_accents_char(cp, out); }), 0u);
}

TEST(TokenizerUnicode, Utf8ValidationRejectsWhatRustRejects) {
  EXPECT_EQ(find_invalid_utf8("plain ascii text, long enough for the fast path"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("caf\xC3\xA9 \xF0\x9F\x98\x80"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("ab\xC3"), 2u);                                // truncated sequence
  EXPECT_EQ(find_invalid_utf8("abcdefghij\xC0\xAF"), 10u);                   // overlong '/'
  EXPECT_EQ(find_invalid_utf8("x\xED\xA0\x80"), 1u);                         // surrogate U+D800
  EXPECT_EQ(find_invalid_utf8("\xF4\x90\x80\x80"), 0u);                      // above U+10FFFF
  EXPECT_EQ(find_invalid_utf8("\xE0\x80\x80"), 0u);                          // overlong 3-byte
  EXPECT_EQ(find_invalid_utf8("ok\x80"), 2u);                                // stray continuation byte
  EXPECT_EQ(find_invalid_utf8("\xF4\x8F\xBF\xBF"), std::string_view::npos);  // U+10FFFF is valid
}
