// text_encoder.hpp — untruncated tokenization for the server, behind an interface.
//
// The server must know an input's real length before deciding to reject or truncate it (TEI's
// "`inputs` must have less than 512 tokens"), so it asks for the full encoding and truncates it
// itself (serve/truncation.hpp). TokenizerEncoder adapts the engine's Tokenizer (WordPiece, BPE); tests of
// the HTTP layer may plug in a fake encoder.
//
//   Tokenizer tok = Tokenizer::from_model_dir(dir);
//   TokenizerEncoder encoder(tok);
//   Encoding e = encoder.encode("a very long text ...");   // [CLS] ... [SEP], every token
//
// Implementations must be safe to call from many HTTP threads at once and throw FormatError
// (Utf8Error included) for text they cannot tokenize; the server answers 422 Tokenizer.
#pragma once

#include <string_view>

#include "tokenizer/tokenizer.hpp"

namespace bert_emotion::serve {

class TextEncoder {
 public:
  virtual ~TextEncoder() = default;
  virtual Encoding encode(std::string_view text) const = 0;
  virtual Encoding encode_pair(std::string_view a, std::string_view b) const = 0;
};

class TokenizerEncoder : public TextEncoder {
 public:
  explicit TokenizerEncoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}
  Encoding encode(std::string_view text) const override;
  Encoding encode_pair(std::string_view a, std::string_view b) const override;

 private:
  const Tokenizer& tokenizer_;
};

}  // namespace bert_emotion::serve
