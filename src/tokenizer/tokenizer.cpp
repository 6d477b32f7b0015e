// tokenizer.cpp — the encode pipeline: added tokens -> BertNormalizer -> BertPreTokenizer ->
// WordPiece (or: added tokens -> ByteLevel pre-tokenizer -> byte-level BPE) -> truncation ->
// offset trimming -> post-processor, mirroring Hugging Face `tokenizers`
// (tokenizer/mod.rs encode_single_sequence, added_vocabulary.rs find_matches,
// models/wordpiece/mod.rs tokenize, pre_tokenizers/byte_level.rs, utils/truncation.rs
// truncate_encodings).
#include "tokenizer/tokenizer.hpp"

#include <utf8proc.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "tokenizer/tokenizer_impl.hpp"
#include "tokenizer/unicode.hpp"
#include "util/error.hpp"

namespace bert_emotion {
namespace {

// Output of one sequence before post-processing. `tokens` is filled only when wanted.
struct SequenceTokens {
  std::vector<int32_t> ids;
  std::vector<std::pair<uint32_t, uint32_t>> offsets;
  std::vector<std::string> tokens;
  std::vector<uint32_t> word_ends;  // ids.size() after each pre-tokenized word / added token
  std::string_view text;            // the input the offsets point into
  bool want_strings = true;

  void clear() {
    ids.clear();
    offsets.clear();
    tokens.clear();
    word_ends.clear();
  }
  void end_word() { word_ends.push_back(uint32_t(ids.size())); }
  // Tokens of the whole words needed to reach `limit` tokens (all when there are fewer).
  size_t whole_words_reaching(size_t limit) const {
    for (uint32_t e : word_ends)
      if (e >= limit) return e;
    return ids.size();
  }
  void push(int32_t id, uint32_t b, uint32_t e, std::string_view a, std::string_view bpart = {}) {
    ids.push_back(id);
    offsets.emplace_back(b, e);
    if (want_strings) {
      std::string s;
      s.reserve(a.size() + bpart.size());
      s.append(a).append(bpart);
      tokens.push_back(std::move(s));
    }
  }
};

struct Scratch {
  NormalizedText norm;
  std::vector<std::pair<int32_t, uint32_t>> pieces;  // (id, end char) of the word being split
  std::string prefixed;                              // a BPE piece with add_prefix_space's space
  std::vector<BpeSymbol> symbols;                    // BPE tokens of one word
};

// ---- added tokens -------------------------------------------------------------------------------

struct Match {
  size_t begin = 0, end = 0;
  const AddedToken* token = nullptr;
};

// Leftmost-longest match at or after `from`.
bool find_added(const AddedTokenMatcher& m, std::string_view s, size_t from, Match& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = from; i < s.size(); ++i) {
    if (!m.first_byte[p[i]]) continue;
    const AddedToken* best = nullptr;
    for (const AddedToken* t : m.tokens) {
      const size_t len = t->content.size();
      if (len <= s.size() - i && (!best || len > best->content.size()) &&
          std::memcmp(s.data() + i, t->content.data(), len) == 0)
        best = t;
    }
    if (best) {
      out = {i, i + best->content.size(), best};
      return true;
    }
  }
  return false;
}

// Regex \w (Unicode): alphabetic, marks, decimal digits, connector punctuation, join controls.
bool is_word_char(char32_t cp) {
  if (cp == 0x200C || cp == 0x200D) return true;
  switch (utf8proc_category(utf8proc_int32_t(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_PC: return true;
    default: return false;
  }
}

char32_t last_char(std::string_view s) {
  size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  size_t len;
  return unicode::decode_utf8(reinterpret_cast<const unsigned char*>(s.data() + i), len);
}

char32_t first_char(std::string_view s) {
  size_t len;
  return unicode::decode_utf8(reinterpret_cast<const unsigned char*>(s.data()), len);
}

bool is_space(char32_t cp) { return (unicode::char_flags(cp) & unicode::kCharWhitespace) != 0; }

// Splits `s` around added-token matches (HF AddedVocabulary::find_matches): calls
// on_text(begin, end) for the text between matches and on_token(token, begin, end) for matches,
// in order. Offsets are byte offsets into `s`.
template <typename OnText, typename OnToken>
void split_added(const AddedTokenMatcher& m, std::string_view s, OnText&& on_text, OnToken&& on_token) {
  size_t start_offset = 0, search = 0;
  Match mt;
  while (!m.empty() && find_added(m, s, search, mt)) {
    search = mt.end;
    size_t start = mt.begin, stop = mt.end;
    const AddedToken& t = *mt.token;
    if (t.single_word) {
      const bool start_space = start == 0 || !is_word_char(last_char(s.substr(0, start)));
      const bool stop_space = stop == s.size() || !is_word_char(first_char(s.substr(stop)));
      if (!start_space || !stop_space) continue;
    }
    if (t.lstrip) {
      size_t b = start;
      while (b > 0) {
        size_t k = b - 1;
        while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
        if (!is_space(first_char(s.substr(k)))) break;
        b = k;
      }
      start = std::max(b, start_offset);
    }
    if (t.rstrip) {
      while (stop < s.size()) {
        size_t len;
        char32_t c = unicode::decode_utf8(reinterpret_cast<const unsigned char*>(s.data() + stop), len);
        if (!is_space(c)) break;
        stop += len;
      }
    }
    if (start_offset < start) on_text(start_offset, start);
    on_token(t, start, stop);
    start_offset = stop;
  }
  if (start_offset < s.size()) on_text(start_offset, s.size());
}

// ---- WordPiece ----------------------------------------------------------------------------------

// One pre-tokenized word = normalized chars [first, last).
void wordpiece(const TokenizerImpl& tk, const NormalizedText& n, size_t first, size_t last, Scratch& scratch,
               SequenceTokens& out) {
  const uint32_t word_begin = n.src_begin[first], word_end = n.src_end[last - 1];
  if (last - first > tk.max_input_chars_per_word) {
    out.push(tk.unk_id, word_begin, word_end, tk.unk_token);
    out.end_word();
    return;
  }
  const char* bytes = n.bytes.data();
  auto& pieces = scratch.pieces;
  pieces.clear();
  size_t start = first;
  while (start < last) {
    const bool initial = start == first;
    const VocabTable& table = initial ? tk.vocab : tk.continuation;
    const size_t limit = table.max_token_bytes();
    size_t end = last;
    while (end > start && n.pos[end] - n.pos[start] > limit) --end;
    int32_t id = -1;
    for (; end > start; --end) {
      id = table.find(std::string_view(bytes + n.pos[start], n.pos[end] - n.pos[start]));
      if (id >= 0) break;
    }
    if (id < 0) {
      out.push(tk.unk_id, word_begin, word_end, tk.unk_token);
      out.end_word();
      return;
    }
    pieces.emplace_back(id, uint32_t(end));
    start = end;
  }
  start = first;
  for (const auto& [id, end] : pieces) {
    std::string_view piece(bytes + n.pos[start], n.pos[end] - n.pos[start]);
    if (start == first) out.push(id, n.src_begin[start], n.src_end[end - 1], piece);
    else out.push(id, n.src_begin[start], n.src_end[end - 1], tk.prefix, piece);
    start = end;
  }
  out.end_word();
}

// BertPreTokenizer over normalized chars [first, last): whitespace splits and is dropped, each
// punctuation char is a word of its own.
void pre_tokenize_and_wordpiece(const TokenizerImpl& tk, const NormalizedText& n, size_t first, size_t last,
                                Scratch& scratch, SequenceTokens& out) {
  size_t i = first;
  while (i < last) {
    const uint8_t k = n.kind[i];
    if (k == kKindSpace) {
      ++i;
    } else if (k == kKindPunct) {
      wordpiece(tk, n, i, i + 1, scratch, out);
      ++i;
    } else {
      size_t j = i + 1;
      while (j < last && n.kind[j] == kKindWord) ++j;
      wordpiece(tk, n, i, j, scratch, out);
      i = j;
    }
  }
}

// A normalized segment: normalized added tokens first, the rest through the model.
void tokenize_normalized(const TokenizerImpl& tk, const NormalizedText& n, Scratch& scratch, SequenceTokens& out) {
  if (tk.normalized_matcher.empty()) {
    pre_tokenize_and_wordpiece(tk, n, 0, n.size(), scratch, out);
    return;
  }
  // Byte offsets in n.bytes -> char indices (matches start and end on char boundaries).
  auto char_at = [&](size_t byte) {
    return size_t(std::lower_bound(n.pos.begin(), n.pos.end(), uint32_t(byte)) - n.pos.begin());
  };
  split_added(
      tk.normalized_matcher, n.bytes,
      [&](size_t b, size_t e) { pre_tokenize_and_wordpiece(tk, n, char_at(b), char_at(e), scratch, out); },
      [&](const AddedToken& t, size_t b, size_t e) {
        size_t cb = char_at(b), ce = char_at(e);
        out.push(t.id, n.src_begin[cb], n.src_end[ce - 1], std::string_view(n.bytes).substr(b, e - b));
        out.end_word();
      });
}

// ---- byte-level BPE ------------------------------------------------------------------------------

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// A piece of the text between added tokens, text[b, e): ByteLevel pre-tokenizer (optional prefix
// space, GPT-2 split) and BPE per word. A token's offsets span the characters its bytes belong
// to; add_prefix_space's space belongs to the piece's first character (HF's prepend alignment).
void byte_level_bpe(const TokenizerImpl& tk, std::string_view text, size_t b, size_t e, Scratch& scratch,
                    SequenceTokens& out) {
  std::string_view piece = text.substr(b, e - b);
  size_t shift = 0;
  if (tk.add_prefix_space && piece.front() != ' ') {
    scratch.prefixed.assign(1, ' ').append(piece);
    piece = scratch.prefixed;
    shift = 1;
  }
  auto char_begin = [&](size_t q) {  // q: byte in `piece`
    size_t t = b + (q < shift ? 0 : q - shift);
    while (t > b && is_continuation(static_cast<unsigned char>(text[t]))) --t;
    return uint32_t(t);
  };
  auto char_end = [&](size_t q) {  // end of the character holding byte q of `piece`
    size_t t = b + (q < shift ? 0 : q - shift) + 1;
    while (t < e && is_continuation(static_cast<unsigned char>(text[t]))) ++t;
    return uint32_t(t);
  };
  for (size_t i = 0; i < piece.size();) {
    const size_t j = tk.use_regex ? gpt2_split_end(piece, i) : piece.size();
    scratch.symbols.clear();
    tk.bpe.merge_word(piece.substr(i, j - i), scratch.symbols);
    for (const BpeSymbol& sym : scratch.symbols)
      out.push(sym.id, char_begin(i + sym.begin), char_end(i + sym.end - 1), tk.bpe.token(sym.id));
    out.end_word();
    i = j;
  }
}

// Leading / trailing characters of `token` that are "Ġ" (U+0120) or whitespace.
std::pair<size_t, size_t> space_run_lengths(std::string_view token) {
  const auto* p = reinterpret_cast<const unsigned char*>(token.data());
  auto spacey = [](char32_t c) { return c == 0x120 || is_space(c); };
  size_t lead = 0, trail = 0, i = 0, len = 0;
  for (; i < token.size() && spacey(unicode::decode_utf8(p + i, len)); i += len) ++lead;
  if (i == token.size()) return {lead, lead};
  for (size_t j = token.size(); j > i;) {
    size_t k = j - 1;
    while (k > i && is_continuation(p[k])) --k;
    if (!spacey(unicode::decode_utf8(p + k, len))) break;
    ++trail;
    j = k;
  }
  return {lead, trail};
}

// ByteLevel's process_offsets. HF moves the offsets by the number of space characters (on its
// byte offsets); we move by characters, which is the same for ASCII spaces and keeps offsets on
// character boundaries for wider ones (the bindings report those as the same characters).
void trim_offsets(const TokenizerImpl& tk, SequenceTokens& s) {
  if (!tk.trim_offsets || s.tokens.size() != s.ids.size()) return;
  const auto* p = reinterpret_cast<const unsigned char*>(s.text.data());
  for (size_t k = 0; k < s.ids.size(); ++k) {
    auto& [begin, end] = s.offsets[k];
    auto [lead, trail] = space_run_lengths(s.tokens[k]);
    if (lead > 0) {
      const bool first = k == 0 || begin == 0;
      if (first && tk.trim_keeps_prefix_space && lead == 1) lead = 0;
      for (; lead > 0 && begin < end; --lead) do
          ++begin;
        while (begin < end && is_continuation(p[begin]));
    }
    for (; trail > 0 && end > begin; --trail) do
        --end;
      while (end > begin && is_continuation(p[end]));
  }
}

void check_utf8(std::string_view text) {
  size_t bad = unicode::find_invalid_utf8(text);
  if (bad != std::string_view::npos)
    throw Utf8Error("invalid UTF-8 at byte " + std::to_string(bad) + " of the text", bad);
}

// Tokens of one sequence, without special tokens or truncation.
void tokenize_sequence(const TokenizerImpl& tk, std::string_view text, SequenceTokens& out) {
  check_utf8(text);
  if (text.size() > std::numeric_limits<uint32_t>::max())
    throw InvalidArgument("text of " + std::to_string(text.size()) + " bytes is too long to tokenize (max 4 GiB)");
  thread_local Scratch scratch;
  out.text = text;
  auto on_token = [&](const AddedToken& t, size_t b, size_t e) {
    out.push(t.id, uint32_t(b), uint32_t(e), text.substr(b, e - b));
    out.end_word();
  };
  if (tk.model == ModelKind::kBytePairEncoding) {
    // Added tokens matched in the raw text, then the normalized ones (no normalizer) in each piece.
    split_added(
        tk.raw_matcher, text,
        [&](size_t b, size_t e) {
          split_added(
              tk.normalized_matcher, text.substr(b, e - b),
              [&](size_t b2, size_t e2) { byte_level_bpe(tk, text, b + b2, b + e2, scratch, out); },
              [&](const AddedToken& t, size_t b2, size_t e2) { on_token(t, b + b2, b + e2); });
        },
        on_token);
    return;
  }
  auto on_text = [&](size_t b, size_t e) {
    bert_normalize(tk.normalizer, text.substr(b, e - b), uint32_t(b), scratch.norm);
    tokenize_normalized(tk, scratch.norm, scratch, out);
  };
  split_added(tk.raw_matcher, text, on_text, on_token);
}

// ---- truncation and post-processing -------------------------------------------------------------

size_t added_count(const std::vector<TemplatePiece>& tpl) {
  size_t n = 0;
  for (const auto& p : tpl)
    if (p.sequence < 0) n += p.ids.size();
  return n;
}

void truncate_to(SequenceTokens& s, size_t n, bool left) {
  if (s.ids.size() <= n) return;
  if (left) {
    const size_t drop = s.ids.size() - n;
    s.ids.erase(s.ids.begin(), s.ids.begin() + drop);
    s.offsets.erase(s.offsets.begin(), s.offsets.begin() + drop);
    if (!s.tokens.empty()) s.tokens.erase(s.tokens.begin(), s.tokens.begin() + drop);
    return;
  }
  s.ids.resize(n);
  s.offsets.resize(n);
  if (!s.tokens.empty()) s.tokens.resize(n);
}

// HF utils/truncation.rs truncate_encodings with stride 0.
void truncate(const TokenizerImpl& tk, SequenceTokens& a, SequenceTokens* b, size_t max_length) {
  const size_t specials = added_count(b ? tk.pair_template : tk.single_template);
  if (max_length < specials)
    throw InvalidArgument("max_length " + std::to_string(max_length) + " is shorter than the " +
                          std::to_string(specials) + " special tokens the post-processor adds");
  const size_t target = max_length - specials;
  if (!b) {
    truncate_to(a, target, tk.truncate_left);
    return;
  }
  if (a.ids.size() + b->ids.size() <= target) return;
  switch (tk.strategy) {
    case TruncationStrategy::kLongestFirst: {
      // Which sequence counts as the longer one is decided on each sequence's tokens up to the
      // first word boundary at or past max_length, not on full lengths: the official bindings
      // (0.23.2) stop tokenizing a sequence there. Measured: a 16-token and a 9-token sequence
      // of one-token words split (2, 3) at max_length 8 (both count as 8), a 9 and a 7 split
      // (3, 2); this rule matched 3240 synthetic pairs and 480 TweetEval pairs.
      size_t n1 = a.whole_words_reaching(max_length), n2 = b->whole_words_reaching(max_length);
      const bool swap = n1 > n2;
      if (swap) std::swap(n1, n2);
      if (n1 > target) n2 = n1;
      else n2 = std::max(n1, target - n1);
      if (n1 + n2 > target) {
        n1 = target / 2;
        n2 = n1 + target % 2;
      }
      if (swap) std::swap(n1, n2);
      truncate_to(a, n1, tk.truncate_left);
      truncate_to(*b, n2, tk.truncate_left);
      break;
    }
    case TruncationStrategy::kOnlyFirst:
    case TruncationStrategy::kOnlySecond: {
      SequenceTokens& cut = tk.strategy == TruncationStrategy::kOnlyFirst ? a : *b;
      const size_t other = (&cut == &a ? b->ids.size() : a.ids.size());
      if (other >= target)
        throw InvalidArgument("truncation: the sequence to truncate is too short to respect max_length " +
                              std::to_string(max_length));
      truncate_to(cut, target - other, tk.truncate_left);
      break;
    }
  }
}

Encoding post_process(const TokenizerImpl& tk, SequenceTokens& a, SequenceTokens* b) {
  const auto& tpl = b ? tk.pair_template : tk.single_template;
  Encoding e;
  const size_t total = a.ids.size() + (b ? b->ids.size() : 0) + added_count(tpl);
  e.ids.reserve(total);
  e.offsets.reserve(total);
  e.tokens.reserve(total);
  e.special_tokens_mask.reserve(total);
  e.type_ids.reserve(total);
  e.sequence_ids.reserve(total);
  auto append_sequence = [&](SequenceTokens& s, int8_t sequence, uint8_t type_id) {
    e.ids.insert(e.ids.end(), s.ids.begin(), s.ids.end());
    e.offsets.insert(e.offsets.end(), s.offsets.begin(), s.offsets.end());
    for (auto& t : s.tokens) e.tokens.push_back(std::move(t));
    e.special_tokens_mask.insert(e.special_tokens_mask.end(), s.ids.size(), 0);
    e.type_ids.insert(e.type_ids.end(), s.ids.size(), type_id);
    e.sequence_ids.insert(e.sequence_ids.end(), s.ids.size(), sequence);
  };
  if (tpl.empty()) {  // no post-processor: the sequences as they are
    append_sequence(a, 0, 0);
    if (b) append_sequence(*b, 1, 1);
    return e;
  }
  for (const auto& p : tpl) {
    if (p.sequence == 0) {
      append_sequence(a, 0, p.type_id);
    } else if (p.sequence == 1) {
      if (b) append_sequence(*b, 1, p.type_id);
    } else {
      for (size_t i = 0; i < p.ids.size(); ++i) {
        e.ids.push_back(p.ids[i]);
        e.offsets.emplace_back(0, 0);
        e.tokens.push_back(p.tokens[i]);
        e.special_tokens_mask.push_back(1);
        e.type_ids.push_back(p.type_id);
        e.sequence_ids.push_back(-1);
      }
    }
  }
  return e;
}

size_t resolve_max_length(const TokenizerImpl& tk, size_t max_length) {
  return max_length == 0 ? tk.max_length : max_length;
}

}  // namespace

// ---- public API ---------------------------------------------------------------------------------

Tokenizer::Tokenizer(std::shared_ptr<const TokenizerImpl> impl) : impl_(std::move(impl)) {}

Encoding Tokenizer::encode(std::string_view text, size_t max_length) const {
  SequenceTokens a;
  tokenize_sequence(*impl_, text, a);
  const size_t limit = resolve_max_length(*impl_, max_length);
  if (limit != kNoLengthLimit) truncate(*impl_, a, nullptr, limit);
  trim_offsets(*impl_, a);
  return post_process(*impl_, a, nullptr);
}

Encoding Tokenizer::encode_pair(std::string_view first, std::string_view second, size_t max_length) const {
  if (impl_->pair_template.empty() && !impl_->single_template.empty())
    throw UnsupportedError(impl_->source.string() + ": the post-processor has no pair template");
  SequenceTokens a, b;
  tokenize_sequence(*impl_, first, a);
  tokenize_sequence(*impl_, second, b);
  const size_t limit = resolve_max_length(*impl_, max_length);
  if (limit != kNoLengthLimit) truncate(*impl_, a, &b, limit);
  trim_offsets(*impl_, a);
  trim_offsets(*impl_, b);
  return post_process(*impl_, a, &b);
}

TokenRows Tokenizer::encode_rows(const std::vector<std::string_view>& first,
                                 const std::vector<std::optional<std::string_view>>& second, size_t max_length,
                                 bool token_types, const std::function<void(size_t)>& before_row) const {
  if (!second.empty() && second.size() != first.size())
    throw InvalidArgument("encode_rows: " + std::to_string(first.size()) + " texts but " +
                          std::to_string(second.size()) + " second texts of pairs");
  // Token types only when some row is a pair: known up front, so single texts build no zero rows.
  const bool typed =
      token_types && std::any_of(second.begin(), second.end(), [](const auto& s) { return s.has_value(); });
  TokenRows out;
  out.ids.reserve(first.size());
  if (typed) out.type_ids.reserve(first.size());
  for (size_t i = 0; i < first.size(); ++i) {
    if (before_row) before_row(i);
    if (second.empty() || !second[i]) {
      out.ids.push_back(encode_ids(first[i], max_length));
      if (typed) out.type_ids.emplace_back(out.ids.back().size(), 0);
      continue;
    }
    Encoding e = encode_pair(first[i], *second[i], max_length);
    if (typed) out.type_ids.emplace_back(e.type_ids.begin(), e.type_ids.end());
    out.ids.push_back(std::move(e.ids));
  }
  return out;
}

std::vector<int32_t> Tokenizer::encode_ids(std::string_view text, size_t max_length) const {
  thread_local SequenceTokens a;
  a.want_strings = false;
  a.clear();
  tokenize_sequence(*impl_, text, a);
  const size_t limit = resolve_max_length(*impl_, max_length);
  if (limit != kNoLengthLimit) truncate(*impl_, a, nullptr, limit);
  std::vector<int32_t> ids;
  const auto& tpl = impl_->single_template;
  ids.reserve(a.ids.size() + added_count(tpl));
  if (tpl.empty()) return a.ids;
  for (const auto& p : tpl) {
    if (p.sequence == 0) ids.insert(ids.end(), a.ids.begin(), a.ids.end());
    else if (p.sequence < 0) ids.insert(ids.end(), p.ids.begin(), p.ids.end());
  }
  return ids;
}

std::vector<Encoding> Tokenizer::encode_batch(const std::vector<std::string>& texts, size_t max_length,
                                              int threads) const {
  std::vector<Encoding> out(texts.size());
  size_t n_threads = threads > 0 ? size_t(threads) : std::max(1u, std::thread::hardware_concurrency());
  n_threads = std::min(n_threads, std::max<size_t>(1, texts.size() / 64));
  if (n_threads <= 1) {
    for (size_t i = 0; i < texts.size(); ++i) out[i] = encode(texts[i], max_length);
    return out;
  }
  // Static interleaved partition; the first exception (by text index) is rethrown.
  std::vector<std::exception_ptr> errors(n_threads);
  std::vector<size_t> error_index(n_threads, texts.size());
  std::vector<std::thread> pool;
  for (size_t t = 0; t < n_threads; ++t) {
    pool.emplace_back([&, t] {
      for (size_t i = t; i < texts.size(); i += n_threads) {
        try {
          out[i] = encode(texts[i], max_length);
        } catch (...) {
          errors[t] = std::current_exception();
          error_index[t] = i;
          return;
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  size_t first = texts.size(), which = 0;
  for (size_t t = 0; t < n_threads; ++t)
    if (errors[t] && error_index[t] < first) first = error_index[t], which = t;
  if (first < texts.size()) std::rethrow_exception(errors[which]);
  return out;
}

int32_t Tokenizer::pad_id() const { return impl_->pad_id; }
int32_t Tokenizer::cls_id() const { return impl_->cls_id; }
int32_t Tokenizer::sep_id() const { return impl_->sep_id; }
int32_t Tokenizer::unk_id() const { return impl_->unk_id; }
size_t Tokenizer::model_max_length() const { return impl_->max_length; }
size_t Tokenizer::vocab_size() const { return static_cast<size_t>(impl_->max_id) + 1; }
const std::filesystem::path& Tokenizer::source() const { return impl_->source; }

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  for (const auto& t : impl_->added_tokens)
    if (t.content == token) return t.id;
  int32_t id = impl_->model == ModelKind::kBytePairEncoding ? impl_->bpe.find(token) : impl_->vocab.find(token);
  if (id >= 0) return id;
  return std::nullopt;
}

std::string Tokenizer::id_to_token(int32_t id) const {
  auto it = impl_->id_to_token.find(id);
  return it == impl_->id_to_token.end() ? std::string() : it->second;
}

}  // namespace bert_emotion
