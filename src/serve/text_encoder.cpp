// text_encoder.cpp — TokenizerEncoder: the Tokenizer with a length cap that never binds.
#include "serve/text_encoder.hpp"

namespace bert_emotion::serve {

namespace {
// Every WordPiece token covers at least one input byte, so bytes + the special tokens bound the
// untruncated length; passing that as max_length disables the tokenizer's own truncation.
constexpr size_t kSpecialsSlack = 8;
}  // namespace

Encoding TokenizerEncoder::encode(std::string_view text) const {
  return tokenizer_.encode(text, text.size() + kSpecialsSlack);
}

Encoding TokenizerEncoder::encode_pair(std::string_view a, std::string_view b) const {
  return tokenizer_.encode_pair(a, b, a.size() + b.size() + kSpecialsSlack);
}

}  // namespace bert_emotion::serve
