#include "model/quantize.hpp"

#include <unistd.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <span>

#include "kernels/bf16_gemm.hpp"
#include "kernels/int8_gemm.hpp"
#include "kernels/onednn_matmul.hpp"
#include "model/checkpoint.hpp"
#include "model/safetensors.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/mapped_file.hpp"

namespace bert_emotion {

namespace {

// Every linear of the model: its float weight, the int8 slot the forward reads, and [out, in].
struct LinearSlot {
  const float* W;
  const Int8Weights** q;
  const Bf16Weights** h;
  const OnednnWeights** p;
  int64_t out, in;
};

std::vector<LinearSlot> linear_slots(const ModelConfig& cfg, Weights& w) {
  const int64_t C = cfg.dim, F = cfg.hidden_dim, K = cfg.num_labels();
  std::vector<LinearSlot> s;
  for (auto& L : w.layers) {
    s.push_back({L.q_w, &L.q_i8, &L.q_bf16, &L.q_packed, C, C});
    s.push_back({L.k_w, &L.k_i8, &L.k_bf16, &L.k_packed, C, C});
    s.push_back({L.v_w, &L.v_i8, &L.v_bf16, &L.v_packed, C, C});
    s.push_back({L.o_w, &L.o_i8, &L.o_bf16, &L.o_packed, C, C});
    s.push_back({L.ff1_w, &L.ff1_i8, &L.ff1_bf16, &L.ff1_packed, F, C});
    s.push_back({L.ff2_w, &L.ff2_i8, &L.ff2_bf16, &L.ff2_packed, C, F});
  }
  s.push_back({w.pre_w, &w.pre_i8, &w.pre_bf16, &w.pre_packed, C, C});
  s.push_back({w.cls_w, &w.cls_i8, &w.cls_bf16, &w.cls_packed, K, C});
  return s;
}

// Every view of `w` in ParamLayout order (the inverse of ParamLayout::bind).
std::vector<const float*> param_pointers(const Weights& v) {
  std::vector<const float*> out = {v.word_emb, v.pos_emb};
  if (v.type_emb != nullptr) out.push_back(v.type_emb);
  out.insert(out.end(), {v.emb_ln_w, v.emb_ln_b});
  for (const auto& L : v.layers)
    out.insert(out.end(), {L.q_w, L.q_b, L.k_w, L.k_b, L.v_w, L.v_b, L.o_w, L.o_b, L.ln1_w, L.ln1_b, L.ff1_w, L.ff1_b,
                           L.ff2_w, L.ff2_b, L.ln2_w, L.ln2_b});
  out.insert(out.end(), {v.pre_w, v.pre_b, v.cls_w, v.cls_b});
  return out;
}

}  // namespace

void quantize_linears_int8(LoadedModel& m) {
  auto slots = linear_slots(m.config, m.weights);
  auto store = std::make_shared<std::vector<Int8Weights>>(slots.size());
  // One matrix per task: quantizing is per output channel, independent across matrices.
#pragma omp parallel for schedule(dynamic)
  for (size_t i = 0; i < slots.size(); ++i) (*store)[i] = quantize_weights_int8(slots[i].W, slots[i].out, slots[i].in);
  for (size_t i = 0; i < slots.size(); ++i) *slots[i].q = &(*store)[i];
  m.int8 = std::move(store);
}

void pack_linears_f32(LoadedModel& m) {
  auto slots = linear_slots(m.config, m.weights);
  // The forward no longer reads a packed linear's float weight: where it is a view into the file
  // mapping, its pages are dropped (re-read from the file if anything touches them again), so the
  // prepacked copy replaces it in memory instead of doubling it.
  std::map<const void*, std::span<const uint8_t>> mapped;
  if (m.file)
    for (const CheckpointTensor& t : m.file->tensors())
      if (t.mapped) mapped.emplace(t.bytes.data(), t.bytes);
  auto store = std::make_shared<std::vector<std::shared_ptr<const OnednnWeights>>>(slots.size());
  bool any = false;
  for (size_t i = 0; i < slots.size(); ++i) {
    const LinearSlot& s = slots[i];
    if (s.W == nullptr) continue;
    (*store)[i] = onednn_prepack_f32(s.W, s.out, s.in);
    if (!(*store)[i]) continue;
    *s.p = (*store)[i].get();
    any = true;
    const auto it = mapped.find(s.W);
    if (it != mapped.end() && it->second.size() == size_t(s.out * s.in) * sizeof(float))
      release_mapped_pages(it->second);
  }
  if (any) m.packed_f32 = std::move(store);
}

void quantize_linears_bf16(LoadedModel& m) {
  auto slots = linear_slots(m.config, m.weights);
  auto store = std::make_shared<std::vector<Bf16Weights>>(slots.size());
  for (size_t i = 0; i < slots.size(); ++i) (*store)[i] = pack_weights_bf16(slots[i].W, slots[i].out, slots[i].in);
  for (size_t i = 0; i < slots.size(); ++i) *slots[i].h = &(*store)[i];
  m.bf16 = std::move(store);
}

namespace {

// Back to the plain float weights: the int8, bf16 and prepacked copies dropped (the float ones must
// exist).
void drop_copies(LoadedModel& m) {
  for (const LinearSlot& s : linear_slots(m.config, m.weights)) {
    *s.q = nullptr;
    *s.h = nullptr;
    *s.p = nullptr;
  }
  m.int8.reset();
  m.bf16.reset();
  m.packed_f32.reset();
}

}  // namespace

void set_inference_dtype(LoadedModel& m, const std::string& dtype) {
  const bool int8_dir = m.int8 && m.weights.pre_w == nullptr;  // quantized on disk: no FP32 linears
  if (!dtype.empty() && dtype != "auto" && dtype != inference_dtype(m)) {
    if (dtype != "int8" && dtype != "bf16" && dtype != "f32")
      throw InvalidArgument("--dtype: unknown dtype '" + dtype + "'; expected " + kInferenceDtypes);
    if (int8_dir)
      throw InvalidArgument("--dtype " + dtype + ": " + m.dir.string() +
                            " holds int8 weights (written by bert-emotion quantize); use --dtype int8 or auto, or "
                            "the FP32 model it was made from");
    drop_copies(m);
    if (dtype == "int8") quantize_linears_int8(m);
    else if (dtype == "bf16") quantize_linears_bf16(m);
  }
  if (inference_dtype(m) == "f32" && !m.packed_f32) pack_linears_f32(m);
}

std::string inference_dtype(const LoadedModel& m) { return m.int8 ? "int8" : m.bf16 ? "bf16" : "f32"; }

std::vector<const ParamInfo*> linear_weight_params(const ModelConfig& cfg, const ParamLayout& layout) {
  // Views whose "pointers" are the layout's entries themselves: linear_slots then names the entries.
  Weights ids = layout.bind([](const ParamInfo& p) { return reinterpret_cast<float*>(const_cast<ParamInfo*>(&p)); });
  std::vector<const ParamInfo*> out;
  for (const LinearSlot& s : linear_slots(cfg, ids)) out.push_back(reinterpret_cast<const ParamInfo*>(s.W));
  return out;
}

void attach_int8_weights(LoadedModel& m,
                         const std::vector<std::pair<const CheckpointTensor*, const CheckpointTensor*>>& per_slot) {
  auto slots = linear_slots(m.config, m.weights);
  if (per_slot.size() != slots.size())
    throw Error("attach_int8_weights: " + std::to_string(per_slot.size()) + " tensors for " +
                std::to_string(slots.size()) + " linears");
  auto store = std::make_shared<std::vector<Int8Weights>>(slots.size());
  for (size_t i = 0; i < slots.size(); ++i) {
    const auto& [q, scale] = per_slot[i];
    std::vector<float> scales(scale->numel);
    m.file->to_float32(*scale, scales.data());
    try {
      (*store)[i] =
          pack_weights_int8(reinterpret_cast<const int8_t*>(q->bytes.data()), scales.data(), slots[i].out, slots[i].in);
    } catch (const InvalidArgument& e) {
      throw FormatError(q->file + ": tensor " + q->name + ": " + e.what());
    }
    *slots[i].q = &(*store)[i];
  }
  m.int8 = std::move(store);
}

namespace {

// Writes `m` to `out` as a quantized directory: every parameter F32 from the loaded views except the
// linears' weights, whose tensors `linear_tensors(slot, param, W)` appends; config.json and the
// tokenizer files copied from m.dir. Built beside `out` and renamed into place.
void write_quantized_dir(
    const LoadedModel& m, const std::filesystem::path& out, const std::string& quantization,
    const std::function<void(const LinearSlot&, const ParamInfo&, std::vector<TensorToWrite>&)>& linear_tensors) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(out, ec) && !(fs::is_directory(out, ec) && fs::is_empty(out, ec)))
    throw InvalidArgument("--out " + out.string() + " exists and is not an empty directory: choose another");
  if (m.int8 && m.weights.pre_w == nullptr) throw InvalidArgument(m.dir.string() + " is already an int8 directory");
  Weights w = m.weights;
  const auto slots = linear_slots(m.config, w);
  const std::vector<const float*> data = param_pointers(m.weights);
  if (data.size() != m.layout.params().size()) throw Error("write_quantized_dir: views do not match the layout");
  const std::vector<const ParamInfo*> linear = linear_weight_params(m.config, m.layout);
  std::vector<TensorToWrite> tensors;
  const auto& params = m.layout.params();
  for (size_t i = 0; i < params.size(); ++i) {
    const ParamInfo& p = params[i];
    const auto it = std::find(linear.begin(), linear.end(), &p);
    if (it == linear.end()) tensors.push_back({p.name, Dtype::F32, p.shape, data[i], p.numel * sizeof(float)});
    else linear_tensors(slots[size_t(it - linear.begin())], p, tensors);
  }
  // Built beside `out`, then renamed into place.
  const fs::path target = fs::absolute(out).lexically_normal();
  const fs::path base = target.has_filename() ? target : target.parent_path();
  const fs::path fresh = base.string() + ".tmp-" + std::to_string(::getpid());
  fs::remove_all(fresh, ec);
  try {
    fs::create_directories(fresh);
    write_safetensors(fresh / "model.safetensors", std::move(tensors),
                      {{"format", "pt"}, {"quantization", quantization}});
    write_file_atomic(fresh / "config.json", read_file(m.dir / "config.json"));
    for (const auto& name : tokenizer_file_names())
      if (fs::exists(m.dir / name)) write_file_atomic(fresh / name, read_file(m.dir / name));
    if (fs::exists(base, ec)) fs::remove(base);  // an empty directory (checked above)
    fs::rename(fresh, base);
    fsync_directory(base.parent_path());
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(fresh, ec);
    throw IoError(out.string() + ": " + e.what());
  } catch (...) {
    fs::remove_all(fresh, ec);
    throw;
  }
}

}  // namespace

void save_int8_model_dir(const LoadedModel& m, const std::filesystem::path& out) {
  // The tensors of a linear: I8 [out, in] and F32 scales [out].
  std::deque<std::vector<int8_t>> q;
  std::deque<std::vector<float>> scales;
  write_quantized_dir(
      m, out, "int8 dynamic, per-channel symmetric weights",
      [&](const LinearSlot& s, const ParamInfo& p, std::vector<TensorToWrite>& tensors) {
        auto& qs = q.emplace_back(size_t(s.out * s.in));
        auto& ss = scales.emplace_back(size_t(s.out));
        quantize_per_channel_int8(s.W, s.out, s.in, qs.data(), ss.data());
        tensors.push_back({p.name, Dtype::I8, p.shape, qs.data(), qs.size()});
        tensors.push_back({p.name + "_scale", Dtype::F32, {p.shape.at(0)}, ss.data(), ss.size() * sizeof(float)});
      });
}

void save_bf16_model_dir(const LoadedModel& m, const std::filesystem::path& out) {
  // The tensor of a linear: BF16 [out, in], rounded to nearest even.
  std::deque<std::vector<uint16_t>> h;
  write_quantized_dir(m, out, kBf16Quantization,
                      [&](const LinearSlot& s, const ParamInfo& p, std::vector<TensorToWrite>& tensors) {
                        auto& hs = h.emplace_back(size_t(s.out * s.in));
                        for (size_t k = 0; k < hs.size(); ++k) hs[k] = float_to_bf16(s.W[k]);
                        tensors.push_back({p.name, Dtype::BF16, p.shape, hs.data(), hs.size() * sizeof(uint16_t)});
                      });
}

}  // namespace bert_emotion
