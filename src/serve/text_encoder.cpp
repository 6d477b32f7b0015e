// text_encoder.cpp — TokenizerEncoder: the Tokenizer with truncation off.
#include "serve/text_encoder.hpp"

namespace bert_emotion::serve {

// No length cap at all, rather than one derived from the text's bytes: byte-level BPE with
// add_prefix_space puts a space before every piece between added tokens, so a text can have
// more tokens than bytes ("a<mask>b" style inputs), and a cap that binds would cut silently.
Encoding TokenizerEncoder::encode(std::string_view text) const { return tokenizer_.encode(text, kNoTruncation); }

Encoding TokenizerEncoder::encode_pair(std::string_view a, std::string_view b) const {
  return tokenizer_.encode_pair(a, b, kNoTruncation);
}

}  // namespace bert_emotion::serve
