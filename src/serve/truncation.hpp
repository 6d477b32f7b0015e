// truncation.hpp — TEI / HF-tokenizers truncation applied to a full (untruncated) encoding.
//
// The server encodes every input without truncation first, so that it knows the real length: an
// input over the limit is either rejected (truncate=false: 422 "`inputs` must have less than N
// tokens") or cut here. Special tokens ([CLS], [SEP]) are always kept; content tokens are removed
// from the end (Right, the default) or from the start (Left). For a pair, HF's `longest_first`
// strategy decides how many tokens each side keeps: the shorter side keeps everything if the
// longer one can absorb the cut, else both are cut to half of the budget (the longer original
// getting the odd token). The sides are told apart by the Encoding's sequence_ids (as HF does;
// token types cannot: RoBERTa's are 0 on both sides). Every per-token vector is cut consistently.
//
//   Encoding e = encoder.encode(text);                 // untruncated
//   bool cut = truncate_encoding(e, 512, TruncationDirection::Left);
#pragma once

#include <cstddef>
#include <utility>

#include "tokenizer/tokenizer.hpp"

namespace bert_emotion::serve {

enum class TruncationDirection { Right, Left };

// How many content tokens each side keeps, HF `longest_first`: n1, n2 = content lengths of the
// first / second sequence, budget = max_length minus the special tokens.
std::pair<size_t, size_t> longest_first_lengths(size_t n1, size_t n2, size_t budget);

// Cuts `e` to at most `max_length` tokens. Returns true if anything was removed. Throws
// InvalidArgument when max_length cannot even hold the special tokens, or when `e` (over the
// limit) lacks a sequence id per token.
bool truncate_encoding(Encoding& e, size_t max_length, TruncationDirection direction);

}  // namespace bert_emotion::serve
