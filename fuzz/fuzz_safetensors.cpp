// fuzz_safetensors — SafetensorsFile::from_bytes on arbitrary bytes.
// Accepts SafetensorsError/FormatError; for a file that validates, every tensor's byte range must
// lie inside the buffer with the size its dtype and shape imply, and widening F32/F16/BF16 must work.
#include <cstdint>
#include <vector>

#include "fuzz_common.hpp"
#include "model/safetensors.hpp"

using namespace bert_emotion;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::shared_ptr<SafetensorsFile> st;
  try {
    st = SafetensorsFile::from_bytes(std::span<const uint8_t>(data, size), "fuzz.safetensors");
  } catch (const FormatError&) {
    return 0;
  }
  FUZZ_CHECK(st->file_size() == size);
  FUZZ_CHECK(8 + st->header_size() <= size);
  for (const TensorEntry& t : st->tensors()) {
    FUZZ_CHECK(t.begin <= t.end);
    FUZZ_CHECK(8 + st->header_size() + t.end <= size);
    const auto bytes = st->bytes(t);
    FUZZ_CHECK(bytes.size() == t.end - t.begin);
    FUZZ_CHECK(static_cast<unsigned __int128>(t.numel) * dtype_bits(t.dtype) ==
               static_cast<unsigned __int128>(bytes.size()) * 8);
    FUZZ_CHECK(st->find(t.name) == &st->at(t.name));
    if ((t.dtype == Dtype::F32 || t.dtype == Dtype::F16 || t.dtype == Dtype::BF16) && t.numel <= (1u << 20)) {
      std::vector<float> out(t.numel);
      st->to_float32(t, out.data());
    } else {
      try {
        if (t.numel <= (1u << 20)) {
          std::vector<float> out(t.numel);
          st->to_float32(t, out.data());
          FUZZ_CHECK(t.dtype == Dtype::F32 || t.dtype == Dtype::F16 || t.dtype == Dtype::BF16);
        }
      } catch (const UnsupportedError&) {
      }
    }
  }
  try {
    st->at("\x01 surely absent");
    FUZZ_CHECK(false);
  } catch (const SafetensorsError& e) {
    FUZZ_CHECK(e.rule == SafetensorsRule::TensorNotFound);
  }
  return 0;
}
