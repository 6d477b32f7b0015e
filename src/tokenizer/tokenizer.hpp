// tokenizer.hpp — BERT WordPiece and GPT-2 / RoBERTa byte-level BPE tokenization with ids
// identical to Hugging Face `tokenizers`.
//
// A Tokenizer is built from a model directory: `tokenizer.json` when present, else
// `vocab.json` + `merges.txt` (RobertaTokenizer's files), else `vocab.txt` (BertTokenizer's), each
// with `tokenizer_config.json` / `special_tokens_map.json` beside it. tokenizer.json may hold
// WordPiece (BertNormalizer, BertPreTokenizer) or BPE (no normalizer, ByteLevel pre-tokenizer),
// added tokens, TemplateProcessing / BertProcessing / RobertaProcessing / ByteLevel / Sequence
// post-processors, truncation. Every setting (casing, accents, prefix space, special token
// strings and ids, max length) comes from the files. Any other model / normalizer /
// pre-tokenizer type or BPE option (dropout, byte_fallback, subword prefix) -> UnsupportedError
// naming file and type; malformed files -> FormatError naming file and field or line; invalid
// UTF-8 text -> Utf8Error with the byte offset.
//
//   Tokenizer tok = Tokenizer::from_model_dir("model");   // tokenizer.json, vocab.json + merges.txt, or vocab.txt
//   Encoding e = tok.encode("I love this! 😀");           // [CLS] ... [SEP] / <s> ... </s>, truncated to the model max
//   e.ids;  e.tokens;  e.offsets;                          // offsets: byte ranges in the input text
//   e.sequence_ids;                                        // 0 / 1 per input side, -1 for specials
//   Encoding p = tok.encode_pair("question", "answer", 16); // [CLS] A [SEP] B [SEP] / <s> A </s></s> B </s>
//   std::vector<Encoding> all = tok.encode_batch(texts);   // same as encode() per text, in order
//
// Pipeline, as in HF: added/special tokens are matched in the raw text first ("a[SEP]b" gives the
// [SEP] id; `<mask>` with lstrip swallows the spaces before it), then either BertNormalizer
// (bert_normalizer.cpp, Unicode facts in unicode.cpp), BertPreTokenizer + WordPiece
// (tokenizer.cpp, vocabulary in vocab_table.cpp), or GPT-2's split pattern + byte-to-unicode map +
// merges by rank (bpe_model.cpp); truncation (specials counted: [CLS] + the first max_length-2
// pieces + [SEP]; pairs longest-first), offset trimming (RobertaProcessing's trim_offsets) and the
// post-processor. Loading is tokenizer_files.cpp (tokenizer.json, vocab.txt) and bpe_files.cpp
// (BPE model, vocab.json + merges.txt). Offsets are byte ranges into the text given.
// A Tokenizer is immutable after loading; every method is const and safe to call from many
// threads at once. Copies are cheap (they share the loaded state). Padding is left to the
// batcher (make_batch in model/encoder.hpp); pad_id() is the id to pad with.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bert_emotion {

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<std::string> tokens;
  std::vector<std::pair<uint32_t, uint32_t>> offsets;  // [begin, end) byte offsets into the input; (0,0) for specials
  std::vector<uint8_t> special_tokens_mask;            // 1 for tokens added by the post-processor
  std::vector<uint8_t> type_ids;                       // the post-processor's token types (BERT: 0 then 1)
  // Which input each token came from, as HF's Encoding.sequence_ids: 0 (first), 1 (the pair's
  // second), -1 for the post-processor's specials (HF's None). Unlike type_ids this tells a
  // RoBERTa pair's sides apart (RobertaProcessing gives both type 0).
  std::vector<int8_t> sequence_ids;
};

// What the model is fed for many texts (Tokenizer::encode_rows).
struct TokenRows {
  std::vector<std::vector<int32_t>> ids;       // per row: [CLS] ... [SEP] (a pair as the post-processor joins it)
  std::vector<std::vector<int32_t>> type_ids;  // per row, or empty: every token type 0
};

struct TokenizerImpl;  // defined in tokenizer/tokenizer_impl.hpp

// The max_length that turns truncation off: every token of the text, however long.
inline constexpr size_t kNoTruncation = std::numeric_limits<size_t>::max();

class Tokenizer {
 public:
  static Tokenizer from_model_dir(const std::filesystem::path& dir);
  // One tokenizer.json file.
  static Tokenizer from_tokenizer_json(const std::filesystem::path& file);
  // vocab.txt with an optional tokenizer_config.json and special_tokens_map.json (empty path = absent).
  static Tokenizer from_vocab_files(const std::filesystem::path& vocab_txt,
                                    const std::filesystem::path& tokenizer_config = {},
                                    const std::filesystem::path& special_tokens_map = {});
  // vocab.json + merges.txt (byte-level BPE, RobertaTokenizer's defaults) with optional side files.
  static Tokenizer from_bpe_files(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt,
                                  const std::filesystem::path& tokenizer_config = {},
                                  const std::filesystem::path& special_tokens_map = {});

  // max_length 0 = the model's maximum (model_max_length / truncation settings of the files);
  // kNoTruncation = no truncation.
  // Throws Utf8Error on invalid UTF-8.
  Encoding encode(std::string_view text, size_t max_length = 0) const;
  Encoding encode_pair(std::string_view first, std::string_view second, size_t max_length = 0) const;
  // encode() of every text, in order (runs on up to `threads` threads; 0 = hardware concurrency).
  std::vector<Encoding> encode_batch(const std::vector<std::string>& texts, size_t max_length = 0,
                                     int threads = 1) const;
  // Ids only ([CLS] ... [SEP]), skipping tokens/offsets bookkeeping; same ids as encode().ids.
  std::vector<int32_t> encode_ids(std::string_view text, size_t max_length = 0) const;
  // The model's input rows for first[i], a pair where second[i] holds a text (second empty: no
  // pairs; otherwise one per text, nullopt = a single text): ids as encode_ids / encode_pair and,
  // when `token_types` (the model has token type embeddings) and some row is a pair, type_ids for
  // every row (0 then 1; all 0 for a single text). Training, evaluation, the Classifier and the
  // Python module all encode through this. `before_row(i)`, when given, runs before row i (the
  // Python module checks for Ctrl-C there). Throws InvalidArgument when second's size is neither
  // 0 nor first's.
  TokenRows encode_rows(const std::vector<std::string_view>& first,
                        const std::vector<std::optional<std::string_view>>& second, size_t max_length, bool token_types,
                        const std::function<void(size_t)>& before_row = nullptr) const;

  // The post-processor's first / last special token ([CLS] / [SEP], <s> / </s>), the padding
  // token, the unknown token (-1 when the files name none).
  int32_t pad_id() const;
  int32_t cls_id() const;
  int32_t sep_id() const;
  int32_t unk_id() const;
  // The default max_length: tokenizer_config.json's model_max_length (Transformers' truncation=True
  // length), else tokenizer.json's truncation.max_length, else config.json's
  // max_position_embeddings, else no limit (SIZE_MAX).
  size_t model_max_length() const;
  // 1 + the largest id encode() can output (model vocabulary, added tokens, post-processor
  // specials, pad): 28996 for distilbert-base-cased, like HF's get_vocab_size(true) for dense ids.
  size_t vocab_size() const;

  std::optional<int32_t> token_to_id(std::string_view token) const;  // model vocab or added token
  std::string id_to_token(int32_t id) const;                         // "" for an unknown id
  // Source of the settings: ".../tokenizer.json" or ".../vocab.txt".
  const std::filesystem::path& source() const;

  explicit Tokenizer(std::shared_ptr<const TokenizerImpl> impl);

 private:
  std::shared_ptr<const TokenizerImpl> impl_;
};

}  // namespace bert_emotion
