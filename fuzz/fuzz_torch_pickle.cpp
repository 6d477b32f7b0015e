// fuzz_torch_pickle — parse_torch_pickle (the restricted data.pkl interpreter) on arbitrary bytes.
// Accepts CheckpointError only; for a pickle that parses, every tensor must name a storage the
// result holds, with the storage's dtype and as many strides as dims.
#include <cstdint>
#include <span>

#include "fuzz_common.hpp"
#include "model/torch_pickle.hpp"

using namespace bert_emotion;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  TorchStateDict sd;
  try {
    // Limits small enough that a hostile input cannot make one run slow or large.
    sd = parse_torch_pickle(
        std::span<const uint8_t>(data, size), "fuzz.pkl",
        {.max_stack = 1 << 14, .max_memo = 1 << 14, .max_containers = 1 << 14, .max_items = 1 << 16});
  } catch (const CheckpointError&) {
    return 0;
  }
  for (const PickledTensor& t : sd.tensors) {
    auto it = sd.storages.find(t.storage_key);
    FUZZ_CHECK(it != sd.storages.end());
    FUZZ_CHECK(it->second.dtype == t.dtype);
    FUZZ_CHECK(t.shape.size() == t.stride.size());
    for (size_t d = 0; d < t.shape.size(); ++d) FUZZ_CHECK(t.shape[d] >= 0 && t.stride[d] >= 0);
  }
  return 0;
}
