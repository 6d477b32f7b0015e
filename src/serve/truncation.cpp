// truncation.cpp — see truncation.hpp.
#include "serve/truncation.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "util/error.hpp"

namespace bert_emotion::serve {

std::pair<size_t, size_t> longest_first_lengths(size_t n1, size_t n2, size_t budget) {
  if (n1 + n2 <= budget) return {n1, n2};
  // Same steps as tokenizers' truncate_encodings (LongestFirst): work with a <= b.
  const bool swapped = n1 > n2;
  size_t a = swapped ? n2 : n1;
  size_t b = swapped ? n1 : n2;
  b = a > budget ? a : std::max(a, budget - a);
  if (a + b > budget) {
    a = budget / 2;
    b = a + budget % 2;
  }
  if (swapped) std::swap(a, b);
  return {std::min(a, n1), std::min(b, n2)};
}

namespace {

template <class T>
void keep_where(std::vector<T>& v, const std::vector<uint8_t>& keep) {
  if (v.size() != keep.size()) return;  // an optional vector the tokenizer left empty
  size_t out = 0;
  for (size_t i = 0; i < v.size(); ++i)
    if (keep[i]) v[out++] = std::move(v[i]);
  v.resize(out);
}

}  // namespace

bool truncate_encoding(Encoding& e, size_t max_length, TruncationDirection direction) {
  const size_t n = e.ids.size();
  if (n <= max_length) return false;
  auto is_special = [&](size_t i) { return i < e.special_tokens_mask.size() && e.special_tokens_mask[i] != 0; };
  // The pair's second side by sequence id, not token type: RoBERTa's pairs are type 0 throughout.
  if (e.sequence_ids.size() != n)
    throw InvalidArgument("truncation: the encoding has " + std::to_string(e.sequence_ids.size()) +
                          " sequence ids for " + std::to_string(n) + " tokens");
  auto is_second = [&](size_t i) { return e.sequence_ids[i] == 1; };

  size_t specials = 0, n1 = 0, n2 = 0;
  for (size_t i = 0; i < n; ++i) {
    if (is_special(i)) ++specials;
    else if (is_second(i)) ++n2;
    else ++n1;
  }
  if (max_length < specials)
    throw InvalidArgument("truncation to " + std::to_string(max_length) + " tokens cannot keep the " +
                          std::to_string(specials) + " special tokens");
  const auto [keep1, keep2] = longest_first_lengths(n1, n2, max_length - specials);

  std::vector<uint8_t> keep(n, 0);
  size_t seen1 = 0, seen2 = 0;
  for (size_t i = 0; i < n; ++i) {
    if (is_special(i)) {
      keep[i] = 1;
      continue;
    }
    const bool second = is_second(i);
    const size_t index = second ? seen2++ : seen1++;
    const size_t total = second ? n2 : n1;
    const size_t kept = second ? keep2 : keep1;
    keep[i] = direction == TruncationDirection::Right ? index < kept : index >= total - kept;
  }
  keep_where(e.ids, keep);
  keep_where(e.tokens, keep);
  keep_where(e.offsets, keep);
  keep_where(e.special_tokens_mask, keep);
  keep_where(e.type_ids, keep);
  keep_where(e.sequence_ids, keep);
  return true;
}

}  // namespace bert_emotion::serve
