// vocab_table.cpp — see vocab_table.hpp.
#include "tokenizer/vocab_table.hpp"

#include <cstring>

namespace bert_emotion {

uint64_t VocabTable::hash(std::string_view s) {
  // 8 bytes at a time, multiply-xorshift mixing; tokens are short, so this is a few multiplies.
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xFF51AFD7ED558CCDull);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  for (size_t i = 0; i < n; ++i) w |= uint64_t(p[i]) << (8 * i);
  h = (h ^ w) * 0x94D049BB133111EBull;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 32;
  return h;
}

const VocabTable::Slot* VocabTable::probe(std::string_view token, uint64_t h) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = size_t(h) & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.id < 0) return &s;
    if (s.hash == h && s.length == token.size() &&
        std::memcmp(arena_.data() + s.offset, token.data(), token.size()) == 0)
      return &s;
  }
}

VocabTable::Slot* VocabTable::probe(std::string_view token, uint64_t h) {
  return const_cast<Slot*>(static_cast<const VocabTable*>(this)->probe(token, h));
}

void VocabTable::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
  const size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.id < 0) continue;
    size_t i = size_t(s.hash) & mask;
    while (slots_[i].id >= 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

void VocabTable::insert(std::string_view token, int32_t id) {
  if ((count_ + 1) * 2 > slots_.size()) grow();  // load factor <= 1/2 keeps probes short
  const uint64_t h = hash(token);
  Slot* s = probe(token, h);
  if (s->id >= 0) {
    s->id = id;
    return;
  }
  s->hash = h;
  s->offset = uint32_t(arena_.size());
  s->length = uint32_t(token.size());
  s->id = id;
  arena_.append(token);
  ++count_;
  if (token.size() > max_len_) max_len_ = token.size();
}

int32_t VocabTable::find(std::string_view token) const {
  if (slots_.empty()) return -1;
  return probe(token, hash(token))->id;
}

}  // namespace bert_emotion
