// safetensors.cpp — the validated mmap reader and the writer (see safetensors.hpp).
//
// Validation follows huggingface/safetensors `tensor.rs` step by step (read_metadata, then
// Metadata::validate), so every refusal maps onto one of the reference's error names.
#include "model/safetensors.hpp"
#include "util/mapped_file.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "util/atomic_file.hpp"

#if defined(__F16C__) && defined(__AVX__)
#include <immintrin.h>
#endif

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

namespace bert_emotion {

namespace {

constexpr uint64_t kMaxHeaderSize = 100'000'000;  // the reference's MAX_HEADER_SIZE

struct DtypeInfo {
  Dtype dtype;
  const char* name;
  size_t bits;
};

constexpr DtypeInfo kDtypes[] = {
    {Dtype::BOOL, "BOOL", 8},
    {Dtype::F4, "F4", 4},
    {Dtype::F6_E2M3, "F6_E2M3", 6},
    {Dtype::F6_E3M2, "F6_E3M2", 6},
    {Dtype::U8, "U8", 8},
    {Dtype::I8, "I8", 8},
    {Dtype::F8_E5M2, "F8_E5M2", 8},
    {Dtype::F8_E4M3, "F8_E4M3", 8},
    {Dtype::F8_E8M0, "F8_E8M0", 8},
    {Dtype::F8_E4M3FNUZ, "F8_E4M3FNUZ", 8},
    {Dtype::F8_E5M2FNUZ, "F8_E5M2FNUZ", 8},
    {Dtype::I16, "I16", 16},
    {Dtype::U16, "U16", 16},
    {Dtype::F16, "F16", 16},
    {Dtype::BF16, "BF16", 16},
    {Dtype::I32, "I32", 32},
    {Dtype::U32, "U32", 32},
    {Dtype::F32, "F32", 32},
    {Dtype::C64, "C64", 64},
    {Dtype::F64, "F64", 64},
    {Dtype::I64, "I64", 64},
    {Dtype::U64, "U64", 64},
};

[[noreturn]] void fail(SafetensorsRule rule, const std::string& source, const std::string& detail) {
  throw SafetensorsError(rule, source + ": " + detail + " (" + rule_name(rule) + ")");
}

// Rust's str::from_utf8: no overlong forms, no surrogates, nothing above U+10FFFF.
// Returns the offset of the first invalid byte, or npos.
size_t first_invalid_utf8(const uint8_t* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    const uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + len > n) return i;
    if (s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    i += len;
  }
  return std::string::npos;
}

bool checked_mul(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_mul_overflow(a, b, out); }

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// A parsed-but-unvalidated tensor entry (shape dims may exceed int64 before validation).
struct RawEntry {
  std::string name;
  Dtype dtype;
  std::vector<uint64_t> shape;
  uint64_t begin, end;
};

uint64_t get_u64(const nlohmann::json& v, bool* ok) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
  *ok = false;
  return 0;
}

}  // namespace

const char* rule_name(SafetensorsRule rule) {
  switch (rule) {
    case SafetensorsRule::HeaderTooSmall: return "HeaderTooSmall";
    case SafetensorsRule::HeaderTooLarge: return "HeaderTooLarge";
    case SafetensorsRule::InvalidHeaderLength: return "InvalidHeaderLength";
    case SafetensorsRule::InvalidHeader: return "InvalidHeader";
    case SafetensorsRule::InvalidHeaderStart: return "InvalidHeaderStart";
    case SafetensorsRule::InvalidHeaderDeserialization: return "InvalidHeaderDeserialization";
    case SafetensorsRule::DuplicateName: return "DuplicateName";
    case SafetensorsRule::InvalidOffset: return "InvalidOffset";
    case SafetensorsRule::ValidationOverflow: return "ValidationOverflow";
    case SafetensorsRule::MisalignedSlice: return "MisalignedSlice";
    case SafetensorsRule::TensorInvalidInfo: return "TensorInvalidInfo";
    case SafetensorsRule::MetadataIncompleteBuffer: return "MetadataIncompleteBuffer";
    case SafetensorsRule::TensorNotFound: return "TensorNotFound";
  }
  return "?";
}

const char* dtype_name(Dtype d) { return kDtypes[static_cast<int>(d)].name; }
size_t dtype_bits(Dtype d) { return kDtypes[static_cast<int>(d)].bits; }

std::optional<Dtype> parse_dtype(std::string_view name) {
  for (const auto& info : kDtypes)
    if (name == info.name) return info.dtype;
  return std::nullopt;
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  const uint32_t mant = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0) {
    // zero or subnormal: mant x 2^-24, exact in float
    const float mag = static_cast<float>(mant) * 5.9604644775390625e-8f;
    bits = std::bit_cast<uint32_t>(mag) | sign;
  } else if (exp == 31) {
    bits = sign | 0x7F800000u | (mant << 13);  // inf, or NaN keeping its payload
  } else {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

float bf16_to_f32(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

// ---- reader ----

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path) {
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->source_ = path.string();
  f->mapping_ = MappedFile::open(path);
  f->base_ = f->mapping_->data();
  f->size_ = f->mapping_->size();
  f->parse();
  return f;
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::from_bytes(std::span<const uint8_t> bytes,
                                                             const std::string& source) {
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->source_ = source;
  f->owned_.assign(bytes.begin(), bytes.end());
  f->base_ = f->owned_.data();
  f->size_ = f->owned_.size();
  f->parse();
  return f;
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::from_bytes(std::string_view bytes, const std::string& source) {
  return from_bytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), source);
}

SafetensorsFile::~SafetensorsFile() = default;

void SafetensorsFile::parse() {
  using SR = SafetensorsRule;
  const std::string& src = source_;
  // 1. header length
  if (size_ < 8)
    fail(SR::HeaderTooSmall, src, "file has " + std::to_string(size_) + " bytes, fewer than the 8-byte header length");
  uint64_t n = 0;
  std::memcpy(&n, base_, 8);
  if (n > kMaxHeaderSize)
    fail(SR::HeaderTooLarge, src, "header length " + std::to_string(n) + " exceeds the 100000000-byte limit");
  uint64_t stop = 0;
  if (__builtin_add_overflow(n, uint64_t{8}, &stop) || stop > size_)
    fail(SR::InvalidHeaderLength, src,
         "header length " + std::to_string(n) + " runs past the end of the " + std::to_string(size_) + "-byte file");
  header_size_ = n;
  // 2. UTF-8, then JSON
  const uint8_t* hdr = base_ + 8;
  if (size_t bad = first_invalid_utf8(hdr, n); bad != std::string::npos)
    fail(SR::InvalidHeader, src, "header is not valid UTF-8 (byte " + std::to_string(8 + bad) + ")");
  const std::string_view text(reinterpret_cast<const char*>(hdr), n);
  const size_t first = text.find_first_not_of(" \t\n\r");
  if (first == std::string_view::npos || text[first] != '{')
    fail(SR::InvalidHeaderStart, src, "header does not start with '{'");

  // nlohmann keeps one of two equal keys silently: track each object's keys while parsing.
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  auto on_event = [&](int, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (ev == E::object_start) open_objects.emplace_back();
    else if (ev == E::object_end && !open_objects.empty()) open_objects.pop_back();
    else if (ev == E::key && !open_objects.empty() && duplicate.empty() &&
             !open_objects.back().insert(parsed.get<std::string>()).second)
      duplicate = parsed.get<std::string>();
    return true;
  };
  // JSON never holds a raw NUL (in strings it must be escaped); nlohmann would stop reading there.
  if (size_t nul = text.find('\0'); nul != std::string_view::npos)
    fail(SR::InvalidHeaderDeserialization, src,
         "header is not valid JSON: NUL byte at offset " + std::to_string(8 + nul));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text.begin(), text.end(), on_event);
  } catch (const nlohmann::json::exception& e) {
    fail(SR::InvalidHeaderDeserialization, src, std::string("header is not valid JSON: ") + e.what());
  }
  if (!duplicate.empty()) fail(SR::DuplicateName, src, "header has the key \"" + duplicate + "\" twice");
  if (!header.is_object()) fail(SR::InvalidHeaderDeserialization, src, "header is not a JSON object");

  std::vector<RawEntry> raw;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& v = it.value();
    if (name == "__metadata__") {
      if (v.is_null()) continue;
      if (!v.is_object()) fail(SR::InvalidHeaderDeserialization, src, "__metadata__ is not a string-to-string map");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          fail(SR::InvalidHeaderDeserialization, src,
               "__metadata__ value of \"" + m.key() + "\" is " + m.value().type_name() + ", not a string");
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor \"" + name + "\": ";
    if (!v.is_object()) fail(SR::InvalidHeaderDeserialization, src, where + "entry is not an object");
    if (!v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      fail(SR::InvalidHeaderDeserialization, src, where + "entry needs dtype, shape and data_offsets");
    const auto& jd = v.at("dtype");
    if (!jd.is_string()) fail(SR::InvalidHeaderDeserialization, src, where + "dtype is not a string");
    auto dtype = parse_dtype(jd.get<std::string>());
    if (!dtype) fail(SR::InvalidHeaderDeserialization, src, where + "unknown dtype \"" + jd.get<std::string>() + "\"");
    RawEntry e{name, *dtype, {}, 0, 0};
    bool ok = v.at("shape").is_array();
    if (ok)
      for (const auto& d : v.at("shape")) e.shape.push_back(get_u64(d, &ok));
    if (!ok) fail(SR::InvalidHeaderDeserialization, src, where + "shape is not an array of non-negative integers");
    const auto& off = v.at("data_offsets");
    ok = off.is_array() && off.size() == 2;
    if (ok) {
      e.begin = get_u64(off[0], &ok);
      e.end = get_u64(off[1], &ok);
    }
    if (!ok) fail(SR::InvalidHeaderDeserialization, src, where + "data_offsets is not [begin, end]");
    raw.push_back(std::move(e));
  }

  // 3. Metadata::validate: sorted by (begin, end), contiguous from 0, sizes consistent.
  std::stable_sort(raw.begin(), raw.end(), [](const RawEntry& a, const RawEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t start = 0;
  for (const RawEntry& e : raw) {
    const std::string where =
        "tensor \"" + e.name + "\": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + ")";
    if (e.begin != start || e.end < e.begin) {
      std::string why = e.end < e.begin   ? " end before they begin"
                        : e.begin < start ? " overlap the previous tensor"
                                          : " leave a gap after the previous tensor";
      fail(SR::InvalidOffset, src, where + why + " (expected begin " + std::to_string(start) + ")");
    }
    start = e.end;
    uint64_t numel = 1, bits = 0;
    for (uint64_t d : e.shape)
      if (!checked_mul(numel, d, &numel))
        fail(SR::ValidationOverflow, src, "tensor \"" + e.name + "\": element count of its shape overflows");
    if (!checked_mul(numel, dtype_bits(e.dtype), &bits))
      fail(SR::ValidationOverflow, src, "tensor \"" + e.name + "\": bit size of its shape overflows");
    for (uint64_t d : e.shape)  // only possible next to a 0 dim; we keep shapes as int64
      if (d > static_cast<uint64_t>(INT64_MAX))
        fail(SR::ValidationOverflow, src, "tensor \"" + e.name + "\": a dimension exceeds 2^63-1");
    if (bits % 8 != 0)
      fail(SR::MisalignedSlice, src,
           "tensor \"" + e.name + "\": " + std::to_string(bits) + " bits of " + dtype_name(e.dtype) +
               " are not a whole number of bytes");
    if (e.end - e.begin != bits / 8)
      fail(SR::TensorInvalidInfo, src,
           where + " hold " + std::to_string(e.end - e.begin) + " bytes but " + dtype_name(e.dtype) + " shape needs " +
               std::to_string(bits / 8));
    TensorEntry t;
    t.name = e.name;
    t.dtype = e.dtype;
    for (uint64_t d : e.shape) t.shape.push_back(static_cast<int64_t>(d));
    t.begin = e.begin;
    t.end = e.end;
    t.numel = static_cast<size_t>(numel);
    tensors_.push_back(std::move(t));
  }
  // 4. the buffer must be exactly covered: no trailing bytes (polyglot files), no truncation.
  if (start + 8 + n != size_)
    fail(SR::MetadataIncompleteBuffer, src,
         "tensors cover " + std::to_string(start) + " data bytes but the file has " + std::to_string(size_ - 8 - n) +
             " after the header");
  for (size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& [name, i] : index_) out.push_back(name);
  return out;
}

const TensorEntry* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const TensorEntry& SafetensorsFile::at(const std::string& name) const {
  if (const TensorEntry* t = find(name)) return *t;
  fail(SafetensorsRule::TensorNotFound, source_, "no tensor named \"" + name + "\"");
}

std::span<const uint8_t> SafetensorsFile::bytes(const TensorEntry& t) const {
  return {base_ + 8 + header_size_ + t.begin, static_cast<size_t>(t.end - t.begin)};
}

std::span<const uint8_t> SafetensorsFile::bytes(const std::string& name) const { return bytes(at(name)); }

const float* SafetensorsFile::f32_data(const TensorEntry& t) const {
  if (t.dtype != Dtype::F32) return nullptr;
  const uint8_t* p = base_ + 8 + header_size_ + t.begin;
  if (reinterpret_cast<uintptr_t>(p) % alignof(float) != 0) return nullptr;
  return reinterpret_cast<const float*>(p);
}

void SafetensorsFile::to_float32(const std::string& name, float* out) const { to_float32(at(name), out); }

void SafetensorsFile::to_float32(const TensorEntry& t, float* out) const {
  const uint8_t* p = base_ + 8 + header_size_ + t.begin;
  switch (t.dtype) {
    case Dtype::F32:
      if (t.numel) std::memcpy(out, p, t.numel * sizeof(float));
      return;
    case Dtype::F16:
    case Dtype::BF16: {
      const bool half = t.dtype == Dtype::F16;
      size_t i = 0;
#if defined(__F16C__) && defined(__AVX__)
      // The hardware conversion is exact too (it only sets the quiet bit of a signalling NaN).
      if (half)
        for (; i + 8 <= t.numel; i += 8)
          _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2 * i))));
#endif
      for (; i < t.numel; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = half ? f16_to_f32(h) : bf16_to_f32(h);
      }
      return;
    }
    default:
      throw UnsupportedError(source_ + ": tensor \"" + t.name + "\" has dtype " + dtype_name(t.dtype) +
                             "; a float parameter must be F32, F16 or BF16");
  }
}

// ---- writer ----

namespace {

// Sorts, checks and lays out the tensors; returns the padded header (without the length prefix).
std::string prepare_header(std::vector<TensorToWrite>& tensors, const std::map<std::string, std::string>& metadata) {
  std::sort(tensors.begin(), tensors.end(), [](const TensorToWrite& a, const TensorToWrite& b) {
    if (a.dtype != b.dtype) return static_cast<int>(a.dtype) > static_cast<int>(b.dtype);
    return a.name < b.name;
  });
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    header["__metadata__"] = m;
  }
  uint64_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorToWrite& t = tensors[i];
    if (t.name == "__metadata__" || t.name.empty())
      throw InvalidArgument("safetensors writer: invalid tensor name \"" + t.name + "\"");
    if (header.contains(t.name)) throw InvalidArgument("safetensors writer: tensor \"" + t.name + "\" given twice");
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      if (d < 0 || !checked_mul(numel, static_cast<uint64_t>(d), &numel))
        throw InvalidArgument("safetensors writer: tensor \"" + t.name + "\": bad shape " + shape_text(t.shape));
    }
    const uint64_t bits = numel * dtype_bits(t.dtype);
    if (bits % 8 != 0 || bits / 8 != t.nbytes)
      throw InvalidArgument("safetensors writer: tensor \"" + t.name + "\": " + std::to_string(t.nbytes) +
                            " bytes given, " + dtype_name(t.dtype) + " " + shape_text(t.shape) + " needs " +
                            std::to_string(bits / 8));
    if (t.nbytes > 0 && t.data == nullptr)
      throw InvalidArgument("safetensors writer: tensor \"" + t.name + "\" has no data");
    nlohmann::ordered_json e = nlohmann::ordered_json::object();
    e["dtype"] = dtype_name(t.dtype);
    e["shape"] = t.shape;
    e["data_offsets"] = {offset, offset + t.nbytes};
    header[t.name] = e;
    offset += t.nbytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // every tensor then starts 8-byte aligned
  return text;
}

std::string length_prefix(uint64_t n) {
  std::string s(8, '\0');
  std::memcpy(s.data(), &n, 8);
  return s;
}

}  // namespace

std::string serialize_safetensors(std::vector<TensorToWrite> tensors,
                                  const std::map<std::string, std::string>& metadata) {
  const std::string header = prepare_header(tensors, metadata);
  std::string out = length_prefix(header.size()) + header;
  for (const auto& t : tensors) out.append(static_cast<const char*>(t.data), t.nbytes);
  return out;
}

void write_safetensors(const std::filesystem::path& path, std::vector<TensorToWrite> tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string header = prepare_header(tensors, metadata);
  AtomicFile f(path);
  f.write(length_prefix(header.size()));
  f.write(header);
  for (const auto& t : tensors)
    if (t.nbytes) f.write(t.data, t.nbytes);
  f.commit();
}

}  // namespace bert_emotion
