// fuzz_config — config.json parsing: nlohmann's parser (no exceptions) then parse_config.
// Accepts FormatError/UnsupportedError/InvalidArgument (all bert_emotion::Error). A config that
// parses must survive config_to_json -> parse_config unchanged in its architecture fields.
#include <cstdint>
#include <nlohmann/json.hpp>

#include "fuzz_common.hpp"
#include "model/config.hpp"
#include "util/error.hpp"

using namespace bert_emotion;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  ModelConfig cfg;
  try {
    cfg = parse_config(j, "fuzz/config.json");
  } catch (const Error&) {
    return 0;
  }
  ModelConfig again;
  try {
    again = parse_config(config_to_json(cfg), "fuzz/roundtrip.json");
  } catch (const Error& e) {
    std::fprintf(stderr, "round trip refused: %s\n", e.what());
    FUZZ_CHECK(false);
  }
  FUZZ_CHECK(again.model_type == cfg.model_type);
  FUZZ_CHECK(again.vocab_size == cfg.vocab_size);
  FUZZ_CHECK(again.dim == cfg.dim);
  FUZZ_CHECK(again.n_layers == cfg.n_layers);
  FUZZ_CHECK(again.n_heads == cfg.n_heads);
  FUZZ_CHECK(again.hidden_dim == cfg.hidden_dim);
  FUZZ_CHECK(again.max_position_embeddings == cfg.max_position_embeddings);
  FUZZ_CHECK(again.id2label == cfg.id2label);
  return 0;
}
