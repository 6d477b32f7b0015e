// bert_normalizer.cpp — see bert_normalizer.hpp.
#include "tokenizer/bert_normalizer.hpp"

#include "tokenizer/unicode.hpp"

namespace bert_emotion {
namespace {

inline uint8_t kind_of(uint8_t flags) {
  return (flags & unicode::kCharWhitespace) ? kKindSpace : (flags & unicode::kCharPunctuation) ? kKindPunct : kKindWord;
}

inline void emit(NormalizedText& out, char32_t cp, uint32_t b, uint32_t e) {
  unicode::append_utf8(out.bytes, cp);
  out.pos.push_back(uint32_t(out.bytes.size()));
  out.src_begin.push_back(b);
  out.src_end.push_back(e);
  out.kind.push_back(kind_of(unicode::char_flags(cp)));
}

// strip_accents then lowercase of one character (both per character in HF, in this order).
inline void emit_transformed(const NormalizerSettings& s, NormalizedText& out, char32_t cp, uint32_t b, uint32_t e) {
  char32_t stripped[8];
  size_t n = 1;
  stripped[0] = cp;
  if (s.strip_accents) n = unicode::strip_accents_char(cp, stripped);
  for (size_t i = 0; i < n; ++i) {
    if (!s.lowercase) {
      emit(out, stripped[i], b, e);
      continue;
    }
    char32_t lower[3];
    size_t m = unicode::lowercase_full(stripped[i], lower);
    for (size_t k = 0; k < m; ++k) emit(out, lower[k], b, e);
  }
}

}  // namespace

void bert_normalize(const NormalizerSettings& s, std::string_view text, uint32_t base_offset, NormalizedText& out) {
  out.clear();
  out.bytes.reserve(text.size() + 8);
  out.pos.reserve(text.size() + 9);
  out.src_begin.reserve(text.size() + 8);
  out.src_end.reserve(text.size() + 8);
  out.kind.reserve(text.size() + 8);
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const uint32_t b = base_offset + uint32_t(i);
    if (p[i] < 0x80) {
      // ASCII: no accents, 1:1 lowercase, classification from the flag table.
      char32_t c = p[i];
      ++i;
      const uint32_t e = b + 1;
      if (s.enabled) {
        const uint8_t f = unicode::char_flags(c);
        if (s.clean_text && (f & unicode::kCharControl)) continue;
        if (s.clean_text && (f & unicode::kCharWhitespace)) c = ' ';
        if (s.lowercase && c >= 'A' && c <= 'Z') c += 32;
      }
      emit(out, c, b, e);
      continue;
    }
    size_t len;
    const char32_t cp = unicode::decode_utf8(p + i, len);
    i += len;
    const uint32_t e = b + uint32_t(len);
    if (!s.enabled) {
      emit(out, cp, b, e);
      continue;
    }
    const uint8_t f = unicode::char_flags(cp);
    if (s.clean_text) {
      if (f & unicode::kCharControl) continue;
      if (f & unicode::kCharWhitespace) {
        emit(out, ' ', b, e);
        continue;
      }
    }
    if (s.handle_chinese_chars && (f & unicode::kCharChinese)) {
      emit(out, ' ', b, e);
      emit_transformed(s, out, cp, b, e);
      emit(out, ' ', b, e);
      continue;
    }
    emit_transformed(s, out, cp, b, e);
  }
}

}  // namespace bert_emotion
