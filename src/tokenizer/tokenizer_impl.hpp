// tokenizer_impl.hpp — the loaded state behind a Tokenizer (private to src/tokenizer).
//
// Loaders (tokenizer_files.cpp, bpe_files.cpp) fill a TokenizerImpl from tokenizer.json, from
// vocab.txt + tokenizer_config.json or from vocab.json + merges.txt; tokenizer.cpp runs the
// pipeline over it. Everything here is read-only after loading.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/bert_normalizer.hpp"
#include "tokenizer/bpe_model.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/vocab_table.hpp"

namespace bert_emotion {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;  // true: matched in the normalized text, false: in the raw input
  bool special = false;
};

// One element of a TemplateProcessing template: a special token or the sequence A (0) / B (1).
struct TemplatePiece {
  int sequence = -1;  // 0 = $A, 1 = $B, -1 = special token
  std::vector<int32_t> ids;
  std::vector<std::string> tokens;
  uint8_t type_id = 0;
};

enum class TruncationStrategy { kLongestFirst, kOnlyFirst, kOnlySecond };

constexpr size_t kNoLengthLimit = kNoTruncation;  // files without a length limit

// Finds added tokens in a text (leftmost-longest, like HF's aho-corasick MatchKind::LeftmostLongest).
struct AddedTokenMatcher {
  std::vector<const AddedToken*> tokens;
  bool first_byte[256] = {};
  bool empty() const { return tokens.empty(); }
};

enum class ModelKind { kWordPiece, kBytePairEncoding };

struct TokenizerImpl {
  std::filesystem::path source;
  ModelKind model = ModelKind::kWordPiece;

  NormalizerSettings normalizer;

  // Byte-level BPE model and its ByteLevel pre-tokenizer (model == kBytePairEncoding).
  BpeModel bpe;
  bool add_prefix_space = false;  // a space before every piece that does not start with one
  bool use_regex = true;          // split with GPT-2's pattern (else a piece is one word)

  // WordPiece model.
  VocabTable vocab;         // every model token
  VocabTable continuation;  // tokens that start with `prefix`, stored without it
  std::string prefix = "##";
  std::string unk_token;
  int32_t unk_id = -1;
  size_t max_input_chars_per_word = 100;

  // id -> token for model and added tokens; ids need not be dense.
  std::unordered_map<int32_t, std::string> id_to_token;
  int32_t max_id = -1;  // the largest id encode() can output (vocab, added, post-processor, pad)

  std::vector<AddedToken> added_tokens;
  AddedTokenMatcher raw_matcher;         // normalized == false
  AddedTokenMatcher normalized_matcher;  // normalized == true (contents normalized at load time)

  // Post-processor. Empty templates: no special tokens are added.
  std::vector<TemplatePiece> single_template;
  std::vector<TemplatePiece> pair_template;
  // ByteLevel's process_offsets (RobertaProcessing / ByteLevel post-processor trim_offsets):
  // offsets lose the leading and trailing spaces ("Ġ" or whitespace) of their token.
  bool trim_offsets = false;
  bool trim_keeps_prefix_space = false;  // the post-processor's add_prefix_space

  // Truncation used when encode() gets max_length 0.
  size_t max_length = kNoLengthLimit;
  TruncationStrategy strategy = TruncationStrategy::kLongestFirst;
  bool truncate_left = false;

  int32_t pad_id = 0;
  int32_t cls_id = -1;
  int32_t sep_id = -1;

  // Id of a model vocabulary token (-1 when absent) and the model vocabulary's size.
  int32_t model_find(std::string_view token) const {
    return model == ModelKind::kBytePairEncoding ? bpe.find(token) : vocab.find(token);
  }
  size_t model_size() const { return model == ModelKind::kBytePairEncoding ? bpe.size() : vocab.size(); }

  // Called by the loaders once the fields above are set: builds the matchers, normalizes the
  // contents of normalized added tokens, derives cls/sep from the templates.
  void finish();
};

}  // namespace bert_emotion
