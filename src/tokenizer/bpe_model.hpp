// bpe_model.hpp — byte-level BPE (GPT-2 / RoBERTa) as Hugging Face `tokenizers` runs it: GPT-2's
// split pattern (ByteLevel pre-tokenizer), the byte-to-unicode map and merges applied by rank.
//
// A word is a run of UTF-8 bytes; each byte stands for one printable character of GPT-2's
// bytes_to_unicode table (space -> "Ġ", newline -> "Ċ", printable Latin-1 -> itself), and the
// vocabulary and merges are written in those characters. merge_word() starts from one symbol per
// byte and repeatedly applies the lowest-ranked merge present, leftmost on ties, with HF's
// priority queue (models/bpe/word.rs merge_all), stale entries included. Results of words up to
// 64 bytes are cached per thread (thread_local, so concurrent const calls share nothing; the
// cache belongs to one model at a time, told apart by a load-time serial number).
//
//   BpeModel m;                               // filled by the loaders (tokenizer_files.cpp, bpe_files.cpp)
//   m.add_token("Ġhello", 23748); ...; m.add_merge(a, b, ab); m.finish();
//   size_t end = gpt2_split_end(text, 0);    // the first pre-tokenized word is text[0, end)
//   m.merge_word(text.substr(0, end), symbols);   // (id, byte range) per token
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/vocab_table.hpp"

namespace bert_emotion {

// GPT-2's printable character for a byte, as UTF-8 ("Ġ" for 0x20).
const std::string& byte_level_char(uint8_t byte);

// End of the match of GPT-2's pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// starting at byte `i` of the valid UTF-8 text `s` (first matching alternative wins, as in
// Oniguruma; every position matches). Classes from unicode::char_flags.
size_t gpt2_split_end(std::string_view s, size_t i);

struct BpeSymbol {
  int32_t id;
  uint32_t begin, end;  // byte range in the word
};

class BpeModel {
 public:
  void add_token(const std::string& token, int32_t id);
  // false when a or b or a+b is not a vocabulary token (the caller reports the merge's place).
  bool add_merge(std::string_view a, std::string_view b);
  // After the vocabulary and merges: the byte symbols, unk.
  void finish();

  int32_t find(std::string_view token) const { return vocab_.find(token); }
  size_t size() const { return vocab_.size(); }
  const std::string& token(int32_t id) const;  // "" for an unknown id

  // Byte-level BPE of one pre-tokenized word (raw bytes). Appends one symbol per token.
  void merge_word(std::string_view word, std::vector<BpeSymbol>& out) const;

  // Settings from the files.
  std::string unk_token;  // empty: bytes missing from the vocabulary are dropped
  bool fuse_unk = false;
  bool ignore_merges = false;  // a word that is a vocabulary token is not split

 private:
  struct Merge {
    uint64_t key = 0;   // left id << 32 | right id
    int32_t rank = -1;  // -1: empty slot
    int32_t new_id = -1;
  };
  const Merge* find_merge(int32_t left, int32_t right) const;
  void grow_merges();

  VocabTable vocab_;
  // id -> token, read once per token by encode: a vector for the ids below dense_tokens_.size(), a
  // map for the rest. A file may give ids anywhere in [0, 2^30] (Hugging Face's vocab_r is a map),
  // so finish() sizes the vector by the vocabulary (ids below 2 x its size + 256), not the largest id.
  std::vector<std::string> dense_tokens_;
  std::unordered_map<int32_t, std::string> sparse_tokens_;
  std::vector<Merge> merges_;  // open addressing, power-of-two size
  size_t merge_count_ = 0;
  int32_t byte_ids_[256] = {};  // id of each byte's character, -1 when absent
  int32_t unk_id_ = -1;
  uint64_t serial_ = 0;  // set by finish(): which model a thread's cache holds

  void merge_uncached(std::string_view word, std::vector<BpeSymbol>& out) const;
};

}  // namespace bert_emotion
