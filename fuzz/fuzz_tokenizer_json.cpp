// fuzz_tokenizer_json — Tokenizer::from_tokenizer_json on arbitrary bytes (written to a scratch
// tokenizer.json, as the loader reads files). Accepts bert_emotion::Error. A tokenizer that loads
// must encode a few texts with consistent, in-range output.
#include <cstdint>

#include "fuzz_common.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/error.hpp"

using namespace bert_emotion;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz::scratch_dir() / "tokenizer.json";
  fuzz::write_bytes(path, data, size);
  try {
    const Tokenizer tok = Tokenizer::from_tokenizer_json(path);
    for (const char* text : {"", "Hello, world! I'm so happy 😀", "naïve café ##ing [CLS] [UNK]", "a b c d e f g",
                             "hello <mask>  there's\t\n 12 <s>"}) {
      const Encoding e = tok.encode(text);
      FUZZ_CHECK(e.ids.size() == e.tokens.size());
      FUZZ_CHECK(e.ids.size() == e.offsets.size());
      for (int32_t id : e.ids) FUZZ_CHECK(id >= 0 && static_cast<size_t>(id) < tok.vocab_size());
      for (auto [b, en] : e.offsets) FUZZ_CHECK(b <= en && en <= std::string_view(text).size());
      FUZZ_CHECK(tok.encode_ids(text) == e.ids);
      (void)tok.encode_pair(text, "pair", 8);
    }
  } catch (const Error&) {
  }
  return 0;
}
