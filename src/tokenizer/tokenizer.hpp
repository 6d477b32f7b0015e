// tokenizer.hpp — BERT WordPiece tokenization with ids identical to Hugging Face `tokenizers`.
// (Interface contract; the tokenizer owner completes this header's overview and may extend it.)
//
//   Tokenizer tok = Tokenizer::from_model_dir("model");   // tokenizer.json, or vocab.txt + tokenizer_config.json
//   Encoding e = tok.encode("I love this! 😀");           // [CLS] ... [SEP], truncated to the model max
//   e.ids;  e.tokens;  e.offsets;                          // offsets: byte ranges in the input text
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bert_emotion {

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<std::string> tokens;
  std::vector<std::pair<uint32_t, uint32_t>> offsets;  // [begin, end) byte offsets into the input; (0,0) for specials
  std::vector<uint8_t> special_tokens_mask;             // 1 for tokens added by the post-processor
  std::vector<uint8_t> type_ids;                        // 0 for the first sequence, 1 for the pair's second
};

class Tokenizer {
 public:
  static Tokenizer from_model_dir(const std::filesystem::path& dir);

  // max_length 0 = the model's maximum (model_max_length / truncation settings of the files).
  // Throws Utf8Error on invalid UTF-8.
  Encoding encode(std::string_view text, size_t max_length = 0) const;
  Encoding encode_pair(std::string_view a, std::string_view b, size_t max_length = 0) const;

  int32_t pad_id() const;
  size_t model_max_length() const;
  size_t vocab_size() const;

  // (implementation-private state follows; the tokenizer owner defines it)
};

}  // namespace bert_emotion
