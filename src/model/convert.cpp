// convert.cpp — see convert.hpp.
#include "model/convert.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "model/checkpoint.hpp"
#include "model/model_dir.hpp"  // tokenizer_file_names
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace bert_emotion {

namespace fs = std::filesystem;

uint16_t f32_to_bf16(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // quiet NaN
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

uint16_t f32_to_f16(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);   // NaN
  if (a >= 0x47800000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65536: inf
  if (a < 0x38800000u) {  // below 2^-14: a half subnormal (or zero); x 2^24 is exact, then round
    const float scaled = std::bit_cast<float>(a) * 16777216.0f;
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(scaled)));
  }
  uint32_t h = (((a >> 23) - 112u) << 10) | ((a & 0x7fffffu) >> 13);
  const uint32_t rest = a & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // a carry into the exponent is right
  return static_cast<uint16_t>(sign | h);
}

namespace {

const char* torch_dtype_name(Dtype d) {
  switch (d) {
    case Dtype::F16: return "float16";
    case Dtype::BF16: return "bfloat16";
    default: return "float32";
  }
}

bool is_float(Dtype d) { return d == Dtype::F32 || d == Dtype::F16 || d == Dtype::BF16; }

// The tensor's bytes in `to` (a float dtype), via float32.
std::vector<uint8_t> cast(const Checkpoint& ck, const CheckpointTensor& t, Dtype to) {
  std::vector<float> f(t.numel);
  ck.to_float32(t, f.data());
  std::vector<uint8_t> out(t.numel * dtype_bits(to) / 8);
  if (to == Dtype::F32) {
    if (t.numel) std::memcpy(out.data(), f.data(), out.size());
    return out;
  }
  for (size_t i = 0; i < t.numel; ++i) {
    const uint16_t h = to == Dtype::F16 ? f32_to_f16(f[i]) : f32_to_bf16(f[i]);
    std::memcpy(out.data() + 2 * i, &h, 2);
  }
  return out;
}

}  // namespace

ConvertReport convert_model_dir(const fs::path& src, const fs::path& out, std::optional<Dtype> dtype) {
  if (dtype && !is_float(*dtype))
    throw InvalidArgument(std::string("--dtype ") + dtype_name(*dtype) + ": expected F32, F16 or BF16");
  std::error_code ec;
  if (fs::exists(out, ec) && fs::equivalent(src, out, ec))
    throw InvalidArgument(out.string() + ": the output directory must differ from the source");
  const fs::path config_path = src / "config.json";
  if (!fs::exists(config_path)) throw IoError(config_path.string() + ": no such file (not a model directory?)");
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(read_file(config_path));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(config_path.string() + ": not valid JSON: " + e.what());
  }
  if (!config.is_object()) throw FormatError(config_path.string() + ": expected a JSON object");

  auto ck = Checkpoint::open_dir(src);
  ConvertReport report;
  report.format = ck->format();
  report.notes = ck->normalize_names();

  // Everything is read (and any error raised) before anything is written.
  std::map<const uint8_t*, std::string> first_owner;  // tied tensors: same bytes, same size
  std::deque<std::vector<uint8_t>> casts;
  std::vector<TensorToWrite> tensors;
  std::set<Dtype> written;
  for (const CheckpointTensor& t : ck->tensors()) {
    if (t.numel > 0) {
      auto [it, fresh] = first_owner.try_emplace(t.bytes.data(), t.name);
      if (!fresh && ck->find(it->second)->bytes.size() == t.bytes.size()) {
        report.notes.push_back("dropped " + t.name + " (tied to " + it->second + ")");
        continue;
      }
    }
    TensorToWrite w{t.name, t.dtype, t.shape, t.bytes.data(), t.bytes.size()};
    if (dtype && is_float(t.dtype) && t.dtype != *dtype) {
      const auto& bytes = casts.emplace_back(cast(*ck, t, *dtype));
      w = {t.name, *dtype, t.shape, bytes.data(), bytes.size()};
    }
    if (is_float(w.dtype)) written.insert(w.dtype);
    tensors.push_back(std::move(w));
  }
  std::vector<std::pair<std::string, std::string>> tokenizer_files;
  std::vector<std::string> names = tokenizer_file_names();
  for (const char* extra : {"vocab.json", "merges.txt", "added_tokens.json"})
    if (std::find(names.begin(), names.end(), extra) == names.end()) names.push_back(extra);
  for (const auto& name : names)
    if (fs::exists(src / name)) tokenizer_files.emplace_back(name, read_file(src / name));

  fs::create_directories(out, ec);
  if (!fs::is_directory(out)) throw IoError(out.string() + ": cannot create directory: " + ec.message());
  report.tensors = tensors.size();
  write_safetensors(out / "model.safetensors", std::move(tensors), {{"format", "pt"}});
  if (written.size() == 1) config["torch_dtype"] = torch_dtype_name(*written.begin());
  write_file_atomic(out / "config.json", config.dump(2) + "\n");
  for (const auto& [name, contents] : tokenizer_files) write_file_atomic(out / name, contents);
  return report;
}

}  // namespace bert_emotion
