// unicode.hpp — the Unicode facts the BERT tokenizer needs, exactly as Hugging Face `tokenizers` sees them.
//
// Also the classes of GPT-2's split pattern for byte-level BPE (\p{L}, \p{N}, \s as the
// bindings' Oniguruma regex sees them, truth in tests/fixtures/tokenizer/unicode_bpe_classes.txt
// from tools/tokenizer-fixtures/unicode_bpe_truth.js). The bindings' Oniguruma tables are
// Unicode 16, newer than utf8proc's: the letters and digits Unicode 16 added (e.g. U+1C89,
// U+105C0 Todhri, U+10D40 Garay digits, U+16100 Gurung Khema) are exceptions; \s is exactly
// White_Space on every code point.
//
// Built on utf8proc 2.8 (Unicode 15: categories, canonical decomposition, simple case mapping)
// plus a generated exception table, src/tokenizer/unicode_exceptions.inc, for the code points
// where Hugging Face's Rust code answers differently: its `unicode_categories` crate is older
// (Unicode 8-era categories: U+2E43, added in Unicode 9, is not punctuation for HF; U+0890, Cf
// for utf8proc, is unassigned and so kept by HF), Rust's to_lowercase is newer (Unicode 16) and
// full (U+0130 -> "i̇", two code points), and its NFD crate is older. The truth tables
// (tests/fixtures/tokenizer/unicode_*.txt) come from one call of the official `tokenizers`
// bindings per code point (tools/tokenizer-fixtures/unicode_truth.js);
// tools/tokenizer-fixtures/gen_unicode_exceptions.cpp diffs them against raw utf8proc and writes
// the .inc; tests/tokenizer_unicode_test.cpp checks all 1,112,064 scalar values.
//
//   uint8_t f = char_flags(cp);
//   if (f & kCharControl) ...;                      // clean_text deletes it
//   char32_t out[3];
//   size_t n = lowercase_full(cp, out);              // 1..3 code points
//   size_t bad = find_invalid_utf8(text);            // npos when valid
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bert_emotion::unicode {

// Bit flags of one code point.
enum : uint8_t {
  kCharControl = 1,      // clean_text deletes it: NUL, U+FFFD, Cc/Cf/Co/Cs except \t \n \r
  kCharWhitespace = 2,   // \t \n \r or Rust char::is_whitespace (White_Space)
  kCharPunctuation = 4,  // ASCII punctuation (33-47, 58-64, 91-96, 123-126) or Unicode P*
  kCharChinese = 8,      // the CJK ideograph ranges BertNormalizer pads with spaces
  // The classes of GPT-2's split pattern (ByteLevel pre-tokenizer), as HF's Oniguruma sees them:
  kCharLetter = 16,      // \p{L}
  kCharNumber = 32,      // \p{N}
  kCharRegexSpace = 64,  // \s
};

uint8_t char_flags(char32_t cp);

// Full lowercase (Rust char::to_lowercase). Writes 1..3 code points to `out`, returns the count.
size_t lowercase_full(char32_t cp, char32_t out[3]);

// BertNormalizer's strip_accents for one code point: canonical decomposition (NFD, Hangul
// included), then nonspacing marks (Mn) dropped. Writes 0..8 code points, returns the count.
// (NFD's canonical reordering of adjacent marks is not applied: after Mn are dropped it can only
// reorder two adjacent non-Mn characters of different nonzero combining classes.)
size_t strip_accents_char(char32_t cp, char32_t out[8]);

// Returns the byte offset of the first invalid UTF-8 sequence in `text`, or npos when it is valid
// (overlong forms, surrogates and code points above U+10FFFF are invalid, as in Rust).
size_t find_invalid_utf8(std::string_view text);

// Decodes the (valid) UTF-8 character at s[i]; sets `len` to its byte length.
inline char32_t decode_utf8(const unsigned char* s, size_t& len) {
  unsigned char c = s[0];
  if (c < 0x80) {
    len = 1;
    return c;
  }
  if (c < 0xE0) {
    len = 2;
    return char32_t((c & 0x1F) << 6 | (s[1] & 0x3F));
  }
  if (c < 0xF0) {
    len = 3;
    return char32_t((c & 0x0F) << 12 | (s[1] & 0x3F) << 6 | (s[2] & 0x3F));
  }
  len = 4;
  return char32_t((c & 0x07) << 18 | (s[1] & 0x3F) << 12 | (s[2] & 0x3F) << 6 | (s[3] & 0x3F));
}

// Appends the UTF-8 encoding of `cp`; returns the number of bytes written (1..4).
inline size_t append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(char(cp));
    return 1;
  }
  if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
    return 2;
  }
  if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
    return 3;
  }
  out.push_back(char(0xF0 | (cp >> 18)));
  out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
  out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
  out.push_back(char(0x80 | (cp & 0x3F)));
  return 4;
}

}  // namespace bert_emotion::unicode
