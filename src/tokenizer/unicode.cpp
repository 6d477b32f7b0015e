// unicode.cpp — code point classification for the BERT tokenizer (see unicode.hpp).
//
// Raw answers come from utf8proc; unicode_exceptions.inc (generated, see unicode.hpp) overrides
// them where Hugging Face differs. Building with BERT_EMOTION_UNICODE_RAW leaves the exceptions
// out: that is how the generator sees the raw utf8proc answers it diffs against.
#include "tokenizer/unicode.hpp"

#include <utf8proc.h>

#include <algorithm>
#include <array>

namespace bert_emotion::unicode {
namespace {

struct FlagException {
  char32_t first, last;
  uint8_t flags;  // every kChar* flag, as HF sees them
};
struct MappingException {
  char32_t cp;
  uint8_t count;
  char32_t to[4];
};

#ifndef BERT_EMOTION_UNICODE_RAW
#include "tokenizer/unicode_exceptions.inc"
#else
constexpr FlagException kFlagExceptions[] = {{0x110000, 0x110000, 0}};
constexpr MappingException kLowercaseExceptions[] = {{0x110000, 0, {}}};
constexpr MappingException kStripExceptions[] = {{0x110000, 0, {}}};
#endif

constexpr uint8_t kClassFlags =
    kCharControl | kCharWhitespace | kCharPunctuation | kCharChinese | kCharLetter | kCharNumber | kCharRegexSpace;

// Rust's char::is_whitespace is the Unicode White_Space property: a small, stable set.
bool is_white_space_property(char32_t cp) {
  switch (cp) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000: return true;
    default: return cp >= 0x2000 && cp <= 0x200A;
  }
}

// BertNormalizer::is_chinese_char, ranges copied from tokenizers/src/normalizers/bert.rs
// (including its 2B920 start, which differs from the Unicode block start 2B820).
bool is_chinese_char(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool is_ascii_punctuation(char32_t cp) {
  return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
}

utf8proc_category_t category(char32_t cp) {
  return utf8proc_category_t(utf8proc_get_property(utf8proc_int32_t(cp))->category);
}

uint8_t raw_flags(char32_t cp) {
  if (cp > 0x10FFFF) return 0;
  const auto cat = category(cp);
  const bool tab_nl_cr = cp == '\t' || cp == '\n' || cp == '\r';
  // HF is_control: unicode_categories' is_other() = Cc | Cf | Co | Cs (unassigned code points are
  // kept, as the official bindings show: U+0378, U+FFFE, U+10FFFF become [UNK]).
  const bool other = cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_CO ||
                     cat == UTF8PROC_CATEGORY_CS;
  uint8_t f = 0;
  if (cp == 0 || cp == 0xFFFD || (other && !tab_nl_cr)) f |= kCharControl;
  if (is_white_space_property(cp)) f |= kCharWhitespace;
  if (is_ascii_punctuation(cp) || (cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO)) f |= kCharPunctuation;
  if (is_chinese_char(cp)) f |= kCharChinese;
  if (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) f |= kCharLetter;
  if (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO) f |= kCharNumber;
  if (is_white_space_property(cp)) f |= kCharRegexSpace;  // Oniguruma's Unicode \s: White_Space
  return f;
}

uint8_t compute_flags(char32_t cp) {
  const auto* end = std::end(kFlagExceptions);
  const auto* it = std::upper_bound(std::begin(kFlagExceptions), end, cp,
                                    [](char32_t c, const FlagException& e) { return c < e.first; });
  if (it != std::begin(kFlagExceptions)) {
    --it;
    if (cp >= it->first && cp <= it->last) return it->flags;
  }
  return raw_flags(cp);
}

// Flags of the Basic Multilingual Plane, computed once (64 KiB); other planes on demand.
const std::array<uint8_t, 0x10000>& bmp_flags() {
  static const std::array<uint8_t, 0x10000> table = [] {
    std::array<uint8_t, 0x10000> t{};
    for (char32_t cp = 0; cp < 0x10000; ++cp) t[cp] = compute_flags(cp);
    return t;
  }();
  return table;
}

const MappingException* find_mapping(const MappingException* begin, const MappingException* end, char32_t cp) {
  const auto* it = std::lower_bound(begin, end, cp, [](const MappingException& e, char32_t c) { return e.cp < c; });
  return (it != end && it->cp == cp) ? it : nullptr;
}

}  // namespace

static_assert((kClassFlags & 0x80) == 0);

uint8_t char_flags(char32_t cp) {
  if (cp < 0x10000) return bmp_flags()[cp];
  return compute_flags(cp);
}

size_t lowercase_full(char32_t cp, char32_t out[3]) {
  if (cp < 0x80) {
    out[0] = (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
    return 1;
  }
  if (const auto* e = find_mapping(std::begin(kLowercaseExceptions), std::end(kLowercaseExceptions), cp)) {
    std::copy(e->to, e->to + e->count, out);
    return e->count;
  }
  out[0] = char32_t(utf8proc_tolower(utf8proc_int32_t(cp)));
  return 1;
}

size_t strip_accents_char(char32_t cp, char32_t out[8]) {
  if (cp < 0x80) {
    out[0] = cp;
    return 1;
  }
  if (const auto* e = find_mapping(std::begin(kStripExceptions), std::end(kStripExceptions), cp)) {
    std::copy(e->to, e->to + e->count, out);
    return e->count;
  }
  utf8proc_int32_t buf[8];
  int last_boundclass = 0;
  utf8proc_ssize_t n = utf8proc_decompose_char(utf8proc_int32_t(cp), buf, 8, UTF8PROC_DECOMPOSE, &last_boundclass);
  if (n <= 0 || n > 8) {
    buf[0] = utf8proc_int32_t(cp);
    n = 1;
  }
  size_t count = 0;
  for (utf8proc_ssize_t i = 0; i < n; ++i)
    if (category(char32_t(buf[i])) != UTF8PROC_CATEGORY_MN) out[count++] = char32_t(buf[i]);
  return count;
}

size_t find_invalid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // ASCII fast path: 8 bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      __builtin_memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    char32_t min;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      min = 0x10000;
    } else return i;
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k)
      if ((s[i + k] & 0xC0) != 0x80) return i;
    size_t dummy;
    char32_t cp = decode_utf8(s + i, dummy);
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace bert_emotion::unicode
