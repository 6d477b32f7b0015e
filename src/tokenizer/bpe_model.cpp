// bpe_model.cpp — GPT-2's split pattern, the byte-to-unicode map and rank-ordered merges (see
// bpe_model.hpp). Semantics from Hugging Face `tokenizers`: pre_tokenizers/byte_level.rs,
// models/bpe/model.rs (merge_word) and models/bpe/word.rs (merge_all).
#include "tokenizer/bpe_model.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <unordered_map>
#include <utility>

#include "tokenizer/unicode.hpp"

namespace bert_emotion {
namespace {

// GPT-2's bytes_to_unicode: the 188 printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') map to
// themselves, the other 68 to U+0100, U+0101, ... in byte order.
const std::array<std::string, 256>& byte_chars() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      unicode::append_utf8(t[size_t(b)], printable ? char32_t(b) : next++);
    }
    return t;
  }();
  return table;
}

enum class SplitClass : uint8_t { kLetter, kNumber, kSpace, kOther };

SplitClass class_of_flags(uint8_t f) {
  if (f & unicode::kCharLetter) return SplitClass::kLetter;
  if (f & unicode::kCharNumber) return SplitClass::kNumber;
  if (f & unicode::kCharRegexSpace) return SplitClass::kSpace;
  return SplitClass::kOther;
}

const std::array<SplitClass, 128>& ascii_classes() {
  static const std::array<SplitClass, 128> table = [] {
    std::array<SplitClass, 128> t{};
    for (char32_t c = 0; c < 128; ++c) t[c] = class_of_flags(unicode::char_flags(c));
    return t;
  }();
  return table;
}

// Class of the character at p (valid UTF-8); sets len to its byte length.
inline SplitClass class_at(const unsigned char* p, size_t& len) {
  if (p[0] < 0x80) {
    len = 1;
    return ascii_classes()[p[0]];
  }
  return class_of_flags(unicode::char_flags(unicode::decode_utf8(p, len)));
}

struct Symbol {
  int32_t id;
  uint32_t begin, end;
  int32_t prev, next;
  bool removed;
};

struct QueueEntry {
  int32_t rank;
  int32_t pos;
  int32_t new_id;
};

// std heap functions build a max-heap; "greater" here means popped later: lowest rank, then
// leftmost position, comes out first (HF's Merge ordering).
bool later(const QueueEntry& x, const QueueEntry& y) { return x.rank != y.rank ? x.rank > y.rank : x.pos > y.pos; }

uint64_t merge_key(int32_t left, int32_t right) { return uint64_t(uint32_t(left)) << 32 | uint32_t(right); }

size_t merge_hash(uint64_t key) { return size_t((key * 0x9E3779B97F4A7C15ull) >> 20); }

// Per-thread word -> tokens cache of one model (the last one this thread used).
struct WordCache {
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  static constexpr size_t kMaxWordBytes = 64;
  static constexpr size_t kMaxEntries = 1 << 16;  // then start over: bounded memory
  uint64_t serial = 0;
  std::unordered_map<std::string, std::vector<BpeSymbol>, Hash, std::equal_to<>> words;
};

std::atomic<uint64_t> next_serial{1};

}  // namespace

const std::string& byte_level_char(uint8_t byte) { return byte_chars()[byte]; }

size_t gpt2_split_end(std::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  if (p[i] == '\'' && i + 1 < n) {  // 's 't 're 've 'm 'll 'd (lowercase only)
    const unsigned char c = p[i + 1];
    if (c == 's' || c == 't' || c == 'm' || c == 'd') return i + 2;
    if (i + 2 < n) {
      const unsigned char c2 = p[i + 2];
      if ((c == 'r' && c2 == 'e') || (c == 'v' && c2 == 'e') || (c == 'l' && c2 == 'l')) return i + 3;
    }
  }
  size_t len;
  SplitClass cls = class_at(p + i, len);
  size_t run = i + len;
  if (p[i] == ' ' && i + 1 < n) {  // " ?X+": only U+0020 is the optional leading space
    size_t len2;
    const SplitClass next = class_at(p + i + 1, len2);
    if (next != SplitClass::kSpace) {
      cls = next;
      run = i + 1 + len2;
    }
  }
  if (cls != SplitClass::kSpace) {
    while (run < n && class_at(p + run, len) == cls) run += len;
    return run;
  }
  // \s+(?!\S) takes the run but its last character when a non-space follows; \s+ the run.
  size_t last = i, count = 1;
  while (run < n && class_at(p + run, len) == SplitClass::kSpace) {
    last = run;
    run += len;
    ++count;
  }
  if (run == n || count == 1) return run;
  return last;
}

void BpeModel::add_token(const std::string& token, int32_t id) {
  vocab_.insert(token, id);
  if (size_t(id) < dense_tokens_.size()) dense_tokens_[size_t(id)] = token;  // after finish()
  else sparse_tokens_[id] = token;
}

const std::string& BpeModel::token(int32_t id) const {
  static const std::string kEmpty;
  if (id >= 0 && size_t(id) < dense_tokens_.size()) return dense_tokens_[size_t(id)];
  const auto it = sparse_tokens_.find(id);
  return it == sparse_tokens_.end() ? kEmpty : it->second;
}

const BpeModel::Merge* BpeModel::find_merge(int32_t left, int32_t right) const {
  if (merges_.empty()) return nullptr;
  const uint64_t key = merge_key(left, right);
  const size_t mask = merges_.size() - 1;
  for (size_t i = merge_hash(key) & mask;; i = (i + 1) & mask) {
    const Merge& m = merges_[i];
    if (m.rank < 0) return nullptr;
    if (m.key == key) return &m;
  }
}

void BpeModel::grow_merges() {
  std::vector<Merge> old = std::move(merges_);
  merges_.assign(std::max<size_t>(1024, old.size() * 2), Merge{});
  const size_t mask = merges_.size() - 1;
  for (const Merge& m : old) {
    if (m.rank < 0) continue;
    size_t i = merge_hash(m.key) & mask;
    while (merges_[i].rank >= 0) i = (i + 1) & mask;
    merges_[i] = m;
  }
}

bool BpeModel::add_merge(std::string_view a, std::string_view b) {
  const int32_t left = vocab_.find(a), right = vocab_.find(b);
  std::string joined;
  joined.reserve(a.size() + b.size());
  joined.append(a).append(b);
  const int32_t new_id = vocab_.find(joined);
  if (left < 0 || right < 0 || new_id < 0) return false;
  const auto rank = int32_t(merge_count_);
  if ((merge_count_ + 1) * 2 > merges_.size()) grow_merges();
  const uint64_t key = merge_key(left, right);
  const size_t mask = merges_.size() - 1;
  size_t i = merge_hash(key) & mask;
  while (merges_[i].rank >= 0 && merges_[i].key != key) i = (i + 1) & mask;
  if (merges_[i].rank >= 0) return true;  // a repeated merge keeps its first (lowest) rank
  merges_[i] = {key, rank, new_id};
  ++merge_count_;
  return true;
}

void BpeModel::finish() {
  for (int b = 0; b < 256; ++b) byte_ids_[b] = vocab_.find(byte_level_char(uint8_t(b)));
  unk_id_ = unk_token.empty() ? -1 : vocab_.find(unk_token);
  // Ids below the final bound move to the vector; memory stays proportional to the vocabulary.
  const size_t dense = 2 * vocab_.size() + 256;
  if (dense_tokens_.size() < dense) dense_tokens_.resize(dense);
  for (auto it = sparse_tokens_.begin(); it != sparse_tokens_.end();)
    if (size_t(it->first) < dense) {
      dense_tokens_[size_t(it->first)] = std::move(it->second);
      it = sparse_tokens_.erase(it);
    } else {
      ++it;
    }
  serial_ = next_serial.fetch_add(1);
}

void BpeModel::merge_word(std::string_view word, std::vector<BpeSymbol>& out) const {
  if (word.size() > WordCache::kMaxWordBytes) return merge_uncached(word, out);
  thread_local WordCache cache;
  if (cache.serial != serial_ || cache.words.size() >= WordCache::kMaxEntries) {
    cache.words.clear();
    cache.serial = serial_;
  }
  if (auto it = cache.words.find(word); it != cache.words.end()) {
    out.insert(out.end(), it->second.begin(), it->second.end());
    return;
  }
  const size_t first = out.size();
  merge_uncached(word, out);
  cache.words.emplace(std::string(word), std::vector<BpeSymbol>(out.begin() + std::ptrdiff_t(first), out.end()));
}

void BpeModel::merge_uncached(std::string_view word, std::vector<BpeSymbol>& out) const {
  const auto* p = reinterpret_cast<const unsigned char*>(word.data());
  if (ignore_merges) {
    thread_local std::string mapped;
    mapped.clear();
    for (size_t i = 0; i < word.size(); ++i) mapped += byte_level_char(p[i]);
    if (int32_t id = vocab_.find(mapped); id >= 0) {
      out.push_back({id, 0, uint32_t(word.size())});
      return;
    }
  }
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<QueueEntry> queue;
  symbols.clear();
  queue.clear();
  // One symbol per byte; a byte missing from the vocabulary becomes unk (consecutive ones fused
  // when fuse_unk), or is dropped when the model has no unk token.
  for (uint32_t i = 0; i < word.size(); ++i) {
    int32_t id = byte_ids_[p[i]];
    if (id < 0) {
      if (unk_id_ < 0) continue;
      if (fuse_unk && !symbols.empty() && symbols.back().id == unk_id_ && symbols.back().end == i &&
          byte_ids_[p[i - 1]] < 0) {
        symbols.back().end = i + 1;
        continue;
      }
      id = unk_id_;
    }
    const auto k = int32_t(symbols.size());
    symbols.push_back({id, i, i + 1, k - 1, k + 1, false});
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;
  for (size_t k = 0; k + 1 < symbols.size(); ++k)
    if (const Merge* m = find_merge(symbols[k].id, symbols[k + 1].id))
      queue.push_back({m->rank, int32_t(k), m->new_id});
  std::make_heap(queue.begin(), queue.end(), later);
  auto push = [&](int32_t pos, const Merge* m) {
    queue.push_back({m->rank, pos, m->new_id});
    std::push_heap(queue.begin(), queue.end(), later);
  };
  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end(), later);
    const QueueEntry top = queue.back();
    queue.pop_back();
    Symbol& cur = symbols[size_t(top.pos)];
    if (cur.removed || cur.next < 0) continue;
    Symbol& right = symbols[size_t(cur.next)];
    const Merge* m = find_merge(cur.id, right.id);
    if (!m || m->new_id != top.new_id) continue;  // a stale entry
    cur.id = top.new_id;
    cur.end = right.end;
    right.removed = true;
    cur.next = right.next;
    if (cur.next >= 0) symbols[size_t(cur.next)].prev = top.pos;
    if (cur.prev >= 0)
      if (const Merge* pm = find_merge(symbols[size_t(cur.prev)].id, cur.id)) push(cur.prev, pm);
    if (cur.next >= 0)
      if (const Merge* nm = find_merge(cur.id, symbols[size_t(cur.next)].id)) push(top.pos, nm);
  }
  for (const Symbol& s : symbols)
    if (!s.removed) out.push_back({s.id, s.begin, s.end});
}

}  // namespace bert_emotion
