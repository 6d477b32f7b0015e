// safetensors.hpp — read (mmap, validated) and write Hugging Face safetensors files.
//
// Format: 8-byte little-endian header length N, N bytes of UTF-8 JSON mapping tensor names to
// {"dtype", "shape", "data_offsets": [begin, end)} (plus an optional string->string
// "__metadata__"), then the data buffer. The reader applies every validation rule of the reference
// implementation (huggingface/safetensors `read_metadata` + `Metadata::validate`) in its order and
// throws SafetensorsError carrying the rule, so a caller (or a test) knows exactly why a file was
// refused. Duplicate names, which the reference's JSON map would silently collapse, are refused too.
// The file is mapped read-only: F32 tensors can be used in place, with no copy.
//
// The writer produces what `safetensors.torch.save_file` produces (and Transformers loads):
// tensors sorted by dtype alignment (descending) then name, contiguous offsets, the JSON padded
// with spaces to a multiple of 8 so that every tensor starts 8-byte aligned, and
// `__metadata__ {"format": "pt"}`. Files are written atomically (temp + rename).
//
//   auto st = SafetensorsFile::open("model/model.safetensors");
//   for (const auto& t : st->tensors()) std::cout << t.name << " " << dtype_name(t.dtype) << "\n";
//   std::vector<float> w(st->at("classifier.weight").numel);
//   st->to_float32("classifier.weight", w.data());            // F32 / F16 / BF16 -> float
//   write_safetensors("out.safetensors", {{"x", Dtype::F32, {2, 2}, w.data(), 16}});
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace bert_emotion {

class MappedFile;  // util/mapped_file.hpp

// Every way the reader refuses a file; the names are the reference implementation's error names
// (plus InvalidHeaderStart, DuplicateName and TensorNotFound).
enum class SafetensorsRule {
  HeaderTooSmall,                // fewer than 8 bytes
  HeaderTooLarge,                // N > 100,000,000
  InvalidHeaderLength,           // 8 + N overflows or runs past the end of the file
  InvalidHeader,                 // the header is not UTF-8
  InvalidHeaderStart,            // the header does not start with '{' (after optional whitespace)
  InvalidHeaderDeserialization,  // not JSON, or not the expected structure (incl. unknown dtype, bad __metadata__)
  DuplicateName,                 // a key appears twice in one JSON object
  InvalidOffset,                 // sorted by offsets, each begin must equal the previous end (from 0)
  ValidationOverflow,            // prod(shape) x dtype bits overflows 64 bits
  MisalignedSlice,               // the tensor's bit count is not a whole number of bytes
  TensorInvalidInfo,             // end - begin differs from the size implied by dtype and shape
  MetadataIncompleteBuffer,      // 8 + N + last end differs from the file size (holes, trailing data)
  TensorNotFound,                // at(name) / to_float32(name) for an absent tensor
};

const char* rule_name(SafetensorsRule rule);

class SafetensorsError : public FormatError {
 public:
  SafetensorsError(SafetensorsRule rule, const std::string& what) : FormatError(what), rule(rule) {}
  SafetensorsRule rule;
};

// In the reference's order, which is increasing alignment (the writer sorts by it, descending).
enum class Dtype {
  BOOL,
  F4,
  F6_E2M3,
  F6_E3M2,
  U8,
  I8,
  F8_E5M2,
  F8_E4M3,
  F8_E8M0,
  F8_E4M3FNUZ,
  F8_E5M2FNUZ,
  I16,
  U16,
  F16,
  BF16,
  I32,
  U32,
  F32,
  C64,
  F64,
  I64,
  U64,
};

const char* dtype_name(Dtype d);
std::optional<Dtype> parse_dtype(std::string_view name);
size_t dtype_bits(Dtype d);

// One tensor of a parsed file. `begin`/`end` are offsets into the data buffer.
struct TensorEntry {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
  size_t numel = 0;
};

class SafetensorsFile {
 public:
  // Maps `path` read-only and validates it. IoError if it cannot be opened; SafetensorsError if invalid.
  static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& path);
  // Validates bytes held in memory (copied); `source` names them in messages.
  static std::shared_ptr<SafetensorsFile> from_bytes(std::span<const uint8_t> bytes,
                                                     const std::string& source = "<memory>");
  static std::shared_ptr<SafetensorsFile> from_bytes(std::string_view bytes, const std::string& source = "<memory>");

  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& source() const { return source_; }
  size_t file_size() const { return size_; }
  uint64_t header_size() const { return header_size_; }  // N
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Tensors in data-offset (file) order.
  const std::vector<TensorEntry>& tensors() const { return tensors_; }
  std::vector<std::string> names() const;  // sorted

  const TensorEntry* find(const std::string& name) const;
  const TensorEntry& at(const std::string& name) const;  // SafetensorsError(TensorNotFound) if absent
  std::span<const uint8_t> bytes(const std::string& name) const;
  std::span<const uint8_t> bytes(const TensorEntry& t) const;

  // Widens an F32/F16/BF16 tensor into `out` (numel floats). Any other dtype: UnsupportedError
  // naming the tensor and its dtype.
  void to_float32(const std::string& name, float* out) const;
  void to_float32(const TensorEntry& t, float* out) const;
  // The tensor's floats in place (inside the mapping) when it is F32 and 4-byte aligned, else nullptr.
  const float* f32_data(const TensorEntry& t) const;

 private:
  SafetensorsFile() = default;
  void parse();

  std::string source_;
  const uint8_t* base_ = nullptr;  // whole file
  size_t size_ = 0;
  std::shared_ptr<MappedFile> mapping_;  // the mmap'ed file (null when held in `owned_`)
  std::vector<uint8_t> owned_;
  uint64_t header_size_ = 0;
  std::map<std::string, std::string> metadata_;
  std::vector<TensorEntry> tensors_;
  std::map<std::string, size_t> index_;
};

// ---- writer ----

struct TensorToWrite {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // little-endian, row-major
  size_t nbytes = 0;           // must equal numel x dtype bits / 8
};

// The whole file as bytes (tests, small files).
std::string serialize_safetensors(std::vector<TensorToWrite> tensors,
                                  const std::map<std::string, std::string>& metadata = {{"format", "pt"}});
// Streams the file to `path` through AtomicFile. InvalidArgument for bad input (duplicate names,
// sizes that do not match the shape); IoError if writing fails.
void write_safetensors(const std::filesystem::path& path, std::vector<TensorToWrite> tensors,
                       const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

// IEEE half / bfloat16 -> float, exact (subnormals, inf and NaN included).
float f16_to_f32(uint16_t h);
float bf16_to_f32(uint16_t b);

}  // namespace bert_emotion
