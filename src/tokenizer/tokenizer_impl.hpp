// tokenizer_impl.hpp — the loaded state behind a Tokenizer (private to src/tokenizer).
#pragma once

#include <filesystem>

namespace bert_emotion {

struct TokenizerImpl {
  std::filesystem::path source;
};

}  // namespace bert_emotion
