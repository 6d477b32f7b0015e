// bert_normalizer.hpp — Hugging Face's BertNormalizer with alignments back to the input bytes.
//
// Steps per character, in HF's order: clean_text (delete NUL, U+FFFD and control/format/private
// characters; whitespace -> ' '), handle_chinese_chars (' ' c ' ' around CJK ideographs),
// strip_accents (NFD, drop Mn), lowercase (full mapping, may change length). Every output
// character remembers the byte range of the input character it came from, which is how token
// offsets point back into the original text. The output also carries, per character, what
// BertPreTokenizer needs: whitespace (split and drop) or punctuation (own token).
//
//   NormalizerSettings s{.enabled = true, .lowercase = true, .strip_accents = true};
//   NormalizedText out;
//   bert_normalize(s, "Héllo", /*base_offset=*/0, out);   // out.bytes == "hello"
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bert_emotion {

struct NormalizerSettings {
  bool enabled = false;  // false: text passes through unchanged (tokenizer.json "normalizer": null)
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool strip_accents = false;  // HF: strip_accents.unwrap_or(lowercase), resolved by the loader
  bool lowercase = true;
};

enum CharKind : uint8_t { kKindWord = 0, kKindSpace = 1, kKindPunct = 2 };

// Normalized characters of one text segment, as parallel arrays (char i = bytes[pos[i], pos[i+1])).
struct NormalizedText {
  std::string bytes;
  std::vector<uint32_t> pos;        // size() + 1 entries
  std::vector<uint32_t> src_begin;  // byte range of the source character in the original text
  std::vector<uint32_t> src_end;
  std::vector<uint8_t> kind;  // CharKind for BertPreTokenizer

  size_t size() const { return kind.size(); }
  void clear() {
    bytes.clear();
    pos.assign(1, 0);
    src_begin.clear();
    src_end.clear();
    kind.clear();
  }
};

// Normalizes `text` (valid UTF-8; its byte 0 is at `base_offset` in the original input) into
// `out`, which is cleared first.
void bert_normalize(const NormalizerSettings& settings, std::string_view text, uint32_t base_offset,
                    NormalizedText& out);

}  // namespace bert_emotion
