// fuzz_predict_request — the HTTP server's /predict and /tokenize body parsers on arbitrary bytes.
// Accepts serve::ApiError only (the server answers it as 400/413/422). Parsed requests must hold
// 1..max_client_batch_size inputs.
#include <cstdint>
#include <string_view>

#include "fuzz_common.hpp"
#include "serve/request.hpp"

using namespace bert_emotion::serve;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  constexpr size_t kMaxBatch = 4;
  try {
    const PredictRequest r = parse_predict_request(body, kMaxBatch);
    FUZZ_CHECK(!r.inputs.empty() && r.inputs.size() <= kMaxBatch);
    if (!r.is_batch) FUZZ_CHECK(r.inputs.size() == 1);
  } catch (const ApiError&) {
  }
  try {
    const TokenizeRequest r = parse_tokenize_request(body, kMaxBatch);
    FUZZ_CHECK(!r.inputs.empty() && r.inputs.size() <= kMaxBatch);
  } catch (const ApiError&) {
  }
  FUZZ_CHECK(json_nesting_depth(body, 16) <= 17);
  return 0;
}
