// fuzz_tokenize — the real distilbert-base-cased tokenizer (../shared/models, loaded once) on
// arbitrary bytes. Invalid UTF-8 must be refused with Utf8Error pointing inside the input; valid
// text must give [CLS] ... [SEP] with aligned tokens/offsets, in-range ids, encode_ids == encode().ids,
// and respect max_length (one below the special tokens' count is refused with InvalidArgument).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>

#include "fuzz_common.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/error.hpp"

using namespace bert_emotion;

static const Tokenizer& tokenizer() {
  static const Tokenizer tok = Tokenizer::from_model_dir(SHARED_DIR "/models/distilbert-base-cased");
  return tok;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Tokenizer& tok = tokenizer();
  FuzzedDataProvider fdp(data, size);
  const size_t max_length = fdp.ConsumeIntegralInRange<size_t>(0, 40);  // 0 = model max
  const bool pair = fdp.ConsumeBool();
  const std::string a = pair ? fdp.ConsumeRandomLengthString() : fdp.ConsumeRemainingBytesAsString();
  const std::string b = pair ? fdp.ConsumeRemainingBytesAsString() : std::string();
  try {
    const Encoding e = pair ? tok.encode_pair(a, b, max_length) : tok.encode(a, max_length);
    const size_t limit = max_length ? max_length : tok.model_max_length();
    FUZZ_CHECK(e.ids.size() == e.tokens.size() && e.ids.size() == e.offsets.size());
    FUZZ_CHECK(e.ids.size() == e.special_tokens_mask.size() && e.ids.size() == e.type_ids.size());
    FUZZ_CHECK(e.ids.size() <= std::max<size_t>(limit, pair ? 3 : 2));
    FUZZ_CHECK(e.ids.size() >= 2 && e.ids.front() == tok.cls_id() && e.ids.back() == tok.sep_id());
    for (int32_t id : e.ids) FUZZ_CHECK(id >= 0 && static_cast<size_t>(id) < tok.vocab_size());
    for (size_t i = 0; i < e.ids.size(); ++i) {
      const auto [begin, end] = e.offsets[i];
      const size_t text_size = (pair && e.type_ids[i]) ? b.size() : a.size();
      FUZZ_CHECK(begin <= end && end <= text_size);
    }
    if (!pair) FUZZ_CHECK(tok.encode_ids(a, max_length) == e.ids);
  } catch (const Utf8Error& e) {
    FUZZ_CHECK(e.byte_offset < std::max(a.size(), b.size()));
  } catch (const InvalidArgument&) {
    // Documented: a max_length below the special tokens' count ([CLS] [SEP], or 3 for a pair).
    FUZZ_CHECK(max_length > 0 && max_length < (pair ? 3u : 2u));
  }
  return 0;
}
