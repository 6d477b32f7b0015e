// vocab_table.hpp — string -> id hash table for WordPiece lookups without allocation.
//
// Open addressing (linear probing) over one contiguous byte arena; lookups take a string_view,
// so the hot WordPiece loop probes substrings of the word in place. Immutable after building,
// hence safe to read from many threads.
//
//   VocabTable t;
//   t.insert("hello", 8667);
//   int32_t id = t.find("hello");   // -1 when absent
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bert_emotion {

class VocabTable {
 public:
  // Inserts or overwrites (the last insert of a token wins).
  void insert(std::string_view token, int32_t id);
  int32_t find(std::string_view token) const;  // -1 when absent
  size_t size() const { return count_; }
  size_t max_token_bytes() const { return max_len_; }

  static uint64_t hash(std::string_view s);

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t offset = 0;
    uint32_t length = 0;
    int32_t id = -1;  // -1 = empty
  };
  void grow();
  Slot* probe(std::string_view token, uint64_t h);
  const Slot* probe(std::string_view token, uint64_t h) const;

  std::vector<Slot> slots_;
  std::string arena_;
  size_t count_ = 0;
  size_t max_len_ = 0;
};

}  // namespace bert_emotion
